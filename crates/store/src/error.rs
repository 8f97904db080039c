use std::path::PathBuf;

/// Everything that can go wrong reading or writing a store. Each message
/// names the thing and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no Snapline store at {0} (capture a run first with `snapline run script.py`, or pass --store DIR)")]
    NotFound(PathBuf),

    #[error("cannot create the store at {path}: {source} (pass --store DIR to use a writable directory)")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("the store at {path} was written by a newer Snapline (schema {found}, this build reads up to {supported}); upgrade Snapline")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("the catalog {path} is corrupt or not a Snapline catalog ({detail}); restore it from a backup")]
    Corrupt { path: PathBuf, detail: String },

    #[error("no run matches '{0}' (list them with `snapline runs`)")]
    UnknownRun(String),

    #[error("'{0}' matches several runs; type more characters of the id")]
    AmbiguousRun(String),

    #[error("the store has no runs yet (capture one with `snapline run script.py`)")]
    NoRuns,

    #[error("run {run} has no snapshot {seq} (see `snapline log {run}`)")]
    UnknownSnapshot { run: String, seq: String },

    #[error("chunk {hash} is missing from the store (`snapline log RUN --verify` lists the snapshots that need it)")]
    MissingChunk { hash: String },

    #[error("chunk {hash} is damaged: {detail} (`snapline log RUN --verify` lists the snapshots that need it)")]
    DamagedChunk { hash: String, detail: String },

    #[error("object {hash} is missing from the catalog (`snapline log RUN --verify` lists the snapshots that need it)")]
    MissingObject { hash: String },

    #[error("object record {hash} is unreadable: {detail}")]
    BadRecord { hash: String, detail: String },

    #[error("catalog error in {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}
