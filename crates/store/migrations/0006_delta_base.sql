-- Schema version 6: a chunk stored as a delta frame (crates/store/src/delta.rs)
-- names the plain chunk it was encoded against; gc keeps that base while a
-- delta needs it, fsck checks it. NULL for plain chunks.
ALTER TABLE chunks ADD COLUMN base TEXT;
CREATE INDEX chunks_base ON chunks (base) WHERE base IS NOT NULL;
