use snapline_store::StoreError;

/// Errors of a query; each names the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("'{0}' is not a snapshot name: use RUN@SEQ, RUN@first, RUN@last or RUN@step:N (RUN is an id prefix, `last`, or GROUP/rK for rank K of a run group)")]
    BadSnapshotRef(String),

    #[error(
        "no run group '{0}' in this store (`snapline runs` lists groups: their ids start with g)"
    )]
    UnknownGroup(String),

    #[error("'{0}' matches several run groups; give more of the group id")]
    AmbiguousGroup(String),

    #[error("no run groups in this store yet (a group is the ranks of one `torchrun ... -m snapline run` job)")]
    NoGroups,

    #[error("run group {group} has no rank {rank} (`snapline runs` lists its ranks)")]
    UnknownRank { group: String, rank: i64 },

    #[error("run {run} has no snapshot at step {step} (`snapline log {run}` lists each snapshot's loop counters)")]
    NoStep { run: String, step: i64 },

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

    /// A `--where` filter that does not parse or names an unknown column.
    #[error("{0} (see `snapline runs --help` for the filter language)")]
    InvalidFilter(String),

    /// `--columns` names a column no run has.
    #[error("{0}")]
    InvalidColumns(String),

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
