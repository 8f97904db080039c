//! `snapline plot [RUN...] SERIES... -o FILE`: metric series of one or more
//! runs drawn on one chart (PNG or SVG), decimated to the chart's width.

use std::path::{Path, PathBuf};

use anyhow::bail;
use snapline_plot::{write_image, ChartOptions, ImageFormat};
use snapline_query::{series_view, QueryError, SeriesView, Store, ViewOptions, XAxis};

use crate::commands::metrics::AxisArg;
use crate::commands::{open_store, print_json};

#[derive(clap::Args)]
pub struct PlotArgs {
    /// Runs (id prefixes or `last`; none: the last run), then series names
    /// (a full name or its last part: `loss` finds `train:loss`). The last
    /// argument is always a series.
    #[arg(required = true, value_name = "RUN|SERIES")]
    args: Vec<String>,

    /// The image to write, FILE.png or FILE.svg (written whole or not at
    /// all). Needed unless --json asks for the data only.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// The x axis: step, epoch (completed iterations of the outermost
    /// loop) or time (seconds since each run started).
    #[arg(long = "x", value_name = "AXIS", value_enum, default_value_t = AxisArg::Step)]
    x: AxisArg,

    /// Smooth each series with an exponential moving average of this
    /// weight (0 to below 1; 0.6 is TensorBoard's default). The raw values
    /// stay, drawn faint.
    #[arg(long, value_name = "W", default_value_t = 0.0)]
    smooth: f64,

    /// A logarithmic y axis (values <= 0 are left out).
    #[arg(long)]
    log_y: bool,

    /// Image width in pixels.
    #[arg(long, default_value_t = 1280)]
    width: u32,

    /// Image height in pixels.
    #[arg(long, default_value_t = 720)]
    height: u32,

    /// Start of the x range (full resolution comes back as the range narrows).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    from: Option<f64>,

    /// End of the x range (inclusive).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    to: Option<f64>,

    /// The chart's title (default: the series and their runs).
    #[arg(long)]
    title: Option<String>,
}

pub fn plot(store: &Path, args: PlotArgs, json: bool) -> anyhow::Result<()> {
    // Cheap checks first: a bad option fails before the store is read.
    if let Some(output) = &args.output {
        ImageFormat::from_path(output)?;
    } else if !json {
        bail!("say where to draw the chart: -o FILE.png or -o FILE.svg (or --json for its data)");
    }
    let chart = ChartOptions {
        width: args.width,
        height: args.height,
        title: args.title.clone(),
        log_y: args.log_y,
        x_min: args.from,
        x_max: args.to,
    };
    chart.validate()?;
    let view = ViewOptions {
        x_axis: XAxis::from(args.x),
        x_min: args.from,
        x_max: args.to,
        width_px: args.width,
        smoothing: args.smooth,
        log_y: args.log_y,
    };
    view.validate()?;

    let store = open_store(store)?;
    let (runs, names) = split_runs(&store, &args.args)?;
    let mut views: Vec<SeriesView> = Vec::with_capacity(runs.len() * names.len());
    for (i, name) in names.iter().enumerate() {
        for run in &runs {
            match series_view(&store, run, name, &view) {
                Ok(v) => views.push(v),
                // The first of several names may have been meant as a run.
                Err(QueryError::UnknownSeries { available, .. }) if i == 0 && names.len() > 1 => {
                    bail!(
                        "'{name}' is neither a run (an id prefix or `last`) nor a series of run {run} (it has: {available})"
                    )
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    for v in &views {
        if v.total_points > 0 && v.no_x == v.total_points {
            eprintln!(
                "snapline: note: {} of run {} has no point on the {} axis",
                v.name, v.run, v.x_axis
            );
        }
    }

    if let Some(output) = &args.output {
        write_image(output, &views, &chart)?;
        if !json {
            let drawn: usize = views.iter().map(|v| v.data.points.len()).sum();
            let raw: usize = views.iter().map(|v| v.data.raw_points).sum();
            say!(
                "wrote {}: {} series of {} run{}, {drawn} points drawn for {raw}",
                output.display(),
                views.len(),
                runs.len(),
                if runs.len() == 1 { "" } else { "s" },
            );
        }
    }
    if json {
        print_json(&views)?;
    }
    Ok(())
}

/// Leading arguments that name runs are runs; the rest (at least the last
/// one) are series names. No run named: the last run.
fn split_runs<'a>(
    store: &Store,
    args: &'a [String],
) -> anyhow::Result<(Vec<String>, &'a [String])> {
    let mut runs: Vec<String> = Vec::new();
    let mut first_series = 0;
    while first_series + 1 < args.len() {
        match store.resolve_run(&args[first_series]) {
            Ok(id) => {
                if !runs.contains(&id) {
                    runs.push(id);
                }
                first_series += 1;
            }
            Err(_) => break,
        }
    }
    if runs.is_empty() {
        runs.push(store.resolve_run("last")?);
    }
    Ok((runs, &args[first_series..]))
}
