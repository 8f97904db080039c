//! The diff of two snapshots of the open run: pick A and B (or take the
//! cursor), compare, read what was added, removed, moved and changed.

use eframe::egui;
use snapline_query::{diff_snapshots, ChangeKind, Detail, DiffOptions, SnapshotDiff, SnapshotRef};

use crate::panels::colors;
use crate::panels::variables::elide_path;
use crate::state::{RunState, ViewerState};

/// The two snapshots picked and the last comparison.
#[derive(Default)]
pub struct DiffPanel {
    pub a: i64,
    pub b: i64,
    pub result: Option<Result<SnapshotDiff, String>>,
}

impl DiffPanel {
    /// A: the snapshot before the cursor; B: the cursor (a new run's default).
    pub fn reset(&mut self, run: Option<&RunState>) {
        self.result = None;
        if let Some(run) = run {
            let b = run.cursor_row().map_or(0, |r| r.seq);
            let a = run
                .rows
                .get(run.cursor.saturating_sub(1))
                .map_or(b, |r| r.seq);
            self.a = a;
            self.b = b;
        }
    }

    /// Compares A and B of the open run.
    pub fn compare(&mut self, state: &ViewerState) {
        let (Some(store), Some(run)) = (&state.store, &state.run) else {
            return;
        };
        let snap = |seq| SnapshotRef {
            run: run.summary.id.clone(),
            seq,
        };
        self.result = Some(
            diff_snapshots(store, &snap(self.a), &snap(self.b), &DiffOptions::default())
                .map_err(|e| e.to_string()),
        );
    }
}

fn detail_text(detail: &Option<Detail>) -> String {
    match detail {
        Some(Detail::Array(a)) if a.compared => {
            format!("{} of {} elements changed", a.changed, a.elements)
        }
        Some(Detail::Array(a)) => a.not_compared.clone().unwrap_or_default(),
        Some(Detail::Value(v)) => format!("{} -> {}", v.old, v.new),
        Some(Detail::Structure(s)) => format!(
            "{} added, {} removed, {} values changed",
            s.added.len(),
            s.removed.len(),
            s.values.len()
        ),
        Some(Detail::Frame(_)) => "cells changed".into(),
        Some(Detail::Opaque { note }) => note.clone(),
        None => String::new(),
    }
}

pub fn show(ui: &mut egui::Ui, panel: &mut DiffPanel, state: &ViewerState) {
    let Some(run) = &state.run else {
        ui.weak("No run open.");
        return;
    };
    let (first, last) = match (run.rows.first(), run.rows.last()) {
        (Some(f), Some(l)) => (f.seq, l.seq),
        _ => {
            ui.weak("This run has no snapshots yet.");
            return;
        }
    };
    let cursor = run.cursor_row().map_or(last, |r| r.seq);
    let mut go = false;
    ui.horizontal(|ui| {
        let label = ui.label("A @");
        ui.add(egui::DragValue::new(&mut panel.a).range(first..=last))
            .labelled_by(label.id);
        if ui.button("A = cursor").clicked() {
            panel.a = cursor;
        }
        let label = ui.label("B @");
        ui.add(egui::DragValue::new(&mut panel.b).range(first..=last))
            .labelled_by(label.id);
        if ui.button("B = cursor").clicked() {
            panel.b = cursor;
        }
        go = ui.button("Compare").clicked();
    });
    if go {
        panel.compare(state);
    }
    let Some(result) = &panel.result else {
        ui.weak("Pick two snapshots and press Compare.");
        return;
    };
    let diff = match result {
        Ok(d) => d,
        Err(e) => {
            ui.colored_label(colors::NAN, e);
            return;
        }
    };
    ui.label(format!(
        "@{} -> @{}: {} added, {} removed, {} changed, {} moved, {} unchanged",
        diff.a.seq, diff.b.seq, diff.added, diff.removed, diff.changed, diff.moved, diff.unchanged
    ));
    if diff.identical {
        ui.label("Identical: every path holds the same content.");
        return;
    }
    // Long paths are cut from the front to about 45% of the panel, whole on
    // hover (as in the variables table).
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let char_width = ui.fonts_mut(|f| f.glyph_width(&font, 'm')).max(1.0);
    let path_chars = ((ui.available_width() * 0.45) / char_width).max(12.0) as usize;
    egui::ScrollArea::both()
        .id_salt("diff-changes")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("diff")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for h in ["", "path", "type", "what"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for c in &diff.changes {
                        let (sign, color) = match c.change {
                            ChangeKind::Added => ("+", egui::Color32::from_rgb(39, 174, 96)),
                            ChangeKind::Removed => ("-", colors::NAN),
                            ChangeKind::Changed => ("~", colors::CHANGED),
                            ChangeKind::Moved => (">", colors::LABEL),
                        };
                        ui.colored_label(color, sign);
                        let path = match &c.from {
                            Some(from) => format!("{from} -> {}", c.path),
                            None => c.path.clone(),
                        };
                        let shown = elide_path(&path, path_chars);
                        if shown == path {
                            ui.monospace(path);
                        } else {
                            ui.monospace(shown).on_hover_text(path);
                        }
                        ui.label(&c.type_name);
                        let mut what = detail_text(&c.detail);
                        if what.is_empty() {
                            what = c.preview.chars().take(60).collect();
                        }
                        ui.label(what);
                        ui.end_row();
                    }
                });
        });
}
