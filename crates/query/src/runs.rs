//! Runs and their timelines.

use serde::Serialize;
use snapline_store::{RunRecord, SnapshotMeta, Store};

use crate::error::QueryResult;

/// One snapshot in a run's log (the stable `snapline log --json` shape).
pub type SnapshotRow = SnapshotMeta;

/// A run as front ends show it (the stable `snapline runs --json` shape).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunSummary {
    pub id: String,
    pub script: String,
    /// running, finished, failed or killed. A run whose process vanished
    /// without recording its end (kill -9, power loss) reads as killed.
    pub status: String,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    /// Seconds from start to end, or to the last snapshot while running.
    pub duration: f64,
    pub snapshots: i64,
    pub bytes_stored: i64,
    pub exit_code: Option<i64>,
    pub exception: Option<serde_json::Value>,
    /// `RUN@SEQ` this run was resumed from (the timeline branches there).
    pub parent: Option<String>,
    /// The run it was resumed from, and the snapshot it started at.
    pub parent_run: Option<String>,
    pub parent_seq: Option<i64>,
    pub lineage: serde_json::Value,
    /// Where an imported run came from (`snapline import`): host, exporter,
    /// exported_at, imported_at, bundle; null for runs captured here.
    pub origin: Option<serde_json::Value>,
    /// The last point of the run's main series (names ending in loss or
    /// acc/accuracy, at most three, losses first): what a run list shows.
    pub last_metrics: Vec<LastMetric>,
    /// Agent warnings recorded in the run (a snapshot that failed...):
    /// `snapline warnings RUN` lists them.
    pub warnings: usize,
    /// The run group (one distributed job, e.g. `torchrun`) this run is a
    /// rank of, its rank and the job's world size; null for a solo run.
    pub group: Option<String>,
    pub rank: Option<i64>,
    pub world_size: Option<i64>,
}

/// The last value of one series.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LastMetric {
    pub name: String,
    pub step: f64,
    #[serde(with = "snapline_store::wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub value: f64,
}

/// Whether a series is one a run list shows: its last name part (after
/// `.`, `:` or a `["key"]`) says loss or accuracy. Losses sort first.
fn main_series_rank(name: &str) -> Option<u8> {
    let leaf = name
        .rsplit(['.', ':', '['])
        .next()
        .unwrap_or(name)
        .trim_matches(|c| c == '"' || c == ']')
        .to_ascii_lowercase();
    if leaf.contains("loss") {
        Some(0)
    } else if leaf == "acc" || leaf.ends_with("_acc") || leaf.contains("accuracy") {
        Some(1)
    } else {
        None
    }
}

fn last_metrics(store: &Store, run: &str) -> QueryResult<Vec<LastMetric>> {
    let mut names: Vec<(u8, String)> = store
        .series_names(run)?
        .into_iter()
        .filter_map(|n| main_series_rank(&n).map(|r| (r, n)))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for (_, name) in names.into_iter().take(3) {
        if let Some(p) = store.last_point(run, &name)? {
            out.push(LastMetric {
                name,
                step: p.step,
                value: p.value,
            });
        }
    }
    Ok(out)
}

fn summarize(store: &Store, run: RunRecord) -> QueryResult<RunSummary> {
    let mut status = run.status.as_str().to_owned();
    if status == "running" && snapline_store::process_gone(&run.lineage) {
        status = "killed".into();
    }
    let end = match run.ended_at {
        Some(e) => e,
        None => match store.seq_range(&run.id)? {
            Some((_, last)) => store
                .snapshot(&run.id, last)?
                .map_or(run.started_at, |s| s.time),
            None => run.started_at,
        },
    };
    let group = crate::group::run_group(&run.lineage);
    Ok(RunSummary {
        rank: group.as_ref().map(|g| g.rank),
        world_size: group.as_ref().map(|g| g.world_size),
        group: group.map(|g| g.id),
        last_metrics: last_metrics(store, &run.id)?,
        warnings: store.warnings(&run.id)?.len(),
        duration: (end - run.started_at).max(0.0),
        parent: run.parent_run.as_ref().map(|p| match run.parent_seq {
            Some(seq) => format!("{p}@{seq}"),
            None => p.clone(),
        }),
        parent_run: run.parent_run,
        parent_seq: run.parent_seq,
        id: run.id,
        script: run.script,
        status,
        started_at: run.started_at,
        ended_at: run.ended_at,
        snapshots: run.snapshots,
        bytes_stored: run.bytes_new,
        exit_code: run.exit_code,
        exception: run.exception,
        lineage: run.lineage,
        origin: run.origin,
    })
}

/// Every run in the store, oldest first.
pub fn list_runs(store: &Store) -> QueryResult<Vec<RunSummary>> {
    store
        .runs()?
        .into_iter()
        .map(|r| summarize(store, r))
        .collect()
}

/// One run, named by id prefix, `last` or `GROUP/rK`.
pub fn run_summary(store: &Store, name: &str) -> QueryResult<RunSummary> {
    let id = crate::reference::resolve_run_name(store, name)?;
    summarize(store, store.run(&id)?)
}

/// A run's committed snapshots, in order.
pub fn run_log(store: &Store, name: &str) -> QueryResult<(String, Vec<SnapshotRow>)> {
    let id = crate::reference::resolve_run_name(store, name)?;
    let rows = store.snapshot_rows(&id)?;
    Ok((id, rows))
}
