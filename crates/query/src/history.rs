//! One snapshot against the one before it, and one object over a whole
//! run: what the app marks as changed while scrubbing, and the small chart
//! of a selected variable's stats.

use std::collections::HashMap;

use serde::Serialize;
use snapline_store::{Stats, Store};

use crate::error::QueryResult;

/// An object's stats at one snapshot (`hash` null where the path is absent).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsPoint {
    pub seq: i64,
    pub hash: Option<String>,
    pub stats: Option<Stats>,
}

/// The paths of snapshot `seq` whose object differs from the snapshot
/// before it (or that it added), sorted. Empty for the first snapshot.
pub fn changed_paths(store: &Store, run: &str, seq: i64) -> QueryResult<Vec<String>> {
    let now = store.entries(run, seq)?;
    let snapshots = store.snapshot_rows(run)?;
    let Some(prev) = snapshots.iter().rev().map(|s| s.seq).find(|&s| s < seq) else {
        return Ok(Vec::new());
    };
    let before: HashMap<String, String> = store
        .entries(run, prev)?
        .into_iter()
        .map(|e| (e.path, e.hash))
        .collect();
    Ok(now
        .into_iter()
        .filter(|e| before.get(&e.path) != Some(&e.hash))
        .map(|e| e.path)
        .collect())
}

/// The stats of the object at `path` in every snapshot that holds it, in
/// order. Records are read once per distinct object (an unchanged object
/// over 10,000 snapshots is one read).
pub fn object_history(store: &Store, run: &str, path: &str) -> QueryResult<Vec<StatsPoint>> {
    let mut stats_of: HashMap<String, Option<Stats>> = HashMap::new();
    let mut out = Vec::new();
    for (seq, hash) in store.path_history(run, path)? {
        let stats = match stats_of.get(&hash) {
            Some(s) => s.clone(),
            None => {
                let s = store.object(&hash)?.stats;
                stats_of.insert(hash.clone(), s.clone());
                s
            }
        };
        out.push(StatsPoint {
            seq,
            hash: Some(hash),
            stats,
        });
    }
    Ok(out)
}
