//! One chart per metric series, on the snapshot axis (x is the seq of the
//! snapshot a point was taken at or follows, so charts line up with the
//! timeline and the cursor): the points query decimated to the chart's width, the smoothed line, NaN/Inf markers along the top, a tick per
//! snapshot along the bottom, the cursor, the value under the pointer. A
//! click moves the cursor to the snapshot there.

use std::collections::HashMap;

use eframe::egui::{self, Color32};
use egui_plot::{HoverPosition, Line, MarkerShape, Plot, PlotPoint, Points, VLine};
use snapline_query::{MarkerKind, ViewOptions, XAxis};

use crate::panels::{colors, number};
use crate::state::ViewerState;

/// The charts' settings and their drawn points, kept between frames.
pub struct ChartPanel {
    /// EMA weight in [0, 1): 0 is no smoothing.
    pub smoothing: f64,
    pub log_y: bool,
    views: HashMap<String, DrawnSeries>,
}

impl Default for ChartPanel {
    fn default() -> Self {
        ChartPanel {
            smoothing: 0.0,
            log_y: false,
            views: HashMap::new(),
        }
    }
}

/// What a chart shows, for tests and the bench.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSummary {
    pub points: usize,
    pub smoothed: bool,
    pub log_y: bool,
    /// NaN, +Inf and -Inf markers.
    pub markers: [usize; 3],
    pub snapshot_ticks: usize,
}

impl ChartPanel {
    /// What the chart of series `name` last drew.
    pub fn summary(&self, name: &str) -> Option<ChartSummary> {
        self.views.get(name).map(|d| ChartSummary {
            points: d.line.len(),
            smoothed: d.smoothed.is_some(),
            log_y: d.key.log_y,
            markers: [d.markers[0].len(), d.markers[1].len(), d.markers[2].len()],
            snapshot_ticks: d.ticks.len(),
        })
    }
}

/// What the view was made for: it is rebuilt when any of it changes.
#[derive(Clone, Copy, PartialEq)]
struct ViewKey {
    generation: u64,
    width_px: u32,
    smoothing: f64,
    log_y: bool,
}

/// A series ready to draw (y as log10 on a log chart).
struct DrawnSeries {
    key: ViewKey,
    line: Vec<PlotPoint>,
    smoothed: Option<Vec<PlotPoint>>,
    markers: [Vec<PlotPoint>; 3],
    ticks: Vec<PlotPoint>,
    raw_points: usize,
    total_points: usize,
    decimated: bool,
    nonpositive: usize,
}

fn build(
    series: &snapline_query::LoadedSeries,
    key: ViewKey,
) -> Result<DrawnSeries, snapline_query::QueryError> {
    let view = series.view(&ViewOptions {
        x_axis: XAxis::Snapshot,
        x_min: None,
        x_max: None,
        width_px: key.width_px,
        smoothing: key.smoothing,
        log_y: key.log_y,
    })?;
    let y = |v: f64| if key.log_y { v.log10() } else { v };
    let to_points = |xy: &[[f64; 2]]| -> Vec<PlotPoint> {
        xy.iter().map(|p| PlotPoint::new(p[0], y(p[1]))).collect()
    };
    let line = to_points(&view.data.points);
    let (mut lo, mut hi) = line
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.y), b.max(p.y))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let mut markers: [Vec<PlotPoint>; 3] = Default::default();
    for m in &view.data.markers {
        let slot = match m.kind {
            MarkerKind::Nan => 0,
            MarkerKind::PosInf => 1,
            MarkerKind::NegInf => 2,
        };
        let at = if m.kind == MarkerKind::NegInf { lo } else { hi };
        markers[slot].push(PlotPoint::new(m.x, at));
    }
    let ticks = view
        .snapshots
        .iter()
        .map(|&x| PlotPoint::new(x, lo))
        .collect();
    Ok(DrawnSeries {
        key,
        line,
        smoothed: view.data.smoothed.as_deref().map(to_points),
        markers,
        ticks,
        raw_points: view.data.raw_points,
        total_points: view.total_points,
        decimated: view.data.decimated,
        nonpositive: view.data.nonpositive,
    })
}

pub fn show(ui: &mut egui::Ui, panel: &mut ChartPanel, state: &mut ViewerState) {
    ui.horizontal(|ui| {
        ui.heading("Metrics");
        ui.separator();
        let label = ui.label("smoothing");
        ui.add(egui::Slider::new(&mut panel.smoothing, 0.0..=0.99).fixed_decimals(2))
            .labelled_by(label.id);
        ui.checkbox(&mut panel.log_y, "log y");
    });
    let Some(run) = &state.run else {
        ui.weak("No run open.");
        return;
    };
    if run.series.is_empty() {
        ui.weak("This run has no metric series (numeric scalars become series when a snapshot sees them; `snapline.log()` adds points).");
        return;
    }
    let cursor_x = run.cursor_row().map(|r| r.seq as f64);
    let mut seek = None;
    let generation = run.generation;
    egui::ScrollArea::vertical().show(ui, |ui| {
        for slot in &run.series {
            let name = slot.info.name.as_str();
            let Some(loaded) = &slot.loaded else {
                ui.horizontal(|ui| {
                    ui.strong(name);
                    match &slot.failed {
                        Some(e) => ui.colored_label(colors::NAN, e),
                        None => {
                            ui.spinner();
                            ui.weak(format!("reading {} points", slot.info.points))
                        }
                    };
                });
                continue;
            };
            let key = ViewKey {
                generation,
                width_px: ui.available_width().max(50.0) as u32,
                smoothing: panel.smoothing,
                log_y: panel.log_y,
            };
            if panel.views.get(name).is_none_or(|d| d.key != key) {
                match build(loaded, key) {
                    Ok(drawn) => {
                        panel.views.insert(name.to_owned(), drawn);
                    }
                    Err(e) => {
                        ui.colored_label(colors::NAN, format!("{name}: {e}"));
                        continue;
                    }
                }
            }
            let Some(drawn) = panel.views.get(name) else {
                continue;
            };
            if let Some(x) = chart(ui, name, drawn, cursor_x) {
                seek = Some(x);
            }
        }
    });
    if let Some(x) = seek {
        state.seek_seq(x.round() as i64);
    }
}

/// One chart; returns the x clicked.
fn chart(ui: &mut egui::Ui, name: &str, drawn: &DrawnSeries, cursor_x: Option<f64>) -> Option<f64> {
    let log_y = drawn.key.log_y;
    ui.horizontal(|ui| {
        ui.strong(name);
        let mut info = format!("{} points", drawn.total_points);
        if drawn.decimated {
            info.push_str(&format!(", {} drawn", drawn.line.len()));
        }
        if log_y && drawn.nonpositive > 0 {
            info.push_str(&format!(", {} <= 0 left out", drawn.nonpositive));
        }
        let bad: usize = drawn.markers.iter().map(Vec::len).sum();
        ui.weak(info);
        if bad > 0 {
            ui.colored_label(colors::NAN, "NaN/Inf");
        }
        let _ = drawn.raw_points;
    });
    let value = move |y: f64| if log_y { 10f64.powf(y) } else { y };
    let response = Plot::new(("chart", name))
        .height(150.0)
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .x_axis_label("snapshot (the timeline's seq)")
        .y_axis_min_width(48.0)
        .y_axis_formatter(move |mark, _| number(value(mark.value)))
        .label_formatter(move |pos| {
            Some(match pos {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => match *plot_name {
                    "NaN" | "+Inf" | "-Inf" => format!("{plot_name}\nat @{}", number(position.x)),
                    "snapshots" => format!("snapshot @{}", number(position.x)),
                    _ => format!(
                        "{plot_name}\nat @{}\n{}",
                        number(position.x),
                        number(value(position.y))
                    ),
                },
                HoverPosition::Elsewhere { position } => format!("@{}", number(position.x)),
            })
        })
        .show(ui, |plot| {
            plot.points(
                Points::new("snapshots", drawn.ticks.as_slice())
                    .shape(MarkerShape::Up)
                    .radius(2.0)
                    .color(Color32::GRAY),
            );
            let raw_color = if drawn.smoothed.is_some() {
                Color32::from_rgba_unmultiplied(80, 140, 220, 90)
            } else {
                Color32::from_rgb(80, 140, 220)
            };
            plot.line(Line::new(name, drawn.line.as_slice()).color(raw_color));
            if let Some(smoothed) = &drawn.smoothed {
                plot.line(
                    Line::new(format!("{name} (smoothed)"), smoothed.as_slice())
                        .color(Color32::from_rgb(30, 90, 200))
                        .width(2.0),
                );
            }
            for (slot, (label, shape, color)) in [
                ("NaN", MarkerShape::Cross, colors::NAN),
                ("+Inf", MarkerShape::Up, colors::INF),
                ("-Inf", MarkerShape::Down, colors::INF),
            ]
            .into_iter()
            .enumerate()
            {
                if !drawn.markers[slot].is_empty() {
                    plot.points(
                        Points::new(label, drawn.markers[slot].as_slice())
                            .shape(shape)
                            .radius(5.0)
                            .color(color),
                    );
                }
            }
            if let Some(x) = cursor_x {
                plot.vline(VLine::new("cursor", x).color(colors::CURSOR).width(2.0));
            }
        });
    if response.response.clicked() {
        return response
            .response
            .interact_pointer_pos()
            .map(|p| response.transform.value_from_position(p).x);
    }
    None
}
