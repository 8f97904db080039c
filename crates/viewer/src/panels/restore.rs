//! The command that restores the snapshot at the cursor, to copy into a
//! terminal (a Python prompt, the script resumed, or a Jupyter kernel).

use eframe::egui;
use snapline_query::{restore_line, RestoreMode};

use crate::state::ViewerState;

/// The mode picked.
#[derive(Default)]
pub struct RestorePanel {
    pub mode: RestoreMode,
    /// The last line copied (the window says so).
    pub copied: Option<String>,
}

/// The command for the cursor's snapshot, if there is one.
pub fn command(panel: &RestorePanel, state: &ViewerState) -> Option<String> {
    let snap = state.run.as_ref()?.cursor_ref()?;
    Some(restore_line(&state.store_dir, &snap, panel.mode))
}

pub fn show(ui: &mut egui::Ui, panel: &mut RestorePanel, state: &ViewerState) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.strong("Restore");
        ui.selectable_value(&mut panel.mode, RestoreMode::Prompt, "prompt");
        ui.selectable_value(&mut panel.mode, RestoreMode::Resume, "resume");
        ui.selectable_value(&mut panel.mode, RestoreMode::Jupyter, "jupyter");
    });
    let Some(line) = command(panel, state) else {
        ui.weak("No snapshot at the cursor.");
        return;
    };
    ui.horizontal(|ui| {
        if ui.button("Copy").clicked() {
            ui.ctx().copy_text(line.clone());
            panel.copied = Some(line.clone());
        }
        ui.add(egui::Label::new(egui::RichText::new(&line).monospace()).wrap());
    });
    if panel.copied.as_deref() == Some(line.as_str()) {
        ui.weak("copied to the clipboard");
    }
    ui.add_space(4.0);
}
