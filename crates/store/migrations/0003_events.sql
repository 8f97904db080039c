-- Schema version 3: events the agent records between snapshots (with
-- `--nan-hooks`: the first non-finite module output, gradient or numpy result).
CREATE TABLE events (
    run_id  TEXT NOT NULL,
    time    REAL NOT NULL,
    seq     INTEGER,                     -- the last snapshot committed before the event, NULL if none yet
    kind    TEXT NOT NULL,               -- e.g. "nonfinite"
    detail  TEXT NOT NULL                -- JSON object, by kind (docs/store-format.md)
);
CREATE INDEX events_by_kind ON events(run_id, kind, time);
