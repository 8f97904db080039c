//! Run groups: the ranks of one distributed job (torchrun, SLURM...), each
//! captured as its own run. The capture agent records the group in the
//! run's lineage under `group` (`{"id", "rank", "world_size", "local_rank",
//! "launcher"}`); this module finds a group's members, resolves a user's
//! GROUP argument, picks each rank's snapshot at a step, and answers
//! "which rank went non-finite first".
//!
//! Group ids start with `g`, which is not a hex digit: a group name never
//! reads as a run id prefix.

use serde::{Deserialize, Serialize};
use snapline_store::{SnapshotMeta, Store};

use crate::error::{QueryError, QueryResult};
use crate::nan::{first_nonfinite, BadMetric, BadObject, SnapshotPlace};

/// A run's place in its group (the lineage's `group` object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunGroup {
    pub id: String,
    pub rank: i64,
    pub world_size: i64,
    #[serde(default)]
    pub local_rank: Option<i64>,
    /// torchrun, slurm or env (RANK/WORLD_SIZE/MASTER_ADDR only).
    #[serde(default)]
    pub launcher: Option<String>,
}

/// The group a run belongs to, from its lineage; None for a solo run.
pub fn run_group(lineage: &serde_json::Value) -> Option<RunGroup> {
    serde_json::from_value(lineage.get("group")?.clone()).ok()
}

/// Whether a user's name denotes a group rather than a run: `g` followed
/// by hex digits (a group id or a prefix of one).
pub fn is_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next() == Some('g') && chars.all(|c| c.is_ascii_hexdigit())
}

/// Every (group, run id) of the store, oldest run first.
fn grouped_runs(store: &Store) -> QueryResult<Vec<(RunGroup, String)>> {
    Ok(store
        .runs()?
        .into_iter()
        .filter_map(|r| run_group(&r.lineage).map(|g| (g, r.id)))
        .collect())
}

/// Resolves a GROUP argument: a group id, a unique prefix of one, or
/// `last` (the group of the most recent grouped run).
pub fn resolve_group(store: &Store, name: &str) -> QueryResult<String> {
    let grouped = grouped_runs(store)?;
    if name == "last" {
        return grouped
            .last()
            .map(|(g, _)| g.id.clone())
            .ok_or(QueryError::NoGroups);
    }
    let mut ids: Vec<&str> = grouped
        .iter()
        .map(|(g, _)| g.id.as_str())
        .filter(|id| !name.is_empty() && id.starts_with(name))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(QueryError::UnknownGroup(name.to_owned())),
        _ => Err(QueryError::AmbiguousGroup(name.to_owned())),
    }
}

/// The run ids of a group's ranks, ordered by rank (a rank captured twice,
/// as after a restart, keeps its latest run).
pub fn group_members(store: &Store, group_id: &str) -> QueryResult<Vec<String>> {
    let mut members: Vec<(i64, String)> = Vec::new();
    for (g, id) in grouped_runs(store)? {
        if g.id != group_id {
            continue;
        }
        match members.iter_mut().find(|(rank, _)| *rank == g.rank) {
            Some(slot) => slot.1 = id,
            None => members.push((g.rank, id)),
        }
    }
    if members.is_empty() {
        return Err(QueryError::UnknownGroup(group_id.to_owned()));
    }
    members.sort();
    Ok(members.into_iter().map(|(_, id)| id).collect())
}

/// The run of one rank of a group.
pub fn group_rank_run(store: &Store, group_id: &str, rank: i64) -> QueryResult<String> {
    for (g, id) in grouped_runs(store)?.into_iter().rev() {
        if g.id == group_id && g.rank == rank {
            return Ok(id);
        }
    }
    Err(QueryError::UnknownRank {
        group: group_id.to_owned(),
        rank,
    })
}

/// A snapshot's step, comparable across the ranks of a group: a framework
/// snapshot's global step (label `step N`), else its loop counters
/// (completed iterations of each enclosing loop, outermost first).
pub fn snapshot_step(meta: &SnapshotMeta) -> Vec<i64> {
    framework_step(meta).map_or_else(|| meta.loops.clone(), |s| vec![s])
}

fn framework_step(meta: &SnapshotMeta) -> Option<i64> {
    meta.label.as_deref()?.strip_prefix("step ")?.parse().ok()
}

/// The snapshot of a run at step N: the framework snapshot labeled
/// `step N`, else the first taken at the boundary of the outermost loop's
/// Nth iteration (loop counters `[N]`), else the first whose outermost
/// counter is N.
pub fn snapshot_at_step(store: &Store, run: &str, step: i64) -> QueryResult<i64> {
    let rows = store.snapshot_rows(run)?;
    let pick = rows
        .iter()
        .find(|m| framework_step(m) == Some(step))
        .or_else(|| rows.iter().find(|m| m.loops == [step]))
        .or_else(|| rows.iter().find(|m| m.loops.first() == Some(&step)));
    pick.map(|m| m.seq).ok_or_else(|| QueryError::NoStep {
        run: run.to_owned(),
        step,
    })
}

/// One rank's part of `snapline nan GROUP`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RankNan {
    pub rank: i64,
    pub run: String,
    /// The rank's first snapshot holding NaN or Inf in the user's state.
    pub first: Option<SnapshotPlace>,
    /// That snapshot's step (see `snapshot_step`).
    pub step: Option<Vec<i64>>,
    pub last_clean: Option<i64>,
    /// The objects non-finite there.
    pub began: Vec<BadObject>,
    /// Metric series of the rank that turned non-finite.
    pub metrics: Vec<BadMetric>,
}

/// The stable `snapline nan GROUP --json` shape.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupNanReport {
    pub group: String,
    pub world_size: usize,
    /// The rank that went non-finite first: by step, then by time; null
    /// when every rank stayed finite.
    pub first_rank: Option<i64>,
    /// Every rank, in rank order.
    pub ranks: Vec<RankNan>,
}

/// Which rank of a group went non-finite first, with each rank's first NaN.
pub fn group_nan(store: &Store, group_id: &str) -> QueryResult<GroupNanReport> {
    let members = group_members(store, group_id)?;
    let mut ranks = Vec::with_capacity(members.len());
    let mut world_size = members.len();
    for run in &members {
        let group = run_group(&store.run(run)?.lineage);
        let rank = group.as_ref().map_or(0, |g| g.rank);
        if let Some(g) = group {
            world_size = usize::try_from(g.world_size).unwrap_or(world_size);
        }
        let report = first_nonfinite(store, run)?;
        let step = match &report.first {
            Some(place) => store.snapshot(run, place.seq)?.map(|m| snapshot_step(&m)),
            None => None,
        };
        ranks.push(RankNan {
            rank,
            run: run.clone(),
            first: report.first,
            step,
            last_clean: report.last_clean,
            began: report.began,
            metrics: report.metrics,
        });
    }
    let key = |r: &RankNan| -> Option<(Vec<i64>, f64)> {
        match (&r.first, &r.step) {
            (Some(place), Some(step)) => Some((step.clone(), place.time)),
            _ => r
                .metrics
                .iter()
                .map(|m| (vec![m.epoch.unwrap_or(i64::MAX)], m.time))
                .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal)),
        }
    };
    let first_rank = ranks
        .iter()
        .filter_map(|r| key(r).map(|k| (k, r.rank)))
        .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, rank)| rank);
    Ok(GroupNanReport {
        group: group_id.to_owned(),
        world_size,
        first_rank,
        ranks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_never_read_as_run_ids() {
        assert!(is_group_name("g09e8e887138"));
        assert!(is_group_name("g0"));
        assert!(!is_group_name("09e8e887138a")); // a run id
        assert!(!is_group_name("last"));
        assert!(!is_group_name("g09/r1"));
    }

    #[test]
    fn reads_the_group_from_the_lineage() {
        let lineage = serde_json::json!({"group": {"id": "gab", "rank": 1, "world_size": 2,
            "local_rank": 1, "launcher": "torchrun"}});
        let group = run_group(&lineage);
        assert_eq!(
            group.map(|g| (g.id, g.rank, g.world_size)),
            Some(("gab".to_owned(), 1, 2))
        );
        assert_eq!(run_group(&serde_json::json!({"argv": []})), None);
        assert_eq!(run_group(&serde_json::json!({"group": "broken"})), None);
    }
}
