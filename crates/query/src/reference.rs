//! Naming snapshots: `RUN@SEQ`, `RUN@first`, `RUN@last`, `RUN@step:N`,
//! where RUN is an id prefix, `last`, or `GROUP/rK` (rank K of a run
//! group; a bare GROUP means rank 0). A bare RUN means its last snapshot.
//! `step:N` is the snapshot at step N (see `group::snapshot_at_step`), the
//! same point in every rank of a group.

use serde::Serialize;
use snapline_store::{Store, StoreError};

use crate::error::{QueryError, QueryResult};
use crate::group::{group_rank_run, is_group_name, resolve_group, snapshot_at_step};

/// The run a snapshot name's RUN part names: a run id prefix or `last`,
/// `GROUP/rK` (rank K of a group) or a bare GROUP (its rank 0).
pub fn resolve_run_name(store: &Store, run_part: &str) -> QueryResult<String> {
    if let Some((group, rank)) = run_part.split_once('/') {
        let rank = rank
            .strip_prefix('r')
            .and_then(|r| r.parse::<i64>().ok())
            .ok_or_else(|| QueryError::BadSnapshotRef(run_part.to_owned()))?;
        let group = resolve_group(store, group)?;
        return group_rank_run(store, &group, rank);
    }
    if is_group_name(run_part) {
        let group = resolve_group(store, run_part)?;
        return group_rank_run(store, &group, 0);
    }
    Ok(store.resolve_run(run_part)?)
}

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
    let run = resolve_run_name(store, run_part).map_err(|e| match e {
        QueryError::BadSnapshotRef(_) => QueryError::BadSnapshotRef(name.to_owned()),
        other => other,
    })?;
    if let Some(step) = seq_part.strip_prefix("step:") {
        let step = step
            .parse::<i64>()
            .map_err(|_| QueryError::BadSnapshotRef(name.to_owned()))?;
        let seq = snapshot_at_step(store, &run, step)?;
        return Ok(SnapshotRef { run, seq });
    }
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
