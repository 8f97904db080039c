use std::path::Path;

use snapline_query::{axis_series, list_all_series, list_series, AxisSeries, XAxis};

use crate::commands::{open_store, print_json};
use crate::format;

/// `--x`: what the x of a point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AxisArg {
    /// The training step: the framework's global step, else the loop's
    /// iteration count (the step given to `snapline.log`), else the epoch.
    Step,
    /// The snapshot the point was taken at (or the last one before it).
    Snapshot,
    /// Completed iterations of the outermost loop (several points in one epoch are spread over it).
    Epoch,
    /// Seconds since the run started.
    Time,
}

impl From<AxisArg> for XAxis {
    fn from(axis: AxisArg) -> XAxis {
        match axis {
            AxisArg::Step => XAxis::Step,
            AxisArg::Snapshot => XAxis::Snapshot,
            AxisArg::Epoch => XAxis::Epoch,
            AxisArg::Time => XAxis::Time,
        }
    }
}

pub fn metrics(
    store: &Path,
    run: &str,
    names: &[String],
    axis: XAxis,
    include_constants: bool,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let run = store.resolve_run(run)?;
    if names.is_empty() {
        let all = if include_constants {
            list_all_series(&store, &run)?
        } else {
            list_series(&store, &run)?
        };
        if json {
            let series = all
                .iter()
                .map(|s| axis_series(&store, &run, &s.name, axis))
                .collect::<Result<Vec<_>, _>>()?;
            return print_json(&series);
        }
        if all.is_empty() {
            say!("run {run} has no metric series yet");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = all
            .iter()
            .map(|s| vec![s.name.clone(), s.points.to_string()])
            .collect();
        format::table(&["SERIES", "POINTS"], &rows);
        return Ok(());
    }
    let series = names
        .iter()
        .map(|n| axis_series(&store, &run, n, axis))
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        return print_json(&series);
    }
    for s in &series {
        say!("{} (run {})", s.name, s.run);
        print_points(s);
    }
    Ok(())
}

/// The points of a series ordered by the axis, its value in the first
/// column (points without one last).
fn print_points(s: &AxisSeries) {
    let row = |p: &snapline_query::AxisPoint| {
        vec![
            format::number(p.point.step),
            p.point.epoch.map(|e| e.to_string()).unwrap_or_default(),
            p.point
                .seq
                .map(|e| e.to_string())
                .unwrap_or_else(|| "log".into()),
            format::number(p.point.value),
        ]
    };
    let header = ["STORED STEP", "EPOCH", "SNAPSHOT", "VALUE"];
    let mut points: Vec<&snapline_query::AxisPoint> = s.points.iter().collect();
    points.sort_by(|a, b| match (a.x, b.x) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => b.is_some().cmp(&a.is_some()),
    });
    let title = match s.x_axis {
        XAxis::Time => "TIME (S)",
        XAxis::Step => "STEP",
        XAxis::Snapshot => "X (SNAPSHOT)",
        XAxis::Epoch => "X (EPOCH)",
    };
    let rows: Vec<Vec<String>> = points
        .into_iter()
        .map(|p| {
            let mut cells = vec![p.x.map(format::number).unwrap_or_else(|| "-".into())];
            cells.extend(row(p));
            cells
        })
        .collect();
    let mut with_x = vec![title];
    with_x.extend(header);
    format::table(&with_x, &rows);
}
