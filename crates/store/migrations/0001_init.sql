-- Schema version 1: runs, snapshots, content-addressed objects and chunks, metrics.
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    ordinal      INTEGER NOT NULL UNIQUE,
    script       TEXT NOT NULL,
    lineage      TEXT NOT NULL,          -- JSON: argv, cwd, git, python, packages, host, pid ...
    started_at   REAL NOT NULL,
    ended_at     REAL,
    status       TEXT NOT NULL,          -- running | finished | failed | killed
    exit_code    INTEGER,
    exception    TEXT,                   -- JSON {type, message, traceback} or NULL
    parent_run   TEXT,
    parent_seq   INTEGER
);

CREATE TABLE snapshots (
    run_id        TEXT NOT NULL REFERENCES runs(id),
    seq           INTEGER NOT NULL,
    trigger       TEXT NOT NULL,
    file          TEXT,
    line          INTEGER,
    loops         TEXT NOT NULL,         -- JSON array of completed iterations, outermost first
    label         TEXT,
    time          REAL NOT NULL,
    capture_ms    REAL NOT NULL,
    bytes_new     INTEGER NOT NULL,
    bytes_reused  INTEGER NOT NULL,
    objects       INTEGER NOT NULL,
    nonfinite     INTEGER NOT NULL,      -- NaN + Inf elements over every array in the snapshot
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX snapshots_nonfinite ON snapshots(run_id, seq) WHERE nonfinite > 0;

-- One row per distinct object content; `record` is the JSON ObjectRecord.
CREATE TABLE objects (
    hash    TEXT PRIMARY KEY,
    record  TEXT NOT NULL
) WITHOUT ROWID;

-- Which object sits at which path in a snapshot. Rows sharing `node` are one object (shared references).
CREATE TABLE entries (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    path    TEXT NOT NULL,
    node    INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq, path)
) WITHOUT ROWID;

-- Content-addressed chunks: small ones inline, larger ones in chunks/xx/<hash>.zst
CREATE TABLE chunks (
    hash    TEXT PRIMARY KEY,
    size    INTEGER NOT NULL,            -- raw bytes
    stored  INTEGER NOT NULL,            -- bytes on disk after zstd
    inline  BLOB                         -- zstd frame when small, NULL when in a file
) WITHOUT ROWID;

CREATE TABLE metrics (
    run_id  TEXT NOT NULL,
    name    TEXT NOT NULL,
    step    REAL NOT NULL,
    value   REAL,                        -- NULL is NaN (SQLite cannot hold NaN)
    time    REAL NOT NULL,
    seq     INTEGER,                     -- snapshot the point was read from, NULL for snapline.log()
    epoch   INTEGER                      -- completed iterations of the outermost loop, when known
);
CREATE INDEX metrics_series ON metrics(run_id, name, step);

CREATE TABLE warnings (
    run_id  TEXT NOT NULL,
    time    REAL NOT NULL,
    message TEXT NOT NULL
);
