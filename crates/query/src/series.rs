//! Metric series ready to draw: one series on an x axis (step, epoch or
//! time), cut to a range, optionally smoothed, and decimated to a pixel
//! width so that its shape survives.
//!
//! - **Decimation keeps the shape.** Per pixel column the first, minimum,
//!   maximum and last finite points are kept (at most four, each with its own
//!   x), so a one-point spike is never averaged away. Non-finite values are
//!   never dropped: they become markers (`nan`, `inf`, `-inf`), one per kind
//!   and column with the number of points it stands for.
//! - **Full resolution when the range narrows.** A range holding at most
//!   twice as many points as pixel columns comes back as it is.
//! - **Smoothing** is TensorBoard's exponential moving average with bias
//!   correction: `last = last * w + (1 - w) * v`, shown as
//!   `last / (1 - w^n)` after the n-th finite value. It runs from the first
//!   point of the series, not of the range, so zooming never changes the
//!   smoothed curve. Non-finite values skip it (they stay markers).
//! - **Log y**: finite values <= 0 cannot be drawn on a log axis; they are
//!   left out of `points` and of the smoothing and counted in `nonpositive`.
//!
//! Everything here is O(n) in the series with no allocation per point
//! (the range is found by binary search; sorting happens only when an axis
//! is not already in order).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use snapline_store::{MetricPoint, PointRow, SnapshotMeta, Store};

use crate::error::{QueryError, QueryResult};
use crate::metrics::{list_all_series, resolve_series};

/// What the x axis of a series is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum XAxis {
    /// The training step (see `RunAxes::training_step`): the framework's
    /// global step where the run has one, else the iteration count of the
    /// loop that produced the point (the step `snapline.log()` was given),
    /// else the epoch. Points with none are left out (`no_x`).
    #[default]
    Step,
    /// The snapshot the point was taken at or, for points logged between
    /// snapshots, the last snapshot before it (its seq).
    Snapshot,
    /// Completed iterations of the outermost loop. Points sharing an epoch
    /// are spread evenly over `[epoch, epoch + 1)` in step order (several
    /// `snapline.log()` points in one epoch read as fractions of it);
    /// points without an epoch (outside any loop) are left out (`no_x`).
    Epoch,
    /// Seconds since the run started.
    Time,
}

impl XAxis {
    pub fn as_str(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Snapshot => "snapshot",
            XAxis::Epoch => "epoch",
            XAxis::Time => "time",
        }
    }

    /// The axis title a chart shows.
    pub fn label(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Snapshot => "snapshot",
            XAxis::Epoch => "epoch",
            XAxis::Time => "time since the run started (s)",
        }
    }
}

impl fmt::Display for XAxis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for XAxis {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "step" => Ok(XAxis::Step),
            "snapshot" => Ok(XAxis::Snapshot),
            "epoch" => Ok(XAxis::Epoch),
            "time" => Ok(XAxis::Time),
            other => Err(QueryError::InvalidView(format!(
                "unknown x axis '{other}': use step, epoch, snapshot or time"
            ))),
        }
    }
}

/// What a front end wants to draw: an axis, a range, a width, a smoothing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ViewOptions {
    pub x_axis: XAxis,
    /// Left edge of the range; `None`: the series' first point.
    pub x_min: Option<f64>,
    /// Right edge of the range (inclusive); `None`: the series' last point.
    pub x_max: Option<f64>,
    /// Pixel columns the series is drawn in. A decimated series holds at
    /// most four points per column; a range with at most twice as many
    /// points as columns is returned as it is. More columns: more detail,
    /// more to send and draw.
    pub width_px: u32,
    /// EMA weight in [0, 1): 0 is no smoothing (`smoothed` is null), 0.6 is
    /// TensorBoard's default, 0.99 follows only the trend.
    pub smoothing: f64,
    /// A log-scale y axis: finite values <= 0 are left out (`nonpositive`).
    pub log_y: bool,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            x_axis: XAxis::Step,
            x_min: None,
            x_max: None,
            width_px: 1000,
            smoothing: 0.0,
            log_y: false,
        }
    }
}

impl ViewOptions {
    /// Checks the options, naming the one that is wrong and what it takes.
    pub fn validate(&self) -> QueryResult<()> {
        let bad = |m: String| Err(QueryError::InvalidView(m));
        if self.width_px == 0 {
            return bad("the width must be at least 1 pixel".into());
        }
        if !(self.smoothing.is_finite() && (0.0..1.0).contains(&self.smoothing)) {
            return bad(format!(
                "smoothing must be at least 0 and below 1 (0: none, 0.6: TensorBoard's default), not {}",
                self.smoothing
            ));
        }
        for (name, v) in [("start", self.x_min), ("end", self.x_max)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return bad(format!("the x range's {name} must be a finite number"));
            }
        }
        if let (Some(a), Some(b)) = (self.x_min, self.x_max) {
            if a > b {
                return bad(format!(
                    "the x range is empty: its start ({a}) is after its end ({b})"
                ));
            }
        }
        Ok(())
    }
}

/// Which non-finite value a marker stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MarkerKind {
    #[serde(rename = "nan")]
    Nan,
    #[serde(rename = "inf")]
    PosInf,
    #[serde(rename = "-inf")]
    NegInf,
}

impl MarkerKind {
    /// The kind of a non-finite value; `None` for a finite one.
    pub fn of(value: f64) -> Option<MarkerKind> {
        if value.is_nan() {
            Some(MarkerKind::Nan)
        } else if value == f64::INFINITY {
            Some(MarkerKind::PosInf)
        } else if value == f64::NEG_INFINITY {
            Some(MarkerKind::NegInf)
        } else {
            None
        }
    }

    fn slot(self) -> usize {
        match self {
            MarkerKind::Nan => 0,
            MarkerKind::PosInf => 1,
            MarkerKind::NegInf => 2,
        }
    }
}

/// A NaN or infinite value of the series, drawn as a marker at `x`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Marker {
    /// The x of the first such point in its pixel column.
    pub x: f64,
    pub kind: MarkerKind,
    /// How many points of this kind it stands for (1 when not decimated).
    pub count: u64,
}

/// A series cut to a range and decimated (what `decimate` returns).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Decimated {
    /// `[x, y]` of the finite points drawn, in x order.
    pub points: Vec<[f64; 2]>,
    /// NaN and ±Inf values, in x order.
    pub markers: Vec<Marker>,
    /// `[x, y]` of the smoothed line, decimated like `points`; null when no
    /// smoothing was asked for.
    pub smoothed: Option<Vec<[f64; 2]>>,
    /// Points of the series inside the range, before decimation.
    pub raw_points: usize,
    /// Whether `points` is a decimation (false: every point of the range).
    pub decimated: bool,
    /// Finite values <= 0 left out because the y axis is logarithmic.
    pub nonpositive: usize,
}

/// A series of a run as a chart draws it (`snapline plot --json`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeriesView {
    pub run: String,
    /// The full series name.
    pub name: String,
    pub x_axis: XAxis,
    #[serde(flatten)]
    pub data: Decimated,
    /// Points of the whole series.
    pub total_points: usize,
    /// Points left out because they have no x on this axis (no epoch).
    pub no_x: usize,
    /// x of the run's snapshots inside the range (see `snapshot_positions`).
    pub snapshots: Vec<f64>,
    /// The seq of the snapshot at each x of `snapshots` (the last one when
    /// several share an x): what a click on that x opens.
    pub snapshot_seqs: Vec<i64>,
}

/// A series with an x for each point (`snapline metrics --x ... --json`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AxisSeries {
    pub run: String,
    pub name: String,
    pub x_axis: XAxis,
    pub points: Vec<AxisPoint>,
}

/// A stored point plus its x on the chosen axis (null: none, see `XAxis`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AxisPoint {
    #[serde(flatten)]
    pub point: MetricPoint,
    pub x: Option<f64>,
}

/// What the axis math reads of a point: a stored `MetricPoint`, or the
/// nameless `PointRow` a chart loads a million of.
pub trait SeriesPoint {
    fn step(&self) -> f64;
    fn time(&self) -> f64;
    fn seq(&self) -> Option<i64>;
    fn epoch(&self) -> Option<i64>;
}

impl SeriesPoint for MetricPoint {
    fn step(&self) -> f64 {
        self.step
    }
    fn time(&self) -> f64 {
        self.time
    }
    fn seq(&self) -> Option<i64> {
        self.seq
    }
    fn epoch(&self) -> Option<i64> {
        self.epoch
    }
}

impl SeriesPoint for PointRow {
    fn step(&self) -> f64 {
        self.step
    }
    fn time(&self) -> f64 {
        self.time
    }
    fn seq(&self) -> Option<i64> {
        self.seq
    }
    fn epoch(&self) -> Option<i64> {
        self.epoch
    }
}

/// What the axes of a run need besides the points: its start (for
/// `Time`), and each snapshot's seq, time and training step (for `Step`
/// and `Snapshot`).
#[derive(Clone, Debug, Default)]
pub struct RunAxes {
    started_at: f64,
    /// seq -> the framework's global step or the loop's iteration count.
    steps: std::collections::HashMap<i64, f64>,
    /// (time, seq) of every snapshot, by time.
    by_time: Vec<(f64, i64)>,
}

impl RunAxes {
    /// From a run's start and its snapshots. A snapshot's training step is
    /// the framework's `global_step` (recorded in its position), else the
    /// completed iterations of its loop when it sits in exactly one loop;
    /// a snapshot outside any loop after training began (the end of the
    /// script) keeps the last step reached.
    pub fn new(started_at: f64, snapshots: &[SnapshotMeta]) -> RunAxes {
        let mut steps = std::collections::HashMap::new();
        let mut reached: Option<f64> = None;
        for s in snapshots {
            let framework = s
                .position
                .as_ref()
                .and_then(|p| p.get("framework"))
                .and_then(|f| f.get("global_step"))
                .and_then(serde_json::Value::as_f64);
            let step = framework.or(match s.loops.as_slice() {
                [count] => Some(*count as f64),
                [] => reached,
                _ => None,
            });
            if let Some(step) = step {
                steps.insert(s.seq, step);
            }
            reached = step.or(s.loops.first().map(|&e| e as f64)).or(reached);
        }
        let mut by_time: Vec<(f64, i64)> = snapshots.iter().map(|s| (s.time, s.seq)).collect();
        by_time.sort_by(|a, b| a.0.total_cmp(&b.0));
        RunAxes {
            started_at,
            steps,
            by_time,
        }
    }

    /// Reads what `new` needs from the store.
    pub fn load(store: &Store, run: &str) -> QueryResult<RunAxes> {
        let started = store.run(run)?.started_at;
        // With positions: a framework's global step is recorded there.
        Ok(RunAxes::new(started, &store.snapshots(run)?))
    }

    /// A point's training step: the step it was logged or tracked at for
    /// points between snapshots (a loop's iteration count, the step given to
    /// `snapline.log()`, a framework's global step); for scalars a snapshot
    /// saw, that snapshot's step (see `new`); else its epoch.
    pub fn training_step<P: SeriesPoint>(&self, p: &P) -> Option<f64> {
        match p.seq() {
            None => Some(p.step()),
            Some(seq) => self
                .steps
                .get(&seq)
                .copied()
                .or(p.epoch().map(|e| e as f64)),
        }
    }

    /// The seq of the snapshot a point belongs to: its own, or the last one
    /// taken at or before it.
    pub fn snapshot_of<P: SeriesPoint>(&self, p: &P) -> Option<i64> {
        p.seq().or_else(|| {
            let n = self.by_time.partition_point(|&(t, _)| t <= p.time());
            n.checked_sub(1).map(|i| self.by_time[i].1)
        })
    }

    /// The axes a series with these points can be drawn on, and the one to
    /// draw it on first: step where its points have one, else epoch, else
    /// snapshot, else time.
    pub fn axes_of<P: SeriesPoint>(&self, points: &[P]) -> (Vec<XAxis>, XAxis) {
        let mut axes = Vec::new();
        if points.iter().any(|p| self.training_step(p).is_some()) {
            axes.push(XAxis::Step);
        }
        if points.iter().any(|p| p.epoch().is_some()) {
            axes.push(XAxis::Epoch);
        }
        if points.iter().any(|p| self.snapshot_of(p).is_some()) {
            axes.push(XAxis::Snapshot);
        }
        axes.push(XAxis::Time);
        let default = axes[0];
        (axes, default)
    }
}

/// The x of each point on an axis (`None` where it has none), in the order
/// given; points are expected in the store's order (by step) for `Epoch`.
pub fn x_values<P: SeriesPoint>(points: &[P], axis: XAxis, run: &RunAxes) -> Vec<Option<f64>> {
    match axis {
        XAxis::Step => points.iter().map(|p| run.training_step(p)).collect(),
        XAxis::Snapshot => points
            .iter()
            .map(|p| run.snapshot_of(p).map(|s| s as f64))
            .collect(),
        XAxis::Time => points
            .iter()
            .map(|p| Some(p.time() - run.started_at))
            .collect(),
        XAxis::Epoch => {
            let mut xs = vec![None; points.len()];
            let mut start = 0;
            while start < points.len() {
                let epoch = points[start].epoch();
                let mut end = start + 1;
                while end < points.len() && points[end].epoch() == epoch {
                    end += 1;
                }
                if let Some(e) = epoch {
                    let k = (end - start) as f64;
                    for (i, x) in xs[start..end].iter_mut().enumerate() {
                        *x = Some(e as f64 + i as f64 / k);
                    }
                }
                start = end;
            }
            xs
        }
    }
}

/// One series of a run with the x of each point (`run`: id prefix or `last`).
pub fn axis_series(store: &Store, run: &str, name: &str, axis: XAxis) -> QueryResult<AxisSeries> {
    let run = store.resolve_run(run)?;
    let axes = RunAxes::load(store, &run)?;
    let full = resolve_series(store, &run, name)?;
    let points = store.metric_series(&run, &full)?;
    let xs = x_values(&points, axis, &axes);
    Ok(AxisSeries {
        run,
        name: full,
        x_axis: axis,
        points: points
            .into_iter()
            .zip(xs)
            .map(|(point, x)| AxisPoint { point, x })
            .collect(),
    })
}

/// Where a run's snapshots fall on a series' x axis, sorted by x, one per
/// x (the last snapshot there), as `(x, seq)`:
/// - `Step`: a snapshot's training step (see `RunAxes::new`; else its
///   epoch) when the series holds points the agent saw at snapshots; for a
///   series of points logged between snapshots only, the step of its last
///   point logged at or before the snapshot (snapshots before its first
///   point are left out);
/// - `Snapshot`: the snapshot's seq;
/// - `Time`: the snapshot's time since the run started;
/// - `Epoch`: the snapshot's completed iterations of the outermost loop
///   (snapshots outside any loop are left out).
pub fn snapshot_positions<P: SeriesPoint>(
    snapshots: &[SnapshotMeta],
    points: &[P],
    axis: XAxis,
    run: &RunAxes,
) -> Vec<(f64, i64)> {
    let mut xs: Vec<(f64, i64)> = match axis {
        XAxis::Time => snapshots
            .iter()
            .map(|s| (s.time - run.started_at, s.seq))
            .collect(),
        XAxis::Snapshot => snapshots.iter().map(|s| (s.seq as f64, s.seq)).collect(),
        XAxis::Epoch => snapshots
            .iter()
            .filter_map(|s| s.loops.first().map(|&e| (e as f64, s.seq)))
            .collect(),
        XAxis::Step if points.iter().any(|p| p.seq().is_some()) => snapshots
            .iter()
            .filter_map(|s| {
                run.steps
                    .get(&s.seq)
                    .copied()
                    .or(s.loops.first().map(|&e| e as f64))
                    .map(|x| (x, s.seq))
            })
            .collect(),
        XAxis::Step => {
            let mut by_time: Vec<(f64, f64)> =
                points.iter().map(|p| (p.time(), p.step())).collect();
            if !by_time.is_sorted_by(|a, b| a.0 <= b.0) {
                by_time.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            snapshots
                .iter()
                .filter_map(|s| {
                    let n = by_time.partition_point(|&(t, _)| t <= s.time);
                    n.checked_sub(1).map(|i| (by_time[i].1, s.seq))
                })
                .collect()
        }
    };
    xs.retain(|x| x.0.is_finite());
    // Stable: among snapshots at one x, the last taken stays last.
    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, i64)> = Vec::with_capacity(xs.len());
    for (x, seq) in xs {
        match out.last_mut() {
            Some(last) if last.0 == x => last.1 = seq,
            _ => out.push((x, seq)),
        }
    }
    out
}

/// Keeps the positions inside `[min, max]` and at most one per pixel column
/// when there are more than twice as many as columns.
fn fit_positions(mut xs: Vec<(f64, i64)>, opts: &ViewOptions) -> Vec<(f64, i64)> {
    xs.retain(|&(x, _)| opts.x_min.is_none_or(|m| x >= m) && opts.x_max.is_none_or(|m| x <= m));
    let width = opts.width_px.max(1) as usize;
    if xs.len() <= 2 * width {
        return xs;
    }
    let (first, last) = (xs[0].0, xs[xs.len() - 1].0);
    let columns = Columns::new(
        opts.x_min.unwrap_or(first),
        opts.x_max.unwrap_or(last),
        width,
    );
    let mut previous = usize::MAX;
    xs.retain(|&(x, _)| {
        let col = columns.of(x);
        let keep = col != previous;
        previous = col;
        keep
    });
    xs
}

/// One series of a run loaded for drawing on one axis: every point as
/// (x, value) sorted by x, and where the run's snapshots fall. Cutting,
/// smoothing and decimating it (`view`) reads nothing more, so a front end
/// that keeps it answers zooms and pans in milliseconds.
#[derive(Clone, Debug)]
pub struct LoadedSeries {
    pub run: String,
    pub name: String,
    pub x_axis: XAxis,
    xy: Vec<[f64; 2]>,
    total_points: usize,
    no_x: usize,
    positions: Vec<(f64, i64)>,
}

impl LoadedSeries {
    /// Reads a series (`run`: an id prefix or `last`; `name`: a full series
    /// name or its last part) and the run's snapshots.
    pub fn load(store: &Store, run: &str, name: &str, axis: XAxis) -> QueryResult<LoadedSeries> {
        let run = store.resolve_run(run)?;
        let full = match resolve_series(store, &run, name) {
            Err(QueryError::UnknownSeries { .. }) if list_all_series(store, &run)?.is_empty() => {
                return Err(QueryError::NoSeries(run));
            }
            resolved => resolved?,
        };
        // With positions: a framework's global step is recorded there.
        let snapshots = store.snapshots(&run)?;
        let axes = RunAxes::new(store.run(&run)?.started_at, &snapshots);
        let points = store.metric_points(&run, &full)?;
        let xs = x_values(&points, axis, &axes);
        let mut xy: Vec<[f64; 2]> = Vec::with_capacity(points.len());
        let mut no_x = 0;
        for (p, x) in points.iter().zip(&xs) {
            match x {
                Some(x) if x.is_finite() => xy.push([*x, p.value]),
                _ => no_x += 1,
            }
        }
        if !xy.is_sorted_by(|a, b| a[0] <= b[0]) {
            // Stable: points at the same x keep the store's (step) order.
            xy.sort_by(|a, b| a[0].total_cmp(&b[0]));
        }
        let positions = snapshot_positions(&snapshots, &points, axis, &axes);
        Ok(LoadedSeries {
            run,
            name: full,
            x_axis: axis,
            xy,
            total_points: points.len(),
            no_x,
            positions,
        })
    }

    /// Points of the whole series (also those with no x on this axis).
    pub fn total_points(&self) -> usize {
        self.total_points
    }

    /// The series cut, smoothed and decimated as `opts` asks (its axis must
    /// be the one loaded).
    pub fn view(&self, opts: &ViewOptions) -> QueryResult<SeriesView> {
        opts.validate()?;
        if opts.x_axis != self.x_axis {
            return Err(QueryError::InvalidView(format!(
                "the series was loaded on the {} axis, not {}",
                self.x_axis, opts.x_axis
            )));
        }
        let fit = fit_positions(self.positions.clone(), opts);
        Ok(SeriesView {
            run: self.run.clone(),
            name: self.name.clone(),
            x_axis: self.x_axis,
            data: decimate(&self.xy, opts)?,
            total_points: self.total_points,
            no_x: self.no_x,
            snapshots: fit.iter().map(|p| p.0).collect(),
            snapshot_seqs: fit.iter().map(|p| p.1).collect(),
        })
    }
}

/// A series of a run cut, smoothed and decimated for drawing (`run`: an id
/// prefix or `last`; `name`: a full series name or its last part).
pub fn series_view(
    store: &Store,
    run: &str,
    name: &str,
    opts: &ViewOptions,
) -> QueryResult<SeriesView> {
    opts.validate()?;
    LoadedSeries::load(store, run, name, opts.x_axis)?.view(opts)
}

/// Maps x to a pixel column of a range.
#[derive(Clone, Copy)]
struct Columns {
    start: f64,
    scale: f64,
    last: usize,
}

impl Columns {
    fn new(start: f64, end: f64, width: usize) -> Columns {
        let span = end - start;
        Columns {
            start,
            scale: if span > 0.0 { width as f64 / span } else { 0.0 },
            last: width.saturating_sub(1),
        }
    }

    #[inline]
    fn of(&self, x: f64) -> usize {
        // `as usize` saturates: left of the range is column 0.
        (((x - self.start) * self.scale) as usize).min(self.last)
    }
}

#[derive(Clone, Copy)]
struct Kept {
    index: usize,
    x: f64,
    y: f64,
}

/// The first, min, max and last point of the current pixel column.
struct LineColumn {
    open: bool,
    col: usize,
    first: Kept,
    min: Kept,
    max: Kept,
    last: Kept,
}

impl LineColumn {
    fn new() -> LineColumn {
        let none = Kept {
            index: 0,
            x: 0.0,
            y: 0.0,
        };
        LineColumn {
            open: false,
            col: 0,
            first: none,
            min: none,
            max: none,
            last: none,
        }
    }

    #[inline]
    fn push(&mut self, col: usize, p: Kept, out: &mut Vec<[f64; 2]>) {
        if self.open && col == self.col {
            if p.y < self.min.y {
                self.min = p;
            }
            if p.y > self.max.y {
                self.max = p;
            }
            self.last = p;
        } else {
            self.flush(out);
            self.open = true;
            self.col = col;
            self.first = p;
            self.min = p;
            self.max = p;
            self.last = p;
        }
    }

    fn flush(&mut self, out: &mut Vec<[f64; 2]>) {
        if !self.open {
            return;
        }
        self.open = false;
        let (a, b) = if self.min.index <= self.max.index {
            (self.min, self.max)
        } else {
            (self.max, self.min)
        };
        let mut previous = usize::MAX;
        for p in [self.first, a, b, self.last] {
            if p.index != previous {
                out.push([p.x, p.y]);
                previous = p.index;
            }
        }
    }
}

/// The non-finite points of the current pixel column, one slot per kind.
struct MarkerColumn {
    col: usize,
    slots: [Option<(f64, u64)>; 3],
}

impl MarkerColumn {
    const KINDS: [MarkerKind; 3] = [MarkerKind::Nan, MarkerKind::PosInf, MarkerKind::NegInf];

    fn push(&mut self, col: usize, x: f64, kind: MarkerKind, out: &mut Vec<Marker>) {
        if col != self.col {
            self.flush(out);
            self.col = col;
        }
        match &mut self.slots[kind.slot()] {
            Some((_, count)) => *count += 1,
            slot => *slot = Some((x, 1)),
        }
    }

    fn flush(&mut self, out: &mut Vec<Marker>) {
        let start = out.len();
        for (slot, kind) in self.slots.iter_mut().zip(Self::KINDS) {
            if let Some((x, count)) = slot.take() {
                out.push(Marker { x, kind, count });
            }
        }
        out[start..].sort_by(|a, b| a.x.total_cmp(&b.x));
    }
}

/// Bias-corrected exponential moving average (TensorBoard's smoothing).
struct Ema {
    weight: f64,
    rest: f64,
    last: f64,
    /// weight^n after n values; 0 once `1 - weight^n` rounds to 1.
    power: f64,
}

impl Ema {
    fn new(weight: f64) -> Ema {
        Ema {
            weight,
            rest: 1.0 - weight,
            last: 0.0,
            power: 1.0,
        }
    }

    #[inline]
    fn push(&mut self, v: f64) -> f64 {
        self.last = self.last * self.weight + self.rest * v;
        if self.power == 0.0 {
            return self.last;
        }
        self.power *= self.weight;
        if self.power < f64::EPSILON / 4.0 {
            // 1 - power is exactly 1.0 from here on: no more dividing.
            self.power = 0.0;
            return self.last;
        }
        self.last / (1.0 - self.power)
    }
}

/// Cuts `xy` (`[x, y]` sorted by x) to the range of `opts`, smooths and
/// decimates it to `opts.width_px` columns (see the module's notes).
pub fn decimate(xy: &[[f64; 2]], opts: &ViewOptions) -> QueryResult<Decimated> {
    opts.validate()?;
    debug_assert!(
        xy.is_sorted_by(|a, b| a[0] <= b[0]),
        "points must be sorted by x"
    );
    let lo = opts.x_min.map_or(0, |m| xy.partition_point(|p| p[0] < m));
    let hi = opts
        .x_max
        .map_or(xy.len(), |m| xy.partition_point(|p| p[0] <= m))
        .max(lo);
    let range = &xy[lo..hi];
    let width = opts.width_px as usize;
    let decimated = range.len() > 2 * width;
    let mut out = Decimated {
        raw_points: range.len(),
        decimated,
        ..Decimated::default()
    };
    let Some((first, last)) = range.first().zip(range.last()) else {
        out.smoothed = (opts.smoothing > 0.0).then(Vec::new);
        return Ok(out);
    };
    let drawable = |y: f64| !(opts.log_y && y <= 0.0);

    // Smoothing starts at the series' first point: warm up on what lies left of the range.
    let mut ema = (opts.smoothing > 0.0).then(|| Ema::new(opts.smoothing));
    if let Some(ema) = ema.as_mut() {
        for &[_, y] in &xy[..lo] {
            if y.is_finite() && drawable(y) {
                ema.push(y);
            }
        }
    }
    let capacity = if decimated { 4 * width } else { range.len() };
    out.points.reserve(capacity);
    let mut smoothed = ema.as_ref().map(|_| Vec::with_capacity(capacity));

    if !decimated {
        for &[x, y] in range {
            if let Some(kind) = MarkerKind::of(y) {
                out.markers.push(Marker { x, kind, count: 1 });
            } else if !drawable(y) {
                out.nonpositive += 1;
            } else {
                out.points.push([x, y]);
                if let (Some(ema), Some(s)) = (ema.as_mut(), smoothed.as_mut()) {
                    s.push([x, ema.push(y)]);
                }
            }
        }
        out.smoothed = smoothed;
        return Ok(out);
    }

    let columns = Columns::new(
        opts.x_min.unwrap_or(first[0]),
        opts.x_max.unwrap_or(last[0]),
        width,
    );
    let mut line = LineColumn::new();
    let mut smooth_line = LineColumn::new();
    let mut marks = MarkerColumn {
        col: usize::MAX,
        slots: [None; 3],
    };
    for (index, &[x, y]) in range.iter().enumerate() {
        if !y.is_finite() {
            if let Some(kind) = MarkerKind::of(y) {
                marks.push(columns.of(x), x, kind, &mut out.markers);
            }
            continue;
        }
        if !drawable(y) {
            out.nonpositive += 1;
            continue;
        }
        let col = columns.of(x);
        line.push(col, Kept { index, x, y }, &mut out.points);
        if let (Some(ema), Some(s)) = (ema.as_mut(), smoothed.as_mut()) {
            let y = ema.push(y);
            smooth_line.push(col, Kept { index, x, y }, s);
        }
    }
    line.flush(&mut out.points);
    if let Some(s) = smoothed.as_mut() {
        smooth_line.flush(s);
    }
    marks.flush(&mut out.markers);
    out.smoothed = smoothed;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(width: u32) -> ViewOptions {
        ViewOptions {
            width_px: width,
            ..ViewOptions::default()
        }
    }

    fn ramp(n: usize) -> Vec<[f64; 2]> {
        (0..n).map(|i| [i as f64, (i % 7) as f64]).collect()
    }

    #[test]
    fn a_spike_survives_decimation() {
        let mut xy = ramp(100_000);
        xy[54_321][1] = 1e6;
        xy[12_345][1] = -1e6;
        let d = decimate(&xy, &opts(100)).unwrap();
        assert!(d.decimated);
        assert_eq!(d.raw_points, 100_000);
        assert!(d.points.len() <= 400, "{}", d.points.len());
        assert!(d.points.contains(&[54_321.0, 1e6]));
        assert!(d.points.contains(&[12_345.0, -1e6]));
        // The first and last points stay, and x stays in order.
        assert_eq!(d.points.first(), Some(&[0.0, 0.0]));
        assert_eq!(d.points.last(), Some(&xy[99_999]));
        assert!(d.points.windows(2).all(|w| w[0][0] < w[1][0]));
    }

    #[test]
    fn a_nan_in_a_decimated_column_becomes_a_marker() {
        let mut xy = ramp(10_000);
        xy[5_000][1] = f64::NAN;
        xy[5_001][1] = f64::NAN;
        xy[7_000][1] = f64::INFINITY;
        xy[9_000][1] = f64::NEG_INFINITY;
        let d = decimate(&xy, &opts(50)).unwrap();
        assert!(d.decimated);
        assert_eq!(
            d.markers,
            vec![
                Marker {
                    x: 5_000.0,
                    kind: MarkerKind::Nan,
                    count: 2
                },
                Marker {
                    x: 7_000.0,
                    kind: MarkerKind::PosInf,
                    count: 1
                },
                Marker {
                    x: 9_000.0,
                    kind: MarkerKind::NegInf,
                    count: 1
                },
            ]
        );
        assert!(d.points.iter().all(|p| p[1].is_finite()));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["markers"][0]["kind"], "nan");
        assert_eq!(json["markers"][2]["kind"], "-inf");
    }

    #[test]
    fn narrowing_the_range_returns_raw_points() {
        let xy = ramp(1_000_000);
        let wide = decimate(&xy, &opts(1000)).unwrap();
        assert!(wide.decimated);
        assert!(wide.points.len() <= 4000);
        let narrow = ViewOptions {
            x_min: Some(500_000.0),
            x_max: Some(501_999.0),
            ..opts(1000)
        };
        let d = decimate(&xy, &narrow).unwrap();
        assert!(!d.decimated);
        assert_eq!(d.raw_points, 2000);
        assert_eq!(d.points, xy[500_000..502_000].to_vec());
        // One more point than twice the width: decimated again.
        let d = decimate(
            &xy,
            &ViewOptions {
                x_max: Some(502_000.0),
                ..narrow
            },
        )
        .unwrap();
        assert!(d.decimated);
        assert_eq!(d.raw_points, 2001);
    }

    #[test]
    fn a_range_outside_the_data_is_empty() {
        let xy = ramp(10);
        let d = decimate(
            &xy,
            &ViewOptions {
                x_min: Some(20.0),
                ..opts(100)
            },
        )
        .unwrap();
        assert_eq!(d.raw_points, 0);
        assert!(d.points.is_empty());
    }

    #[test]
    fn smoothing_is_bias_corrected() {
        let xy: Vec<[f64; 2]> = [10.0, 20.0, f64::NAN, 30.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| [i as f64, v])
            .collect();
        let d = decimate(
            &xy,
            &ViewOptions {
                smoothing: 0.6,
                ..opts(100)
            },
        )
        .unwrap();
        let s = d.smoothed.unwrap();
        // The first smoothed value is the first value (no pull toward 0).
        assert_eq!(s[0], [0.0, 10.0]);
        // Second: (0.4*10*0.6 + 0.4*20) / (1 - 0.36) = 16.25.
        assert!((s[1][1] - 16.25).abs() < 1e-12, "{s:?}");
        // The NaN skips the average and stays a marker.
        assert_eq!(s.len(), 3);
        assert_eq!(s[2][0], 3.0);
        assert_eq!(d.markers.len(), 1);
        // No smoothing asked: null, not an empty line.
        assert_eq!(decimate(&xy, &opts(100)).unwrap().smoothed, None);
    }

    #[test]
    fn smoothing_ignores_the_view_range() {
        let xy: Vec<[f64; 2]> = (0..100).map(|i| [i as f64, (i * i) as f64]).collect();
        let o = ViewOptions {
            smoothing: 0.9,
            ..opts(1000)
        };
        let all = decimate(&xy, &o).unwrap().smoothed.unwrap();
        let part = decimate(
            &xy,
            &ViewOptions {
                x_min: Some(50.0),
                ..o
            },
        )
        .unwrap()
        .smoothed
        .unwrap();
        assert_eq!(part, all[50..].to_vec());
    }

    #[test]
    fn log_y_leaves_out_nonpositive_values() {
        let xy = vec![
            [0.0, 1.0],
            [1.0, 0.0],
            [2.0, -3.0],
            [3.0, 10.0],
            [4.0, f64::NAN],
        ];
        let d = decimate(
            &xy,
            &ViewOptions {
                log_y: true,
                smoothing: 0.5,
                ..opts(100)
            },
        )
        .unwrap();
        assert_eq!(d.points, vec![[0.0, 1.0], [3.0, 10.0]]);
        assert_eq!(d.nonpositive, 2);
        assert_eq!(d.raw_points, 5);
        assert_eq!(d.markers.len(), 1);
        assert!(d.smoothed.unwrap().iter().all(|p| p[1] > 0.0));
    }

    #[test]
    fn an_empty_series_draws_nothing() {
        let d = decimate(&[], &opts(100)).unwrap();
        assert_eq!(d, Decimated::default());
        let d = decimate(
            &[],
            &ViewOptions {
                smoothing: 0.5,
                ..opts(100)
            },
        )
        .unwrap();
        assert_eq!(d.smoothed, Some(vec![]));
    }

    #[test]
    fn bad_options_are_named() {
        let err = |o: ViewOptions| decimate(&[], &o).unwrap_err().to_string();
        assert!(err(opts(0)).contains("width"));
        assert!(err(ViewOptions {
            smoothing: 1.0,
            ..opts(10)
        })
        .contains("smoothing"));
        assert!(err(ViewOptions {
            x_min: Some(3.0),
            x_max: Some(1.0),
            ..opts(10)
        })
        .contains("start (3) is after its end (1)"));
        assert!("epochs"
            .parse::<XAxis>()
            .unwrap_err()
            .to_string()
            .contains("step, epoch, snapshot or time"));
        assert_eq!("time".parse::<XAxis>().unwrap(), XAxis::Time);
    }

    fn point(step: f64, epoch: Option<i64>, seq: Option<i64>, time: f64) -> MetricPoint {
        MetricPoint {
            name: "loss".into(),
            step,
            value: 1.0,
            time,
            seq,
            epoch,
        }
    }

    #[test]
    fn epochs_spread_points_that_share_one() {
        let points = vec![
            point(0.0, None, Some(0), 100.0),
            point(1.0, Some(0), None, 101.0),
            point(1.0, Some(0), None, 102.0),
            point(1.0, Some(0), None, 103.0),
            point(1.0, Some(0), None, 104.0),
            point(1.0, Some(1), Some(1), 105.0),
        ];
        let none = RunAxes::new(100.0, &[]);
        assert_eq!(
            x_values(&points, XAxis::Epoch, &none),
            vec![
                None,
                Some(0.0),
                Some(0.25),
                Some(0.5),
                Some(0.75),
                Some(1.0)
            ]
        );
        assert_eq!(x_values(&points, XAxis::Time, &none)[5], Some(5.0));
        assert_eq!(x_values(&points, XAxis::Step, &none)[1], Some(1.0));
    }

    fn snapshot(seq: i64, time: f64, loops: Vec<i64>) -> SnapshotMeta {
        SnapshotMeta {
            seq,
            trigger: snapline_store::Trigger::Iteration,
            file: None,
            line: None,
            loops,
            label: None,
            time,
            capture_ms: 0.0,
            bytes_new: 0,
            bytes_reused: 0,
            objects: 0,
            nonfinite: 0,
            position: None,
        }
    }

    #[test]
    fn snapshots_fall_on_each_axis() {
        let snaps = vec![
            snapshot(0, 100.0, vec![]),
            snapshot(1, 102.5, vec![1]),
            snapshot(2, 110.0, vec![2]),
        ];
        let seen = vec![point(1.0, Some(1), Some(1), 102.5)];
        let axes = RunAxes::new(100.0, &snaps);
        let xs = |pos: Vec<(f64, i64)>| pos.into_iter().map(|p| p.0).collect::<Vec<f64>>();
        // The loop's count; the snapshot before the loop has no step.
        assert_eq!(
            snapshot_positions(&snaps, &seen, XAxis::Step, &axes),
            vec![(1.0, 1), (2.0, 2)]
        );
        assert_eq!(
            xs(snapshot_positions(&snaps, &seen, XAxis::Snapshot, &axes)),
            vec![0.0, 1.0, 2.0]
        );
        assert_eq!(
            xs(snapshot_positions(&snaps, &seen, XAxis::Time, &axes)),
            vec![0.0, 2.5, 10.0]
        );
        assert_eq!(
            xs(snapshot_positions(&snaps, &seen, XAxis::Epoch, &axes)),
            vec![1.0, 2.0]
        );
        // Logged points with their own steps: the step reached at the snapshot.
        let logged = vec![
            point(100.0, None, None, 101.0),
            point(200.0, None, None, 105.0),
        ];
        assert_eq!(
            xs(snapshot_positions(&snaps, &logged, XAxis::Step, &axes)),
            vec![100.0, 200.0]
        );
        // Two snapshots at one x: the later one is what a click opens.
        let same = vec![snapshot(3, 111.0, vec![2]), snapshot(4, 112.0, vec![2])];
        assert_eq!(
            snapshot_positions(&same, &seen, XAxis::Epoch, &axes),
            vec![(2.0, 4)]
        );
    }

    fn framework_snapshot(seq: i64, time: f64, global_step: i64) -> SnapshotMeta {
        SnapshotMeta {
            position: Some(serde_json::json!({
                "at": "framework",
                "framework": {"name": "transformers", "global_step": global_step}
            })),
            ..snapshot(seq, time, vec![0])
        }
    }

    #[test]
    fn the_step_axis_is_the_training_step() {
        // A framework run: snapshots carry the global step, logged points have it.
        let snaps = vec![
            snapshot(0, 100.0, vec![]),
            framework_snapshot(1, 101.0, 50),
            framework_snapshot(2, 102.0, 100),
        ];
        let axes = RunAxes::new(100.0, &snaps);
        let seen = vec![
            point(1.0, Some(0), Some(1), 101.0),
            point(2.0, Some(0), Some(2), 102.0),
        ];
        assert_eq!(
            x_values(&seen, XAxis::Step, &axes),
            vec![Some(50.0), Some(100.0)]
        );
        assert_eq!(
            x_values(&seen, XAxis::Snapshot, &axes),
            vec![Some(1.0), Some(2.0)]
        );
        let logged = vec![point(75.0, Some(0), None, 101.5)];
        assert_eq!(x_values(&logged, XAxis::Step, &axes), vec![Some(75.0)]);
        // Logged between snapshots 1 and 2: it belongs to snapshot 1.
        assert_eq!(x_values(&logged, XAxis::Snapshot, &axes), vec![Some(1.0)]);
        assert_eq!(
            axes.axes_of(&seen),
            (
                vec![XAxis::Step, XAxis::Epoch, XAxis::Snapshot, XAxis::Time],
                XAxis::Step
            )
        );

        // A plain loop: the loop's count of the snapshot.
        let looped = RunAxes::new(100.0, &[snapshot(5, 101.0, vec![3])]);
        let p = point(5.0, Some(3), Some(5), 101.0);
        assert_eq!(looped.training_step(&p), Some(3.0));

        // Nested loops and no framework: the epoch is the step.
        let nested = RunAxes::new(100.0, &[snapshot(7, 101.0, vec![2, 9])]);
        let p = point(7.0, Some(2), Some(7), 101.0);
        assert_eq!(nested.training_step(&p), Some(2.0));

        // After the loop, outside it: the last step reached.
        let after = RunAxes::new(
            100.0,
            &[snapshot(4, 101.0, vec![4]), snapshot(5, 102.0, vec![])],
        );
        assert_eq!(
            after.training_step(&point(5.0, None, Some(5), 102.0)),
            Some(4.0)
        );

        // Before any loop, no framework, no epoch: no step; snapshot is the default.
        let flat = RunAxes::new(100.0, &[snapshot(0, 100.5, vec![])]);
        let p = point(0.0, None, Some(0), 100.5);
        assert_eq!(flat.training_step(&p), None);
        assert_eq!(
            flat.axes_of(&[p]),
            (vec![XAxis::Snapshot, XAxis::Time], XAxis::Snapshot)
        );
    }

    #[test]
    fn a_stored_series_is_viewed_with_its_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        let info = snapline_store::RunInfo {
            script: "train.py".into(),
            started_at: 100.0,
            lineage: serde_json::json!({}),
            parent_run: None,
            parent_seq: None,
        };
        let empty = store.begin_run(&info).unwrap();
        let run = store.begin_run(&info).unwrap();
        for seq in 0..3 {
            let mut loss = point(seq as f64, Some(seq), Some(seq), 100.0 + seq as f64);
            loss.name = "train:loss".into();
            loss.value = [2.0, f64::NAN, 0.5][seq as usize];
            store
                .commit_snapshot(&snapline_store::SnapshotCommit {
                    run_id: run.clone(),
                    meta: snapshot(seq, 100.0 + seq as f64, vec![seq]),
                    chunks: vec![],
                    objects: vec![],
                    entries: vec![],
                    metrics: vec![loss],
                })
                .unwrap();
        }
        let o = ViewOptions {
            x_axis: XAxis::Time,
            smoothing: 0.5,
            ..opts(100)
        };
        let v = series_view(&store, &run, "loss", &o).unwrap();
        assert_eq!(v.name, "train:loss");
        assert_eq!(v.data.points, vec![[0.0, 2.0], [2.0, 0.5]]);
        assert_eq!(v.data.markers[0].kind, MarkerKind::Nan);
        assert_eq!(v.snapshots, vec![0.0, 1.0, 2.0]);
        assert_eq!((v.total_points, v.no_x, v.data.raw_points), (3, 0, 3));
        let json = serde_json::to_value(&v).unwrap();
        for field in [
            "run",
            "name",
            "x_axis",
            "points",
            "markers",
            "smoothed",
            "raw_points",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
        assert_eq!(json["x_axis"], "time");

        let err = series_view(&store, &run, "acc", &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'acc'") && err.contains("train:loss"), "{err}");
        let err = series_view(&store, &empty, "loss", &o).unwrap_err();
        assert!(matches!(err, QueryError::NoSeries(_)), "{err}");

        let a = axis_series(&store, "last", "loss", XAxis::Epoch).unwrap();
        assert_eq!(a.points[2].x, Some(2.0));
    }

    #[test]
    fn many_snapshot_positions_keep_one_per_column() {
        let xs: Vec<f64> = (0..10_000).map(f64::from).collect();
        let fit = fit_positions(xs.into_iter().map(|x| (x, x as i64)).collect(), &opts(100));
        assert_eq!(fit.len(), 100);
        assert_eq!(fit[0], (0.0, 0));
    }
}
