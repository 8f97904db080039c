//! The runs of the store, newest first; a click opens one.

use eframe::egui;

use crate::panels::number;
use crate::state::ViewerState;

/// Draws the list; returns the id of the run clicked.
pub fn show(ui: &mut egui::Ui, state: &ViewerState) -> Option<String> {
    ui.heading("Runs");
    if state.runs.is_empty() {
        ui.weak("No runs yet: `snapline run train.py` writes one here.");
        return None;
    }
    let open = state.run.as_ref().map(|r| r.summary.id.as_str());
    let mut clicked = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        for run in state.runs.iter().rev() {
            let script = run.script.rsplit('/').next().unwrap_or(&run.script);
            let mut text = format!("{script}\n{} · {} snapshots", run.status, run.snapshots);
            if let Some(m) = run.last_metrics.first() {
                text.push_str(&format!(" · {} {}", m.name, number(m.value)));
            }
            let selected = open == Some(run.id.as_str());
            let response = ui
                .selectable_label(selected, text)
                .on_hover_text(&run.script);
            ui.weak(egui::RichText::new(&run.id).monospace());
            if response.clicked() && !selected {
                clicked = Some(run.id.clone());
            }
            ui.add_space(4.0);
        }
    });
    clicked
}
