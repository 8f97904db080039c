//! The variables at the cursor: path, shape, dtype, stats, type, and a mark
//! on what changed since the previous snapshot.

use eframe::egui::{self, RichText};
use snapline_query::{ObjectView, Stats};

use crate::panels::{colors, number};
use crate::state::ViewerState;

/// min / max / mean and the non-finite counts of an object's stats.
pub fn stats_text(stats: &Stats) -> String {
    let mut parts = Vec::new();
    if let (Some(lo), Some(hi)) = (stats.min, stats.max) {
        if lo == hi && stats.count <= 1 {
            parts.push(number(lo));
        } else {
            parts.push(format!("min {} max {}", number(lo), number(hi)));
        }
    }
    if let Some(mean) = stats.mean {
        if stats.count > 1 {
            parts.push(format!("mean {}", number(mean)));
        }
    }
    if stats.nan > 0 {
        parts.push(format!("{} NaN", stats.nan));
    }
    if stats.posinf + stats.neginf > 0 {
        parts.push(format!("{} Inf", stats.posinf + stats.neginf));
    }
    parts.join(" · ")
}

fn shape_text(v: &ObjectView) -> String {
    v.shape
        .as_ref()
        .map(|s| {
            let dims: Vec<String> = s.iter().map(i64::to_string).collect();
            format!("({})", dims.join(", "))
        })
        .unwrap_or_default()
}

pub fn show(ui: &mut egui::Ui, state: &ViewerState, changed_only: &mut bool) {
    let Some(run) = &state.run else {
        ui.weak("No run open.");
        return;
    };
    let Some(at) = &run.at_cursor else {
        ui.weak("No snapshot at the cursor.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} objects at @{}, {} changed since the previous snapshot",
            at.objects.len(),
            at.seq,
            at.changed.len()
        ));
        ui.checkbox(changed_only, "changed only");
    });
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("variables")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["path", "shape", "dtype", "stats / value", "type"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for v in &at.objects {
                        let changed = at.changed.contains(&v.path);
                        if *changed_only && !changed {
                            continue;
                        }
                        let mut path = RichText::new(&v.path).monospace();
                        if changed {
                            path = path.color(colors::CHANGED).strong();
                        }
                        let bad = v
                            .stats
                            .as_ref()
                            .is_some_and(|s| s.nan + s.posinf + s.neginf > 0);
                        ui.label(path).on_hover_text(if changed {
                            "changed since the previous snapshot"
                        } else {
                            "same as in the previous snapshot"
                        });
                        ui.label(shape_text(v));
                        ui.label(v.dtype.as_deref().unwrap_or(""));
                        let text = match &v.stats {
                            Some(s) if v.shape.is_some() => stats_text(s),
                            _ => v.preview.chars().take(60).collect(),
                        };
                        if bad {
                            ui.colored_label(colors::NAN, text);
                        } else {
                            ui.label(text);
                        }
                        ui.label(&v.type_name);
                        ui.end_row();
                    }
                });
        });
}
