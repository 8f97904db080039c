//! One chart per metric series, on query's training-step axis as the app
//! draws it (a series with no step: the snapshot axis, the timeline's seq):
//! the points query decimated to the chart's width, the smoothed line,
//! NaN/Inf markers along the top, a tick per snapshot along the bottom, the
//! cursor (the timeline's snapshot mapped to its step through the view's
//! `snapshot_seqs`), the step, value and snapshot under the pointer.
//!
//! Drag a box to zoom x (or Ctrl+wheel, pinch), right-drag to pan, double-click to
//! reset; a zoomed chart is re-cut and re-decimated by query for its range
//! (full resolution once it is narrow). A click moves the cursor to the
//! snapshot there: the tick within 8 pixels, else the first snapshot taken
//! after the point under the pointer.

use std::collections::HashMap;

use eframe::egui::{self, Color32, Id, PointerButton};
use egui_plot::{
    HoverPosition, Line, MarkerShape, Plot, PlotMemory, PlotPoint, PlotUi, Points, Span, VLine,
};
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
    /// The x axis the chart is drawn on.
    pub x_axis: XAxis,
    /// How many different x the drawn points sit at.
    pub distinct_x: usize,
    /// The x range the points were cut to (`None`: the whole series, not zoomed).
    pub range: Option<(f64, f64)>,
}

impl ChartPanel {
    /// What the chart of series `name` last drew.
    pub fn summary(&self, name: &str) -> Option<ChartSummary> {
        self.views.get(name).map(|d| {
            let mut distinct_x = 0;
            let mut last = None;
            for p in &d.line {
                if last != Some(p.x) {
                    distinct_x += 1;
                    last = Some(p.x);
                }
            }
            ChartSummary {
                points: d.line.len(),
                smoothed: d.smoothed.is_some(),
                log_y: d.key.log_y,
                markers: [d.markers[0].len(), d.markers[1].len(), d.markers[2].len()],
                snapshot_ticks: d.ticks.len(),
                x_axis: d.x_axis,
                distinct_x,
                range: d.key.range,
            }
        })
    }

    /// Where the snapshot `seq` sits on the chart of `name` (the cursor's
    /// x): the position of the last snapshot at or before it on that axis;
    /// `None` when none is on the chart.
    pub fn x_of_seq(&self, name: &str, seq: i64) -> Option<f64> {
        self.views.get(name).and_then(|d| d.x_of_seq(seq))
    }

    /// The snapshot a click at `x` on the chart of `name` opens (no tick
    /// near): the first taken after the point at `x`, else the last.
    pub fn seq_at_x(&self, name: &str, x: f64) -> Option<i64> {
        self.views.get(name).and_then(|d| d.seq_at_x(x, 0.0))
    }
}

/// What the view was made for: it is rebuilt when any of it changes.
#[derive(Clone, Copy, PartialEq)]
struct ViewKey {
    generation: u64,
    width_px: u32,
    smoothing: f64,
    log_y: bool,
    /// The x range cut (a zoomed chart), padded beyond what is visible.
    range: Option<(f64, f64)>,
}

/// A series ready to draw (y as log10 on a log chart).
struct DrawnSeries {
    key: ViewKey,
    x_axis: XAxis,
    line: Vec<PlotPoint>,
    smoothed: Option<Vec<PlotPoint>>,
    markers: [Vec<PlotPoint>; 3],
    ticks: Vec<PlotPoint>,
    /// `(x, seq)` of the snapshots in this view's range (query's
    /// `snapshots` and `snapshot_seqs`), sorted by x.
    positions: Vec<(f64, i64)>,
    /// The same over the whole series (the cursor may sit outside a zoom).
    all_positions: Vec<(f64, i64)>,
    total_points: usize,
    decimated: bool,
    nonpositive: usize,
    no_x: usize,
}

impl DrawnSeries {
    fn x_of_seq(&self, seq: i64) -> Option<f64> {
        let covers = |p: &[(f64, i64)]| {
            p.first().is_some_and(|f| f.1 <= seq) && p.last().is_some_and(|l| l.1 >= seq)
        };
        let positions = if covers(&self.positions) {
            &self.positions
        } else {
            &self.all_positions
        };
        positions
            .iter()
            .take_while(|p| p.1 <= seq)
            .last()
            .map(|p| p.0)
    }

    /// The positions to look `x` up in: this view's (finer when zoomed)
    /// when `x` lies among them, else the whole series'.
    fn positions_around(&self, x: f64) -> &[(f64, i64)] {
        match (self.positions.first(), self.positions.last()) {
            (Some(first), Some(last)) if first.0 <= x && x <= last.0 => &self.positions,
            _ => &self.all_positions,
        }
    }

    /// The snapshot at `x`: the nearest tick within `tolerance`, else the
    /// first snapshot at or after `x`, else the last one.
    fn seq_at_x(&self, x: f64, tolerance: f64) -> Option<i64> {
        let positions = self.positions_around(x);
        let i = positions.partition_point(|p| p.0 < x);
        let near = [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| positions.get(j))
            .filter(|p| (p.0 - x).abs() <= tolerance)
            .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()));
        near.or(positions.get(i)).or(positions.last()).map(|p| p.1)
    }

    /// The hover line naming the snapshot of a point at `x`.
    fn snapshot_line(&self, x: f64) -> String {
        let positions = self.positions_around(x);
        let i = positions.partition_point(|p| p.0 < x);
        match (positions.get(i), positions.last()) {
            (Some(p), _) => format!("snapshot @{}", p.1),
            (None, Some(p)) => format!("after snapshot @{}", p.1),
            (None, None) => "no snapshot on this axis".into(),
        }
    }
}

fn build(
    series: &snapline_query::LoadedSeries,
    key: ViewKey,
    previous: Option<&DrawnSeries>,
) -> Result<DrawnSeries, snapline_query::QueryError> {
    let options = |range: Option<(f64, f64)>| ViewOptions {
        x_axis: series.x_axis,
        x_min: range.map(|r| r.0),
        x_max: range.map(|r| r.1),
        width_px: key.width_px,
        smoothing: key.smoothing,
        log_y: key.log_y,
    };
    let view = series.view(&options(key.range))?;
    let positions: Vec<(f64, i64)> = view
        .snapshots
        .iter()
        .copied()
        .zip(view.snapshot_seqs.iter().copied())
        .collect();
    let all_positions = match (key.range, previous) {
        (None, _) => positions.clone(),
        // Only the range changed: the whole series' positions did not.
        (Some(_), Some(p))
            if p.key.generation == key.generation && p.key.width_px == key.width_px =>
        {
            p.all_positions.clone()
        }
        (Some(_), _) => {
            let whole = series.view(&options(None))?;
            whole
                .snapshots
                .into_iter()
                .zip(whole.snapshot_seqs)
                .collect()
        }
    };
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
    let ticks = positions
        .iter()
        .map(|&(x, _)| PlotPoint::new(x, lo))
        .collect();
    Ok(DrawnSeries {
        key,
        x_axis: series.x_axis,
        line,
        smoothed: view.data.smoothed.as_deref().map(to_points),
        markers,
        ticks,
        positions,
        all_positions,
        total_points: view.total_points,
        decimated: view.data.decimated,
        nonpositive: view.data.nonpositive,
        no_x: view.no_x,
    })
}

/// The x range a chart was zoomed to (the plot's bounds of the last frame),
/// `None` while it shows everything (egui_plot's automatic bounds).
fn zoomed_x(ctx: &egui::Context, plot_id: Id) -> Option<(f64, f64)> {
    let memory = PlotMemory::load(ctx, plot_id)?;
    if memory.auto_bounds.x {
        return None;
    }
    let bounds = memory.bounds();
    let (lo, hi) = (bounds.min()[0], bounds.max()[0]);
    (lo.is_finite() && hi.is_finite() && lo <= hi).then_some((lo, hi))
}

/// The range to cut for what is visible: the one already cut while it
/// holds the visible range at no less than a quarter of its width, else the
/// visible range padded by half its width on each side (a pan reads
/// nothing until it leaves that).
fn range_for(visible: Option<(f64, f64)>, cut: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let (lo, hi) = visible?;
    let width = hi - lo;
    if let Some((a, b)) = cut {
        if a <= lo && hi <= b && width * 4.0 >= b - a {
            return cut;
        }
    }
    Some((lo - width / 2.0, hi + width / 2.0))
}

/// The egui id of the chart of series `name` of run `run`: its zoom and
/// transform live in egui_plot's memory under it.
pub fn plot_id(run: &str, name: &str) -> Id {
    Id::unique(("snapline-chart", run, name))
}

pub fn show(ui: &mut egui::Ui, panel: &mut ChartPanel, state: &mut ViewerState) {
    ui.horizontal(|ui| {
        ui.heading("Metrics");
        ui.separator();
        let label = ui.label("smoothing");
        ui.add(egui::Slider::new(&mut panel.smoothing, 0.0..=0.99).fixed_decimals(2))
            .labelled_by(label.id);
        ui.checkbox(&mut panel.log_y, "log y");
        ui.weak("drag: zoom · right-drag: pan · double-click: reset");
    });
    let Some(run) = &state.run else {
        ui.weak("No run open.");
        return;
    };
    if run.series.is_empty() {
        ui.weak("This run has no metric series (numeric scalars become series when a snapshot sees them; `snapline.log()` adds points).");
        return;
    }
    let cursor_seq = run.cursor_row().map(|r| r.seq);
    let run_id = run.summary.id.as_str();
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
            let id = plot_id(run_id, name);
            let previous = panel.views.get(name);
            let key = ViewKey {
                generation,
                width_px: ui.available_width().max(50.0) as u32,
                smoothing: panel.smoothing,
                log_y: panel.log_y,
                range: range_for(zoomed_x(ui.ctx(), id), previous.and_then(|d| d.key.range)),
            };
            if previous.is_none_or(|d| d.key != key) {
                match build(loaded, key, previous) {
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
            let cursor_x = cursor_seq.and_then(|s| drawn.x_of_seq(s));
            if let Some(seq) = chart(ui, id, name, drawn, cursor_x) {
                seek = Some(seq);
            }
        }
    });
    if let Some(seq) = seek {
        state.seek_seq(seq);
    }
}

/// Dragging with the primary button selects an x range (shaded while
/// dragged) and zooms to it on release; y keeps following the data.
fn drag_zoom_x(plot: &mut PlotUi<'_>, id: Id) {
    let response = plot.response().clone();
    let from_id = id.with("zoom from");
    let ctx = plot.ctx().clone();
    let pointer_x =
        |plot: &PlotUi<'_>, pos: Option<egui::Pos2>| pos.map(|p| plot.plot_from_screen(p).x);
    if response.drag_started_by(PointerButton::Primary) {
        let origin = ctx.input(|i| i.pointer.press_origin());
        if let Some(x) = pointer_x(plot, origin) {
            ctx.data_mut(|d| d.insert_temp(from_id, x));
        }
    }
    let Some(from) = ctx.data(|d| d.get_temp::<f64>(from_id)) else {
        return;
    };
    let now = response
        .interact_pointer_pos()
        .or_else(|| ctx.input(|i| i.pointer.latest_pos()));
    let Some(to) = pointer_x(plot, now) else {
        return;
    };
    let (lo, hi) = (from.min(to), from.max(to));
    if response.drag_stopped_by(PointerButton::Primary) || !response.dragged() {
        ctx.data_mut(|d| d.remove::<f64>(from_id));
        // Wider than a few pixels: a zoom, not a shaky click.
        let per_px = plot.transform().dvalue_dpos()[0].abs();
        if hi - lo > 4.0 * per_px {
            plot.set_plot_bounds_x(lo..=hi);
        }
    } else {
        plot.span(
            Span::new("zoom", lo..=hi)
                .fill(Color32::from_rgba_unmultiplied(80, 140, 220, 40))
                .border_width(0.0),
        );
    }
}

/// One chart; returns the seq of the snapshot clicked.
fn chart(
    ui: &mut egui::Ui,
    id: Id,
    name: &str,
    drawn: &DrawnSeries,
    cursor_x: Option<f64>,
) -> Option<i64> {
    let log_y = drawn.key.log_y;
    let on_step = drawn.x_axis == XAxis::Step;
    ui.horizontal(|ui| {
        ui.strong(name);
        let mut info = format!("{} points", drawn.total_points);
        if drawn.decimated {
            info.push_str(&format!(", {} drawn", drawn.line.len()));
        }
        if log_y && drawn.nonpositive > 0 {
            info.push_str(&format!(", {} <= 0 left out", drawn.nonpositive));
        }
        if drawn.no_x > 0 {
            info.push_str(&format!(", {} with no {}", drawn.no_x, drawn.x_axis));
        }
        let bad: usize = drawn.markers.iter().map(Vec::len).sum();
        ui.weak(info);
        if bad > 0 {
            ui.colored_label(colors::NAN, "NaN/Inf");
        }
    });
    let value = move |y: f64| if log_y { 10f64.powf(y) } else { y };
    let x_label = if on_step {
        "step".to_string()
    } else {
        format!("{} (the timeline's seq)", drawn.x_axis.label())
    };
    let at = move |x: f64| {
        if on_step {
            format!("step {}", number(x))
        } else {
            format!("@{}", number(x))
        }
    };
    let response = Plot::new(("chart", name))
        .id(id)
        .height(150.0)
        .allow_scroll(false)
        // Ctrl+wheel or a pinch zooms x about the pointer; y follows the data.
        .allow_zoom([true, false])
        .allow_drag([true, false])
        .pan_pointer_button(PointerButton::Secondary)
        // A primary drag zooms x (`drag_zoom_x`); egui_plot's boxed zoom
        // needs a box with some height and sets y too.
        .allow_boxed_zoom(false)
        .allow_double_click_reset(true)
        .x_axis_label(x_label)
        .y_axis_min_width(48.0)
        .y_axis_formatter(move |mark, _| number(value(mark.value)))
        .label_formatter(|pos| {
            Some(match pos {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => match *plot_name {
                    "NaN" | "+Inf" | "-Inf" => format!(
                        "{plot_name}\n{}\n{}",
                        at(position.x),
                        drawn.snapshot_line(position.x)
                    ),
                    "snapshots" => format!(
                        "{}\nsnapshot @{}",
                        at(position.x),
                        drawn.seq_at_x(position.x, 0.0).unwrap_or_default()
                    ),
                    _ => format!(
                        "{plot_name}\n{}\nvalue {}\n{}",
                        at(position.x),
                        number(value(position.y)),
                        drawn.snapshot_line(position.x)
                    ),
                },
                HoverPosition::Elsewhere { position } => {
                    format!("{}\n{}", at(position.x), drawn.snapshot_line(position.x))
                }
            })
        })
        .show(ui, |plot| {
            drag_zoom_x(plot, id);
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
    // A zoom is re-cut on the next frame.
    let ctx = ui.ctx();
    if range_for(zoomed_x(ctx, id), drawn.key.range) != drawn.key.range {
        ctx.request_repaint();
    }
    if response.response.clicked() {
        let per_px = response.transform.dvalue_dpos()[0].abs();
        return response
            .response
            .interact_pointer_pos()
            .map(|p| response.transform.value_from_position(p).x)
            .and_then(|x| drawn.seq_at_x(x, 8.0 * per_px));
    }
    None
}
