//! Where NaN or Inf first appeared in a run, from the stats stored at
//! capture (no chunk is read): the first non-finite snapshot, the objects
//! that went bad there (and whether as NaN or Inf), the ones that followed
//! in later snapshots, the metric series that turned non-finite, the last
//! clean snapshot, and what `--nan-hooks` recorded (module, step, line).
//!
//! Only the user's numbers count (`ownership.rs`): values a library object
//! holds by design (matplotlib's transforms, `-inf` masks, sentinels inside
//! library objects) are listed apart in `library`, and a user's variable
//! that is ±Inf from its first value (`best = float("inf")`) in `sentinels`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use snapline_store::{MetricPoint, NonfiniteEntry, ObjectKind, Store, Trigger};

use crate::error::QueryResult;
use crate::ownership::{Owners, PathOwner};

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
    /// The first snapshot where the user's state holds NaN or Inf, or null
    /// when it is finite throughout.
    pub first: Option<SnapshotPlace>,
    /// The last snapshot before it (everything finite there).
    pub last_clean: Option<i64>,
    /// Objects non-finite in the first bad snapshot: where it began.
    pub began: Vec<BadObject>,
    /// Objects that went non-finite in later snapshots, each at its first.
    pub followed: Vec<BadObject>,
    /// Non-finite snapshots searched for `followed` (at most `FOLLOW_WINDOW` + 1).
    pub searched: usize,
    /// Metric series with a NaN or infinite point: the first such point of
    /// each (for a sentinel series, the first one that is not the sentinel).
    pub metrics: Vec<BadMetric>,
    /// Series that are ±Inf from their first point on (`best = float("inf")`):
    /// the user's design, not a divergence.
    pub sentinels: Vec<Sentinel>,
    /// NaN and Inf that library objects hold by design (matplotlib's axis
    /// transforms and data limits...), ignored: by holder, in the first
    /// non-finite snapshot or, when there is none, the last snapshot.
    pub library: Vec<LibraryHeld>,
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

/// A series whose first points in time are +Inf (or -Inf), until it first
/// turns finite (or to the end): the user's `best = float("inf")`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Sentinel {
    pub name: String,
    #[serde(with = "snapline_store::wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub value: f64,
    /// The snapshot of its first point (null for a `snapline.log()` point).
    pub seq: Option<i64>,
    /// The snapshot where it first shows a finite value, null when it
    /// never does.
    pub finite_from: Option<i64>,
    /// The time of that point.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    finite_time: Option<f64>,
}

/// Non-finite values held inside one library object.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LibraryHeld {
    /// The path of the library object (`fig`).
    pub holder: String,
    /// Its type (`matplotlib.figure.Figure`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The snapshot they were counted in.
    pub seq: i64,
    /// Objects inside it holding NaN or Inf.
    pub objects: u64,
    pub nan: u64,
    pub posinf: u64,
    pub neginf: u64,
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

/// Where NaN or Inf first appeared in the user's state of a run.
pub fn first_nonfinite(store: &Store, run: &str) -> QueryResult<NanReport> {
    let snapshots = store.seq_range(run)?.map(|(a, b)| b - a + 1).unwrap_or(0);
    let (metrics, sentinels) = bad_metrics(store, run)?;
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
        sentinels,
        library: Vec::new(),
        hooks,
    };
    let mut owners = Owners::new(store, run);
    let mut times: HashMap<i64, f64> = HashMap::new();
    // Arrays through the snapshot index (the user's NaN and Inf: the
    // capture leaves library-internal ones out of `nonfinite`); scalars
    // through their metric points.
    let bad_seqs = store.nonfinite_seqs(run, i64::MIN, FOLLOW_WINDOW + 1)?;
    // A point recorded between snapshots (a loop's scalars, `snapline.log`)
    // shows first in the next snapshot.
    let mut first_metric: Option<i64> = None;
    for m in &report.metrics {
        let seq = match m.seq {
            Some(seq) => Some(seq),
            None => store.seq_at_or_after(run, m.time)?,
        };
        if let Some(seq) = seq {
            first_metric = Some(first_metric.map_or(seq, |f| f.min(seq)));
        }
    }
    let Some(start) = earliest(bad_seqs.first().copied(), first_metric) else {
        report.library = library_at_last(store, run, &report.sentinels, &mut owners)?;
        return Ok(report);
    };
    // Snapshots searched: the first bad one and up to FOLLOW_WINDOW after it.
    let window: Vec<i64> = bad_seqs
        .into_iter()
        .filter(|&s| s > start)
        .take(FOLLOW_WINDOW)
        .collect();
    let last = window.last().copied().unwrap_or(start);
    report.searched = 1 + window.len();
    let entries = store.nonfinite_entries(run, start, last)?;
    let sorted = sort_entries(
        store,
        run,
        entries,
        &report.sentinels,
        &mut owners,
        &mut times,
    )?;
    let first_object = sorted.user.iter().map(|e| e.seq).min();
    let Some(first) = earliest(first_object, first_metric) else {
        report.library = library_at_last(store, run, &report.sentinels, &mut owners)?;
        return Ok(report);
    };
    report.library = library_held(&sorted.library, first);
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

    let mut types: HashMap<String, (String, Option<Vec<i64>>, bool)> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for e in sorted.user {
        if e.seq < first || !seen.insert(e.path.clone()) {
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

/// The first non-finite point of each series, and the series that are
/// sentinels: ±Inf from their first point in time on. A sentinel's own
/// points are not reported; its first NaN, other infinity, or non-finite
/// point after it turned finite is.
fn bad_metrics(store: &Store, run: &str) -> QueryResult<(Vec<BadMetric>, Vec<Sentinel>)> {
    let mut metrics = Vec::new();
    let mut sentinels = Vec::new();
    for p in store.first_nonfinite_metrics(run)? {
        let earliest = store
            .nonfinite_metric_points(run, &p.name, f64::NEG_INFINITY, 1)?
            .into_iter()
            .next();
        let Some(earliest) = earliest.filter(|e| e.value.is_infinite()) else {
            metrics.push(bad_metric(p));
            continue;
        };
        let finite = store.first_finite_metric(run, &p.name)?;
        if finite.as_ref().is_some_and(|f| f.time < earliest.time) {
            metrics.push(bad_metric(p));
            continue;
        }
        if let Some(real) = after_sentinel(store, run, &earliest, finite.as_ref())? {
            metrics.push(bad_metric(real));
        }
        let finite_from = match &finite {
            Some(f) if f.seq.is_some() => f.seq,
            Some(f) => store.seq_at_or_after(run, f.time)?,
            None => None,
        };
        sentinels.push(Sentinel {
            finite_from,
            finite_time: finite.map(|f| f.time),
            name: earliest.name,
            value: earliest.value,
            seq: earliest.seq,
        });
    }
    Ok((metrics, sentinels))
}

/// The first non-finite point of a sentinel series that is not the
/// sentinel: NaN, the other infinity, or any after its first finite point.
fn after_sentinel(
    store: &Store,
    run: &str,
    sentinel: &MetricPoint,
    finite: Option<&MetricPoint>,
) -> QueryResult<Option<MetricPoint>> {
    const PAGE: usize = 256;
    let mut after = sentinel.time;
    loop {
        let page = store.nonfinite_metric_points(run, &sentinel.name, after, PAGE)?;
        for q in &page {
            let past = finite.is_some_and(|f| q.time > f.time);
            if past || q.value.is_nan() || q.value != sentinel.value {
                return Ok(Some(q.clone()));
            }
        }
        match page.last() {
            Some(q) if page.len() == PAGE => after = q.time,
            _ => return Ok(None),
        }
    }
}

/// Non-finite entries sorted by owner: the user's (a node counts as the
/// user's when any of its paths is) and the library's, with their holder.
/// A sentinel's own scalar entries are left out.
struct SortedEntries {
    user: Vec<NonfiniteEntry>,
    library: Vec<(NonfiniteEntry, String, String)>,
}

fn sort_entries(
    store: &Store,
    run: &str,
    entries: Vec<NonfiniteEntry>,
    sentinels: &[Sentinel],
    owners: &mut Owners<'_>,
    times: &mut HashMap<i64, f64>,
) -> QueryResult<SortedEntries> {
    let mut user_nodes: HashSet<(i64, i64)> = HashSet::new();
    let mut classified = Vec::new();
    for e in entries {
        if e.path.starts_with('$') || is_sentinel_value(store, run, &e, sentinels, times)? {
            continue;
        }
        let owner = owners.of_path(e.seq, &e.path)?;
        if owner == PathOwner::User {
            user_nodes.insert((e.seq, e.node));
        }
        classified.push((e, owner));
    }
    let mut sorted = SortedEntries {
        user: Vec::new(),
        library: Vec::new(),
    };
    for (e, owner) in classified {
        match owner {
            PathOwner::User => sorted.user.push(e),
            // Reached through the user's state too: the user's (listed by
            // its user paths above).
            PathOwner::Library { .. } if user_nodes.contains(&(e.seq, e.node)) => {}
            PathOwner::Library { holder, type_name } => {
                sorted.library.push((e, holder, type_name));
            }
        }
    }
    Ok(sorted)
}

/// A scalar entry holding a sentinel series' infinity before the series
/// first turned finite.
fn is_sentinel_value(
    store: &Store,
    run: &str,
    e: &NonfiniteEntry,
    sentinels: &[Sentinel],
    times: &mut HashMap<i64, f64>,
) -> QueryResult<bool> {
    let Some(s) = sentinels.iter().find(|s| s.name == e.path) else {
        return Ok(false);
    };
    let same = e.count == 1
        && e.nan == 0
        && ((s.value > 0.0 && e.posinf == 1) || (s.value < 0.0 && e.neginf == 1));
    if !same {
        return Ok(false);
    }
    let Some(finite_time) = s.finite_time else {
        return Ok(true);
    };
    let time = match times.get(&e.seq) {
        Some(&t) => t,
        None => {
            let t = store
                .snapshot(run, e.seq)?
                .map(|m| m.time)
                .unwrap_or(f64::INFINITY);
            times.insert(e.seq, t);
            t
        }
    };
    Ok(time < finite_time)
}

/// The earlier of two snapshot numbers, either of which may be missing.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What library objects hold in the last snapshot of a run whose user
/// state is finite throughout.
fn library_at_last(
    store: &Store,
    run: &str,
    sentinels: &[Sentinel],
    owners: &mut Owners<'_>,
) -> QueryResult<Vec<LibraryHeld>> {
    let Some((_, last)) = store.seq_range(run)? else {
        return Ok(Vec::new());
    };
    let entries = store.nonfinite_entries(run, last, last)?;
    let mut times = HashMap::new();
    let sorted = sort_entries(store, run, entries, sentinels, owners, &mut times)?;
    Ok(library_held(&sorted.library, last))
}

/// Library-internal entries of snapshot `seq`, by holder (an object two
/// holders reach counts in both, once in each).
fn library_held(library: &[(NonfiniteEntry, String, String)], seq: i64) -> Vec<LibraryHeld> {
    let mut counted: HashSet<(&str, i64)> = HashSet::new();
    let mut held: BTreeMap<String, LibraryHeld> = BTreeMap::new();
    for (e, holder, type_name) in library.iter().filter(|(e, _, _)| e.seq == seq) {
        if !counted.insert((holder.as_str(), e.node)) {
            continue;
        }
        let h = held.entry(holder.clone()).or_insert_with(|| LibraryHeld {
            holder: holder.clone(),
            type_name: type_name.clone(),
            seq,
            objects: 0,
            nan: 0,
            posinf: 0,
            neginf: 0,
        });
        h.objects += 1;
        h.nan += e.nan;
        h.posinf += e.posinf;
        h.neginf += e.neginf;
    }
    held.into_values().collect()
}
