//! Draws the store-growth chart of bench/workloads_bench.py with plotters
//! (through snapline-plot, the renderer `snapline plot` uses):
//!
//!     growth_plot IN.json OUT.png
//!
//! IN.json: `{"title": "...", "series": [{"name": "...", "points": [[s, MB], ...]}]}`,
//! one series per contender: megabytes stored against seconds since start.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use snapline_plot::{write_image, ChartOptions};
use snapline_query::{Decimated, SeriesView, XAxis};

fn series_of(entry: &Value) -> Option<SeriesView> {
    let name = entry.get("name")?.as_str()?.to_owned();
    let points: Vec<[f64; 2]> = entry
        .get("points")?
        .as_array()?
        .iter()
        .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
        .collect();
    Some(SeriesView {
        run: name,
        name: "MB stored".to_owned(),
        x_axis: XAxis::Time,
        total_points: points.len(),
        data: Decimated {
            raw_points: points.len(),
            points,
            ..Decimated::default()
        },
        no_x: 0,
        snapshots: Vec::new(),
        snapshot_seqs: Vec::new(),
    })
}

fn run(input: PathBuf, output: PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(&input)
        .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", input.display()))?;
    let series: Vec<SeriesView> = doc
        .get("series")
        .and_then(Value::as_array)
        .map(|all| all.iter().filter_map(series_of).collect())
        .unwrap_or_default();
    if series.is_empty() {
        return Err(format!("{}: no series to draw", input.display()));
    }
    let opts = ChartOptions {
        width: 1100,
        height: 520,
        title: doc.get("title").and_then(Value::as_str).map(str::to_owned),
        ..ChartOptions::default()
    };
    write_image(&output, &series, &opts)
        .map_err(|e| format!("cannot draw {}: {e}", output.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(input), Some(output), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: growth_plot IN.json OUT.png");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
