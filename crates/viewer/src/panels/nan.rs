//! Where NaN or Inf first appeared: the snapshot, the objects it began in,
//! those that followed, the metrics that turned, the last clean snapshot;
//! buttons jump the cursor there.

use eframe::egui;
use snapline_query::BadObject;

use crate::panels::{colors, number};
use crate::state::ViewerState;

fn objects(ui: &mut egui::Ui, id: &str, list: &[BadObject]) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for h in ["path", "at", "began as", "non-finite"] {
                ui.strong(h);
            }
            ui.end_row();
            for o in list {
                ui.monospace(&o.path);
                ui.label(format!("@{}", o.seq));
                ui.colored_label(colors::NAN, &o.began_as);
                ui.label(format!("{} of {}", o.nan + o.posinf + o.neginf, o.count));
                ui.end_row();
            }
        });
}

/// Draws the report; returns a snapshot to move the cursor to.
pub fn show(ui: &mut egui::Ui, state: &ViewerState) -> Option<i64> {
    let run = state.run.as_ref()?;
    let report = match &run.nan {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("looking for the first NaN or Inf");
            });
            return None;
        }
        Some(Err(e)) => {
            ui.colored_label(colors::NAN, e);
            return None;
        }
        Some(Ok(report)) => report,
    };
    let mut jump = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        match &report.first {
            None => {
                ui.label(format!(
                    "The state stays finite in all {} snapshots.",
                    report.snapshots
                ));
            }
            Some(first) => {
                ui.horizontal(|ui| {
                    ui.colored_label(colors::NAN, format!("First NaN/Inf at @{}", first.seq));
                    if ui.button("go there").clicked() {
                        jump = Some(first.seq);
                    }
                });
                let place = match (&first.file, first.line) {
                    (Some(f), Some(l)) => format!("{f}:{l}"),
                    _ => String::new(),
                };
                ui.label(format!(
                    "{} {place} loops {:?}",
                    first.trigger.as_str(),
                    first.loops
                ));
                match report.last_clean {
                    Some(clean) => {
                        ui.horizontal(|ui| {
                            ui.label(format!("Last clean snapshot: @{clean}"));
                            if ui.button("go there").clicked() {
                                jump = Some(clean);
                            }
                        });
                    }
                    None => {
                        ui.label("No clean snapshot before it.");
                    }
                }
                ui.add_space(6.0);
                ui.strong("Began in");
                objects(ui, "nan-began", &report.began);
                if !report.followed.is_empty() {
                    ui.add_space(6.0);
                    ui.strong("Followed");
                    objects(ui, "nan-followed", &report.followed);
                }
            }
        }
        if !report.metrics.is_empty() {
            ui.add_space(6.0);
            ui.strong("Metrics that turned non-finite");
            for m in &report.metrics {
                ui.horizontal(|ui| {
                    ui.monospace(&m.name);
                    ui.label(format!("step {} = {}", number(m.step), number(m.value)));
                    if let Some(seq) = m.seq {
                        if ui.button(format!("@{seq}")).clicked() {
                            jump = Some(seq);
                        }
                    }
                });
            }
        }
        if !report.hooks.is_empty() {
            ui.add_space(6.0);
            ui.label(format!(
                "{} event(s) caught by `run --nan-hooks` (`snapline nan` lists them)",
                report.hooks.len()
            ));
        }
    });
    jump
}
