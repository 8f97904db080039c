-- Schema version 4: where an imported run came from (`snapline import`).
-- JSON {host, exporter, exported_at, imported_at, bundle}; NULL for runs captured here.
ALTER TABLE runs ADD COLUMN origin TEXT;
