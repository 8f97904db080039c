//! Metric series: scalars the agent saw at snapshots and `snapline.log()` points.

use serde::Serialize;
use snapline_store::{MetricPoint, Store};

use crate::error::{QueryError, QueryResult};
use crate::series::{RunAxes, XAxis};

/// A series name and its size (`snapline metrics RUN --json` without names).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeriesInfo {
    pub name: String,
    pub points: i64,
    /// The x axes it can be drawn on (`step` where its points have a
    /// training step, `epoch`, `snapshot`, `time`), judged by its last point.
    pub axes: Vec<XAxis>,
    /// The axis to draw it on first: the first of `axes`.
    pub default_axis: XAxis,
}

/// A whole series.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Series {
    pub run: String,
    pub name: String,
    pub points: Vec<MetricPoint>,
}

/// Finds the series a user means: the exact name, or the one series whose
/// last component is that name (`loss` finds `train:loss` or `stats["loss"]`).
pub fn resolve_series(store: &Store, run: &str, name: &str) -> QueryResult<String> {
    let names = store.series_names(run)?;
    if names.iter().any(|n| n == name) {
        return Ok(name.to_owned());
    }
    let quoted = format!("[{}]", serde_json::Value::String(name.to_owned()));
    let matches: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.strip_suffix(name)
                .is_some_and(|head| head.ends_with(':') || head.ends_with('.'))
                || n.ends_with(&quoted)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(QueryError::UnknownSeries {
            run: run.to_owned(),
            name: name.to_owned(),
            available: if names.is_empty() {
                "no series".into()
            } else {
                names.join(", ")
            },
        }),
        many => Err(QueryError::AmbiguousSeries {
            run: run.to_owned(),
            name: name.to_owned(),
            matches: many
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The metric series of a run with their point counts: series whose value
/// changed at least once. A value that never changed (a layer size, a
/// constant learning rate) stays a variable, not a curve; `list_all_series`
/// has those too.
pub fn list_series(store: &Store, run: &str) -> QueryResult<Vec<SeriesInfo>> {
    let mut out = Vec::new();
    for info in list_all_series(store, run)? {
        if info.points > 1 && store.series_varies(run, &info.name)? {
            out.push(info);
        }
    }
    Ok(out)
}

/// Every series of a run with its point count, constants included.
pub fn list_all_series(store: &Store, run: &str) -> QueryResult<Vec<SeriesInfo>> {
    let names = store.metric_names(run)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let axes = RunAxes::load(store, run)?;
    let mut out = Vec::with_capacity(names.len());
    for (name, points) in names {
        let last: Vec<_> = store.last_point(run, &name)?.into_iter().collect();
        let (axes, default_axis) = axes.axes_of(&last);
        out.push(SeriesInfo {
            name,
            points,
            axes,
            default_axis,
        });
    }
    Ok(out)
}

/// The points of one series (resolved as in `resolve_series`).
pub fn metric_series(store: &Store, run: &str, name: &str) -> QueryResult<Series> {
    let full = resolve_series(store, run, name)?;
    let points = store.metric_series(run, &full)?;
    Ok(Series {
        run: run.to_owned(),
        name: full,
        points,
    })
}
