//! The run's snapshots on one strip: a tick per snapshot (red where the
//! state held NaN or Inf, purple where labelled), the cursor; click or drag
//! to move it, the keyboard scrubs (Left/Right, Page Up/Down, Home/End).

use eframe::egui::{self, Sense, Stroke};

use crate::panels::colors;
use crate::state::ViewerState;

pub fn show(ui: &mut egui::Ui, state: &mut ViewerState) {
    let Some(run) = &state.run else {
        ui.weak("Open a run to see its snapshots.");
        return;
    };
    if run.rows.is_empty() {
        ui.weak("This run has no snapshots yet.");
        return;
    }
    let n = run.rows.len();
    let cursor = run.cursor;
    if let Some(row) = run.cursor_row() {
        let place = match (&row.file, row.line) {
            (Some(f), Some(l)) => format!("{}:{l}", f.rsplit('/').next().unwrap_or(f)),
            _ => String::new(),
        };
        let loops: Vec<String> = row.loops.iter().map(i64::to_string).collect();
        ui.horizontal(|ui| {
            ui.strong(format!("@{}", row.seq));
            ui.label(format!(
                "{} of {n} · {} · {place} · loops [{}]{}",
                cursor + 1,
                row.trigger.as_str(),
                loops.join(", "),
                row.label
                    .as_deref()
                    .map(|l| format!(" · {l}"))
                    .unwrap_or_default()
            ));
            if row.nonfinite > 0 {
                ui.colored_label(colors::NAN, format!("{} non-finite", row.nonfinite));
            }
            ui.weak("Left, Right, Home, End");
        });
    }
    let width = ui.available_width().max(10.0);
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 36.0), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let x_of = |i: usize| {
        let t = if n > 1 {
            i as f32 / (n - 1) as f32
        } else {
            0.5
        };
        rect.left() + 4.0 + t * (rect.width() - 8.0)
    };
    // One tick per pixel column at most: a column takes its worst snapshot.
    let mut last_px = f32::NEG_INFINITY;
    let mut column_mark = 0u8;
    let normal = ui.visuals().weak_text_color();
    let draw = |px: f32, mark: u8| {
        let (color, top) = match mark {
            2 => (colors::NAN, rect.top() + 4.0),
            1 => (colors::LABEL, rect.top() + 8.0),
            _ => (normal, rect.top() + 14.0),
        };
        painter.line_segment(
            [egui::pos2(px, top), egui::pos2(px, rect.bottom() - 4.0)],
            Stroke::new(1.0, color),
        );
    };
    for (i, row) in run.rows.iter().enumerate() {
        let px = x_of(i).round();
        let mark = if row.nonfinite > 0 {
            2
        } else if row.label.is_some() {
            1
        } else {
            0
        };
        if px != last_px {
            if last_px.is_finite() {
                draw(last_px, column_mark);
            }
            last_px = px;
            column_mark = mark;
        } else {
            column_mark = column_mark.max(mark);
        }
    }
    if last_px.is_finite() {
        draw(last_px, column_mark);
    }
    let cx = x_of(cursor);
    painter.line_segment(
        [egui::pos2(cx, rect.top()), egui::pos2(cx, rect.bottom())],
        Stroke::new(3.0, colors::CURSOR),
    );
    if let Some(pos) = response.interact_pointer_pos() {
        if response.clicked() || response.dragged() {
            let t = ((pos.x - rect.left() - 4.0) / (rect.width() - 8.0)).clamp(0.0, 1.0);
            let index = (t * (n - 1) as f32).round() as usize;
            state.set_cursor(index);
        }
    }
}
