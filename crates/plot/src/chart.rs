//! Drawing one chart: title, axes, lines, NaN/Inf markers, snapshot ticks
//! and a legend beside the plot (never over the data).

use std::sync::OnceLock;

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use snapline_query::{MarkerKind, SeriesView, XAxis};

use crate::error::{PlotError, PlotResult};

/// The smallest side of a chart, in pixels.
pub const MIN_SIDE: u32 = 200;
/// The largest side of a chart, in pixels.
pub const MAX_SIDE: u32 = 8192;

/// How a chart looks: its size, title, y scale and x range.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartOptions {
    /// Pixels (`MIN_SIDE` to `MAX_SIDE`). Fonts and lines scale with the size.
    pub width: u32,
    pub height: u32,
    /// `None`: the series names and their runs.
    pub title: Option<String>,
    /// A logarithmic y axis (the series should be viewed with `log_y` too,
    /// so that values <= 0 are already left out).
    pub log_y: bool,
    /// The x range shown; `None` on a side: the data's extent.
    pub x_min: Option<f64>,
    pub x_max: Option<f64>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 1280,
            height: 720,
            title: None,
            log_y: false,
            x_min: None,
            x_max: None,
        }
    }
}

impl ChartOptions {
    /// Checks the size (each side `MIN_SIDE` to `MAX_SIDE` pixels).
    pub fn validate(&self) -> PlotResult<()> {
        let ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
        if ok(self.width) && ok(self.height) {
            Ok(())
        } else {
            Err(PlotError::BadSize {
                width: self.width,
                height: self.height,
            })
        }
    }
}

/// Series colours (the tab10 palette without its red, which means NaN).
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// NaN markers, in every series.
pub(crate) const NAN_RED: RGBColor = RGBColor(214, 39, 40);
const INK: RGBColor = RGBColor(34, 34, 34);
const FAMILY: &str = "sans-serif";

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Makes the built-in font the one plotters draws "sans-serif" text with.
fn register_font() -> PlotResult<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Pixel sizes scaled to the chart (1.0 at 1280x720).
#[derive(Clone, Copy)]
struct Scale(f64);

impl Scale {
    fn px(self, v: impl Into<f64>) -> i32 {
        (v.into() * self.0).round() as i32
    }

    fn upx(self, v: impl Into<f64>) -> u32 {
        (v.into() * self.0).round().max(1.0) as u32
    }

    fn font(self, size: f64) -> TextStyle<'static> {
        (FAMILY, size * self.0).into_font().color(&INK)
    }
}

/// What one legend row shows.
enum Swatch {
    Line(RGBColor),
    Raw(RGBColor),
    Nan,
    Inf,
    Tick,
}

struct LegendRow {
    swatch: Swatch,
    label: String,
}

/// How the backend joins the segments of a thick line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joins {
    /// The backend joins them well (SVG: the viewer strokes the path).
    Native,
    /// plotters' own rasterizer turns a thick path into a polygon whose
    /// joins shoot far out at sharp reversals (which a decimated series is
    /// full of), so each segment is drawn on its own.
    Separate,
}

/// Draws the whole chart on `root`.
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[SeriesView],
    opts: &ChartOptions,
    joins: Joins,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    register_font()?;
    let scale = Scale(
        (f64::from(opts.width) / 1280.0)
            .min(f64::from(opts.height) / 720.0)
            .clamp(0.8, 3.0),
    );
    root.fill(&WHITE).map_err(draw_error)?;

    let title = opts.title.clone().unwrap_or_else(|| default_title(series));
    let (title_area, body) = root.split_vertically(scale.px(48));
    title_area
        .draw_text(
            &ellipsize(&title, 140),
            &scale.font(22.0),
            (scale.px(20), scale.px(16)),
        )
        .map_err(draw_error)?;

    let rows = legend_rows(series);
    let legend_font = scale.font(15.0);
    let widest = rows
        .iter()
        .map(|r| {
            root.estimate_text_size(&r.label, &legend_font)
                .map(|(w, _)| w)
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    let legend_width = (widest + scale.upx(72))
        .clamp(scale.upx(150), (opts.width as f64 * 0.38) as u32)
        .min(opts.width.saturating_sub(MIN_SIDE / 2));
    let (plot_area, legend_area) = body.split_horizontally(opts.width - legend_width);

    let frame = Frame::of(series, opts);
    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .margin_left(scale.px(12))
        .margin_right(scale.px(12))
        .margin_top(scale.px(8))
        .margin_bottom(scale.px(12))
        .x_label_area_size(scale.px(58))
        .y_label_area_size(scale.px(86));
    let (x0, x1) = frame.x;
    let (y0, y1) = frame.y;
    if opts.log_y {
        let chart = builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(draw_error)?;
        draw_data(chart, series, &frame, scale, joins)?;
    } else {
        let chart = builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_error)?;
        draw_data(chart, series, &frame, scale, joins)?;
    }
    draw_legend(
        &legend_area,
        &rows,
        scale,
        widest + scale.upx(60) > legend_width,
    )
}

/// The chart's ranges and axis titles.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    x_label: String,
    y_label: String,
}

impl Frame {
    fn of(series: &[SeriesView], opts: &ChartOptions) -> Frame {
        let mut xs = Extent::default();
        let mut ys = Extent::default();
        let mut top_markers = false;
        let mut bottom_markers = false;
        for s in series {
            let lines = s.data.points.iter().chain(s.data.smoothed.iter().flatten());
            for p in lines {
                xs.add(p[0]);
                if !opts.log_y || p[1] > 0.0 {
                    ys.add(p[1]);
                }
            }
            for m in &s.data.markers {
                xs.add(m.x);
                match m.kind {
                    MarkerKind::NegInf => bottom_markers = true,
                    _ => top_markers = true,
                }
            }
        }
        if xs.is_empty() {
            // Nothing finite to draw: at least show where the snapshots are.
            for x in series.iter().flat_map(|s| &s.snapshots) {
                xs.add(*x);
            }
        }
        let (data0, data1) = xs.or(0.0, 1.0);
        // A little room at the data's ends, so that an edge marker stays clear of the axes.
        let pad = (data1 - data0) * 0.015;
        let mut x0 = opts.x_min.unwrap_or(data0 - pad);
        let mut x1 = opts.x_max.unwrap_or(data1 + pad);
        if x1 <= x0 {
            let pad = if x0 == 0.0 { 0.5 } else { x0.abs() * 0.05 };
            (x0, x1) = (x0 - pad, x0 + pad);
        }
        // Room above and below the data for the marker lanes and snapshot ticks.
        let top = if top_markers { 0.14 } else { 0.05 };
        let bottom = if bottom_markers { 0.14 } else { 0.07 };
        let y = if opts.log_y {
            let (lo, hi) = ys.or(1.0, 10.0);
            let (lo, hi) = if hi > lo {
                (lo, hi)
            } else {
                (lo / 2.0, hi * 2.0)
            };
            let decades = (hi / lo).log10();
            (
                lo / 10f64.powf(decades * bottom),
                hi * 10f64.powf(decades * top),
            )
        } else {
            let (lo, hi) = ys.or(0.0, 1.0);
            let span = if hi > lo {
                hi - lo
            } else if lo != 0.0 {
                lo.abs() * 0.2
            } else {
                1.0
            };
            let (lo, hi) = if hi > lo {
                (lo, hi)
            } else {
                (lo - span / 2.0, hi + span / 2.0)
            };
            (lo - span * bottom, hi + span * top)
        };
        let x_axis = series.first().map_or(XAxis::Step, |s| s.x_axis);
        let mut names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        names.dedup();
        let mut y_label = match names.as_slice() {
            [one] => ellipsize(one, 60),
            _ => "value".to_owned(),
        };
        if opts.log_y {
            y_label.push_str(" (log scale)");
        }
        Frame {
            x: (x0, x1),
            y,
            x_label: x_axis.label().to_owned(),
            y_label,
        }
    }
}

/// The smallest and largest finite value seen.
#[derive(Default)]
struct Extent(Option<(f64, f64)>);

impl Extent {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.0 = Some(match self.0 {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            });
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn or(&self, lo: f64, hi: f64) -> (f64, f64) {
        self.0.unwrap_or((lo, hi))
    }
}

fn draw_data<DB, Y>(
    mut chart: ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    series: &[SeriesView],
    frame: &Frame,
    scale: Scale,
    joins: Joins,
) -> PlotResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let tick_label = |v: &f64| number(*v);
    chart
        .configure_mesh()
        .x_desc(frame.x_label.as_str())
        .y_desc(frame.y_label.as_str())
        .axis_desc_style(scale.font(16.0))
        .label_style(scale.font(14.0))
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .x_labels(10)
        .y_labels(8)
        .bold_line_style(RGBColor(0, 0, 0).mix(0.10))
        .light_line_style(RGBColor(0, 0, 0).mix(0.035))
        .axis_style(INK.mix(0.7))
        .draw()
        .map_err(draw_error)?;

    let (y_bottom, y_top) = frame.y;
    for (k, s) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let smoothed = s.data.smoothed.as_deref().filter(|l| !l.is_empty());
        let raw_style = if smoothed.is_some() {
            color.mix(0.3).stroke_width(scale.upx(1.0))
        } else {
            color.stroke_width(scale.upx(2.0))
        };
        let dots = !s.data.decimated && s.data.points.len() <= 60;
        for segment in segments(&s.data.points, &s.data.markers) {
            draw_line(
                &mut chart,
                segment,
                raw_style,
                dots || segment.len() == 1,
                scale,
                joins,
            )?;
        }
        if let Some(line) = smoothed {
            let style = color.stroke_width(scale.upx(2.5));
            for segment in segments(line, &s.data.markers) {
                draw_line(&mut chart, segment, style, segment.len() == 1, scale, joins)?;
            }
        }
    }

    // Markers and ticks in pixels from the plot's edges, over the lines.
    let area = chart.plotting_area();
    let several_runs = runs(series).len() > 1;
    for (k, s) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        for m in &s.data.markers {
            let result = match m.kind {
                MarkerKind::Nan => area.draw(
                    &(EmptyElement::at((m.x, y_top))
                        + Cross::new(
                            (0, scale.px(13.0)),
                            scale.px(6.0),
                            NAN_RED.stroke_width(scale.upx(2.5)),
                        )),
                ),
                MarkerKind::PosInf => area.draw(
                    &(EmptyElement::at((m.x, y_top))
                        + Polygon::new(triangle(scale, 1), color.filled())),
                ),
                MarkerKind::NegInf => area.draw(
                    &(EmptyElement::at((m.x, y_bottom))
                        + Polygon::new(triangle(scale, -1), color.filled())),
                ),
            };
            result.map_err(draw_error)?;
        }
    }
    for run in runs(series) {
        // The run's first series carries its snapshot positions and colour.
        let Some((k, s)) = series.iter().enumerate().find(|(_, s)| s.run == run) else {
            continue;
        };
        let color = if several_runs {
            PALETTE[k % PALETTE.len()].to_rgba()
        } else {
            INK.mix(0.55)
        };
        let (x0, x1) = frame.x;
        for &x in s.snapshots.iter().filter(|&&x| x0 <= x && x <= x1) {
            area.draw(
                &(EmptyElement::at((x, y_bottom))
                    + PathElement::new(
                        vec![(0, 0), (0, -scale.px(11.0))],
                        color.stroke_width(scale.upx(2.0)),
                    )),
            )
            .map_err(draw_error)?;
        }
    }
    Ok(())
}

/// A filled triangle at the top edge pointing up (`dir` 1: +Inf) or at the
/// bottom edge pointing down (`dir` -1: -Inf), in pixels from the edge.
fn triangle(scale: Scale, dir: i32) -> Vec<(i32, i32)> {
    let (tip, base, half) = (scale.px(26.0), scale.px(38.0), scale.px(7.0));
    vec![(0, dir * tip), (-half, dir * base), (half, dir * base)]
}

fn draw_line<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    segment: &[[f64; 2]],
    style: ShapeStyle,
    dots: bool,
    scale: Scale,
    joins: Joins,
) -> PlotResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    if segment.len() > 1 && joins == Joins::Separate && style.stroke_width > 1 {
        chart
            .draw_series(
                segment
                    .windows(2)
                    .map(|w| PathElement::new(vec![(w[0][0], w[0][1]), (w[1][0], w[1][1])], style)),
            )
            .map_err(draw_error)?;
    } else if segment.len() > 1 {
        chart
            .draw_series(LineSeries::new(segment.iter().map(|p| (p[0], p[1])), style))
            .map_err(draw_error)?;
    }
    if dots {
        let dot = ShapeStyle {
            filled: true,
            ..style
        };
        chart
            .draw_series(
                segment
                    .iter()
                    .map(|p| Circle::new((p[0], p[1]), scale.upx(3.0), dot)),
            )
            .map_err(draw_error)?;
    }
    Ok(())
}

/// The line's pieces between non-finite values: a line never bridges a NaN.
fn segments<'a>(points: &'a [[f64; 2]], markers: &[snapline_query::Marker]) -> Vec<&'a [[f64; 2]]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut m = 0;
    for i in 1..points.len() {
        let (a, b) = (points[i - 1][0], points[i][0]);
        while m < markers.len() && markers[m].x <= a {
            m += 1;
        }
        if m < markers.len() && markers[m].x <= b {
            out.push(&points[start..i]);
            start = i;
        }
    }
    if start < points.len() {
        out.push(&points[start..]);
    }
    out
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[LegendRow],
    scale: Scale,
    cramped: bool,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let font = scale.font(15.0);
    let row_height = scale.px(26.0);
    let (sx, tx) = (scale.px(4.0), scale.px(44.0));
    let max_chars = if cramped { 28 } else { 80 };
    let mut y = scale.px(20.0);
    for row in rows {
        let mid = y + row_height / 2;
        let swatch: Result<(), _> = match row.swatch {
            Swatch::Line(c) => area.draw(&PathElement::new(
                vec![(sx, mid), (sx + scale.px(32.0), mid)],
                c.stroke_width(scale.upx(2.5)),
            )),
            Swatch::Raw(c) => area.draw(&PathElement::new(
                vec![(sx, mid), (sx + scale.px(32.0), mid)],
                c.mix(0.3).stroke_width(scale.upx(1.0)),
            )),
            Swatch::Nan => area.draw(&Cross::new(
                (sx + scale.px(16.0), mid),
                scale.px(6.0),
                NAN_RED.stroke_width(scale.upx(2.5)),
            )),
            Swatch::Inf => area.draw(&Polygon::new(
                vec![
                    (sx + scale.px(10.0), mid + scale.px(6.0)),
                    (sx + scale.px(16.0), mid - scale.px(6.0)),
                    (sx + scale.px(22.0), mid + scale.px(6.0)),
                ],
                INK.mix(0.55).filled(),
            )),
            Swatch::Tick => area.draw(&PathElement::new(
                vec![
                    (sx + scale.px(16.0), mid - scale.px(6.0)),
                    (sx + scale.px(16.0), mid + scale.px(6.0)),
                ],
                INK.mix(0.55).stroke_width(scale.upx(2.0)),
            )),
        };
        swatch.map_err(draw_error)?;
        area.draw_text(
            &ellipsize(&row.label, max_chars),
            &font,
            (tx, mid - scale.px(9.0)),
        )
        .map_err(draw_error)?;
        y += row_height;
    }
    Ok(())
}

fn legend_rows(series: &[SeriesView]) -> Vec<LegendRow> {
    let several_runs = runs(series).len() > 1;
    let mut rows: Vec<LegendRow> = series
        .iter()
        .enumerate()
        .map(|(k, s)| LegendRow {
            swatch: Swatch::Line(PALETTE[k % PALETTE.len()]),
            label: if several_runs {
                format!("{} · {}", s.name, s.run)
            } else {
                s.name.clone()
            },
        })
        .collect();
    let smoothed = series
        .iter()
        .any(|s| s.data.smoothed.as_ref().is_some_and(|l| !l.is_empty()));
    if smoothed {
        rows.push(LegendRow {
            swatch: Swatch::Raw(INK),
            label: "raw values (faint)".into(),
        });
    }
    let has = |kind: MarkerKind| {
        series
            .iter()
            .any(|s| s.data.markers.iter().any(|m| m.kind == kind))
    };
    if has(MarkerKind::Nan) {
        rows.push(LegendRow {
            swatch: Swatch::Nan,
            label: "NaN".into(),
        });
    }
    if has(MarkerKind::PosInf) || has(MarkerKind::NegInf) {
        rows.push(LegendRow {
            swatch: Swatch::Inf,
            label: "+Inf (top) / -Inf (bottom)".into(),
        });
    }
    if series.iter().any(|s| !s.snapshots.is_empty()) {
        rows.push(LegendRow {
            swatch: Swatch::Tick,
            label: "snapshot".into(),
        });
    }
    rows
}

/// The runs of the series, in order of first appearance.
fn runs(series: &[SeriesView]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in series {
        if !out.contains(&s.run.as_str()) {
            out.push(&s.run);
        }
    }
    out
}

fn default_title(series: &[SeriesView]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for s in series {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let runs = runs(series);
    match runs.as_slice() {
        [] => "no series".to_owned(),
        [one] => format!("{}  —  run {one}", names.join(", ")),
        many => format!("{}  —  runs {}", names.join(", "), many.join(", ")),
    }
}

/// At most `max` characters, the cut marked with an ellipsis.
fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A tick label: short, without float noise (0.30000000000000004 -> 0.3).
pub(crate) fn number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_owned()
    } else if !(1e-3..1e7).contains(&a) {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        }
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapline_query::{Marker, MarkerKind};

    #[test]
    fn lines_break_at_non_finite_values() {
        let points = [[0.0, 1.0], [1.0, 2.0], [3.0, 2.0], [4.0, 1.0]];
        let nan = Marker {
            x: 2.0,
            kind: MarkerKind::Nan,
            count: 1,
        };
        let parts = segments(&points, &[nan]);
        assert_eq!(parts, vec![&points[..2], &points[2..]]);
        assert_eq!(segments(&points, &[]), vec![&points[..]]);
    }

    #[test]
    fn tick_labels_read_well() {
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(1_000_000.0), "1000000");
        assert_eq!(number(25_000_000.0), "2.5e7");
        assert_eq!(number(2500.0), "2500");
        assert_eq!(number(0.000_15), "1.5e-4");
        assert_eq!(number(-0.5), "-0.5");
    }
}
