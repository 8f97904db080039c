use snapline_store::StoreError;

/// Errors of a query; each names the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("'{0}' is not a snapshot name: use RUN@SEQ, RUN@first or RUN@last (RUN is an id prefix or `last`)")]
    BadSnapshotRef(String),

    #[error("run {0} has no snapshots yet")]
    EmptyRun(String),

    #[error(
        "no object at path '{path}' in {snapshot} (list them with `snapline show {snapshot}`)"
    )]
    UnknownPath { path: String, snapshot: String },

    #[error("run {run} has no metric series '{name}' (it has: {available})")]
    UnknownSeries {
        run: String,
        name: String,
        available: String,
    },

    #[error("'{name}' matches several series of run {run}: {matches}; give the full name")]
    AmbiguousSeries {
        run: String,
        name: String,
        matches: String,
    },

    #[error("run {0} has no metric series yet (numeric scalars become series when a snapshot sees them; `snapline.log(step, name=value)` adds points)")]
    NoSeries(String),

    #[error("{0}")]
    InvalidView(String),

    #[error("cannot write {}: {detail}", path.display())]
    ExportWrite {
        path: std::path::PathBuf,
        detail: String,
    },

    #[error("array '{path}' in {snapshot} is damaged: {detail} (check with `snapline log RUN --verify`)")]
    BadArray {
        path: String,
        snapshot: String,
        detail: String,
    },
}

pub type QueryResult<T> = Result<T, QueryError>;
