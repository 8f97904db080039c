//! Naming snapshots: `RUN@SEQ`, `RUN@first`, `RUN@last`, where RUN is an id
//! prefix or `last`. A bare RUN means its last snapshot.

use serde::Serialize;
use snapline_store::{Store, StoreError};

use crate::error::{QueryError, QueryResult};

/// A resolved snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotRef {
    pub run: String,
    pub seq: i64,
}

impl std::fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.run, self.seq)
    }
}

/// Resolves a snapshot name against the committed snapshots of the store.
pub fn resolve_snapshot(store: &Store, name: &str) -> QueryResult<SnapshotRef> {
    let (run_part, seq_part) = match name.split_once('@') {
        Some((r, s)) => (r, s),
        None => (name, "last"),
    };
    if run_part.is_empty() || seq_part.is_empty() {
        return Err(QueryError::BadSnapshotRef(name.to_owned()));
    }
    let run = store.resolve_run(run_part)?;
    let (first, last) = store
        .seq_range(&run)?
        .ok_or_else(|| QueryError::EmptyRun(run.clone()))?;
    let seq = match seq_part {
        "first" => first,
        "last" => last,
        s => s
            .parse::<i64>()
            .map_err(|_| QueryError::BadSnapshotRef(name.to_owned()))?,
    };
    if store.snapshot(&run, seq)?.is_none() {
        return Err(StoreError::UnknownSnapshot {
            run,
            seq: seq_part.to_owned(),
        }
        .into());
    }
    Ok(SnapshotRef { run, seq })
}
