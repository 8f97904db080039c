//! The window's layout and keyboard: runs on the left, the timeline at the
//! bottom, charts in the middle, a side panel (variables, first NaN, diff)
//! and the restore command on the right.

use eframe::egui::{self, Key};

use crate::follow::Follow;
use crate::panels::charts::ChartPanel;
use crate::panels::diff::DiffPanel;
use crate::panels::restore::RestorePanel;
use crate::panels::{charts, diff, nan, restore, runs, timeline, variables};
use crate::state::ViewerState;
use crate::ViewerOptions;

/// Which view the side panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    Variables,
    FirstNan,
    Diff,
}

/// The whole viewer: its state and each panel's own settings.
pub struct ViewerApp {
    pub state: ViewerState,
    pub tab: SideTab,
    pub charts: ChartPanel,
    pub diff: DiffPanel,
    pub restore: RestorePanel,
    /// Variables list: only those that changed since the previous snapshot.
    pub changed_only: bool,
    /// Variables list: the path of the row shown in full below it.
    pub selected_path: Option<String>,
    follow: Option<Follow>,
}

impl ViewerApp {
    /// Opens the store; `wake` (the window's context) lets the loader and
    /// the store watcher repaint it. Without `follow`, the store is read once.
    pub fn new(options: &ViewerOptions, wake: Option<egui::Context>, follow: bool) -> ViewerApp {
        let state = ViewerState::open(&options.store, options.run.as_deref(), wake.clone());
        let follow = follow.then(|| Follow::start(&options.store, wake));
        let mut app = ViewerApp {
            state,
            tab: SideTab::Variables,
            charts: ChartPanel::default(),
            diff: DiffPanel::default(),
            restore: RestorePanel::default(),
            changed_only: false,
            selected_path: None,
            follow,
        };
        app.diff.reset(app.state.run.as_ref());
        app
    }

    /// One frame of the window, drawn into `ui` (the whole viewport).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.follow_store(ui.ctx());
        self.state.receive_loaded();
        self.keyboard(ui.ctx());

        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::left("runs")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| {
                if let Some(id) = runs::show(ui, &self.state) {
                    self.state.select_run(&id);
                    self.diff.reset(self.state.run.as_ref());
                }
            });
        egui::Panel::bottom("timeline")
            .exact_size(86.0)
            .show(ui, |ui| timeline::show(ui, &mut self.state));
        egui::Panel::right("side")
            .resizable(true)
            .default_size(470.0)
            .show(ui, |ui| self.side(ui));
        egui::CentralPanel::default()
            .show(ui, |ui| charts::show(ui, &mut self.charts, &mut self.state));
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Snapline");
            if let Some(run) = &self.state.run {
                ui.separator();
                ui.label(format!(
                    "{} · {} · {} snapshots",
                    run.summary.script,
                    run.summary.status,
                    run.rows.len()
                ));
                ui.monospace(&run.summary.id);
            }
            if let Some(follow) = &self.follow {
                ui.separator();
                match &follow.problem {
                    Some(p) => ui.colored_label(egui::Color32::from_rgb(200, 120, 0), p),
                    None => ui.weak("following"),
                };
            }
            ui.separator();
            ui.weak(self.state.store_dir.display().to_string());
        });
        if let Some(error) = &self.state.error {
            ui.colored_label(egui::Color32::from_rgb(210, 60, 60), error);
        }
    }

    fn side(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("restore")
            .show(ui, |ui| restore::show(ui, &mut self.restore, &self.state));
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, SideTab::Variables, "Variables");
            ui.selectable_value(&mut self.tab, SideTab::FirstNan, "First NaN");
            ui.selectable_value(&mut self.tab, SideTab::Diff, "Diff");
        });
        ui.separator();
        match self.tab {
            SideTab::Variables => variables::show(
                ui,
                &self.state,
                &mut self.changed_only,
                &mut self.selected_path,
            ),
            SideTab::FirstNan => {
                if let Some(seq) = nan::show(ui, &self.state) {
                    self.state.seek_seq(seq);
                }
            }
            SideTab::Diff => diff::show(ui, &mut self.diff, &self.state),
        }
    }

    /// Left/Right: one snapshot; Page Up/Down: ten; Home/End: the first/last.
    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (left, right, home, end, page_up, page_down) = ctx.input(|i| {
            (
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
                i.key_pressed(Key::PageUp),
                i.key_pressed(Key::PageDown),
            )
        });
        let mut delta = 0i64;
        if left {
            delta -= 1;
        }
        if right {
            delta += 1;
        }
        if page_up {
            delta -= 10;
        }
        if page_down {
            delta += 10;
        }
        if home {
            delta = i64::MIN / 2;
        }
        if end {
            delta = i64::MAX / 2;
        }
        if delta != 0 {
            self.state.step_cursor(delta);
        }
    }

    /// Re-reads the store when the watcher saw it change.
    fn follow_store(&mut self, ctx: &egui::Context) {
        let Some(follow) = &mut self.follow else {
            return;
        };
        if follow.due() {
            let had_store = self.state.store.is_some();
            self.state.refresh_runs();
            if self.state.run.is_none() {
                if let Some(last) = self.state.runs.last().map(|r| r.id.clone()) {
                    self.state.select_run(&last);
                    self.diff.reset(self.state.run.as_ref());
                }
            } else {
                self.state.refresh_run();
            }
            if !had_store && self.state.store.is_some() {
                // The store appeared: watch it rather than its parent.
                self.follow = Some(Follow::start(&self.state.store_dir, Some(ctx.clone())));
            }
        } else if follow.waiting() {
            ctx.request_repaint_after(crate::follow::REFRESH_EVERY);
        }
    }
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
