//! Where NaN or Inf first appeared in a run, from the stats stored at
//! capture (no chunk is read): the first non-finite snapshot, the objects
//! that went bad there (and whether as NaN or Inf), the ones that followed
//! in later snapshots, the metric series that turned non-finite, the last
//! clean snapshot, and what `--nan-hooks` recorded (module, step, line).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use snapline_store::{MetricPoint, NonfiniteEntry, ObjectKind, Store, Trigger};

use crate::error::QueryResult;

/// How many non-finite snapshots after the first are searched for objects
/// that went bad later (bounds the answer's cost on long diverged runs).
pub const FOLLOW_WINDOW: usize = 100;

/// The stable `snapline nan --json` shape.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NanReport {
    pub run: String,
    /// Committed snapshots of the run.
    pub snapshots: i64,
    /// The first snapshot holding NaN or Inf, or null when all are finite.
    pub first: Option<SnapshotPlace>,
    /// The last snapshot before it (everything finite there).
    pub last_clean: Option<i64>,
    /// Objects non-finite in the first bad snapshot: where it began.
    pub began: Vec<BadObject>,
    /// Objects that went non-finite in later snapshots, each at its first.
    pub followed: Vec<BadObject>,
    /// Non-finite snapshots searched for `followed` (at most `FOLLOW_WINDOW` + 1).
    pub searched: usize,
    /// Metric series with a NaN or infinite point: the first such point of each.
    pub metrics: Vec<BadMetric>,
    /// What `snapline run --nan-hooks` recorded: the first module (or numpy
    /// operation) whose output or gradient was non-finite.
    pub hooks: Vec<HookEvent>,
}

/// Where a snapshot was taken.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotPlace {
    pub seq: i64,
    pub trigger: Trigger,
    pub file: Option<String>,
    pub line: Option<i64>,
    pub loops: Vec<i64>,
    pub label: Option<String>,
    pub time: f64,
}

/// An object holding NaN or Inf.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BadObject {
    pub path: String,
    pub seq: i64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub shape: Option<Vec<i64>>,
    /// A scalar (a metric such as a loss) rather than an array of weights.
    pub scalar: bool,
    pub count: u64,
    pub nan: u64,
    pub posinf: u64,
    pub neginf: u64,
    /// How it went bad: "nan", "inf", "-inf" or "nan+inf".
    pub began_as: String,
}

/// The first non-finite point of a metric series.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BadMetric {
    pub name: String,
    pub step: f64,
    pub epoch: Option<i64>,
    /// The snapshot it was read from (null for `snapline.log()` points).
    pub seq: Option<i64>,
    #[serde(with = "snapline_store::wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub value: f64,
    pub time: f64,
}

/// One `--nan-hooks` event.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HookEvent {
    pub time: f64,
    /// The last snapshot committed before it.
    pub after_seq: Option<i64>,
    pub detail: serde_json::Value,
}

fn began_as(e: &NonfiniteEntry) -> String {
    match (e.nan > 0, e.posinf > 0, e.neginf > 0) {
        (true, false, false) => "nan".into(),
        (false, true, false) => "inf".into(),
        (false, false, true) => "-inf".into(),
        (false, true, true) => "inf+-inf".into(),
        _ => "nan+inf".into(),
    }
}

fn bad_metric(p: MetricPoint) -> BadMetric {
    BadMetric {
        name: p.name,
        step: p.step,
        epoch: p.epoch,
        seq: p.seq,
        value: p.value,
        time: p.time,
    }
}

/// Where NaN or Inf first appeared in a run.
pub fn first_nonfinite(store: &Store, run: &str) -> QueryResult<NanReport> {
    let snapshots = store.seq_range(run)?.map(|(a, b)| b - a + 1).unwrap_or(0);
    let metrics: Vec<BadMetric> = store
        .first_nonfinite_metrics(run)?
        .into_iter()
        .map(bad_metric)
        .collect();
    let hooks = store
        .events(run, Some("nonfinite"))?
        .into_iter()
        .map(|e| HookEvent {
            time: e.time,
            after_seq: e.seq,
            detail: e.detail,
        })
        .collect();
    let mut report = NanReport {
        run: run.to_owned(),
        snapshots,
        first: None,
        last_clean: None,
        began: Vec::new(),
        followed: Vec::new(),
        searched: 0,
        metrics,
        hooks,
    };
    // Arrays through the snapshot index; scalars through their metric points.
    let bad_seqs = store.nonfinite_seqs(run, i64::MIN, FOLLOW_WINDOW + 1)?;
    let first_metric = report.metrics.iter().filter_map(|m| m.seq).min();
    let first = match (bad_seqs.first().copied(), first_metric) {
        (Some(a), Some(m)) => a.min(m),
        (a, m) => match a.or(m) {
            Some(s) => s,
            None => return Ok(report),
        },
    };
    let Some(meta) = store.snapshot(run, first)? else {
        return Ok(report);
    };
    report.first = Some(SnapshotPlace {
        seq: meta.seq,
        trigger: meta.trigger,
        file: meta.file,
        line: meta.line,
        loops: meta.loops,
        label: meta.label,
        time: meta.time,
    });
    report.last_clean = store.seq_before(run, first)?;

    // Snapshots searched: the first bad one and up to FOLLOW_WINDOW after it.
    let window: Vec<i64> = bad_seqs
        .into_iter()
        .filter(|&s| s > first)
        .take(FOLLOW_WINDOW)
        .collect();
    let last = window.last().copied().unwrap_or(first);
    report.searched = 1 + window.len();
    let entries = store.nonfinite_entries(run, first, last)?;
    let mut types: HashMap<String, (String, Option<Vec<i64>>, bool)> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for e in entries {
        if e.path.starts_with('$') || !seen.insert(e.path.clone()) {
            continue;
        }
        if !types.contains_key(&e.hash) {
            let r = store.object(&e.hash)?;
            let scalar =
                r.kind == ObjectKind::Value || r.shape.as_ref().is_some_and(|s| s.is_empty());
            types.insert(e.hash.clone(), (r.type_name, r.shape, scalar));
        }
        let (type_name, shape, scalar) = types.get(&e.hash).cloned().unwrap_or_default();
        let object = BadObject {
            began_as: began_as(&e),
            path: e.path,
            seq: e.seq,
            type_name,
            shape,
            scalar,
            count: e.count,
            nan: e.nan,
            posinf: e.posinf,
            neginf: e.neginf,
        };
        if object.seq == first {
            report.began.push(object);
        } else {
            report.followed.push(object);
        }
    }
    // Arrays (the weights) before scalars (the metrics they broke).
    report.began.sort_by_key(|o| o.scalar);
    Ok(report)
}
