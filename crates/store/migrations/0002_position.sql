-- Schema version 2: where in the program each snapshot was taken, for resume.
-- JSON {"at": ..., "frames": [...], "loops": [...]}; NULL for older snapshots.
ALTER TABLE snapshots ADD COLUMN position TEXT;
