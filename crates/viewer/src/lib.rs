//! The native viewer behind `snapline view`: one eframe window over a store,
//! reading everything through crates/query (runs, a timeline to scrub,
//! a chart per metric series, the variables at the cursor, the first NaN,
//! the diff of two snapshots, the restore command), following a live run.

mod app;
mod follow;
pub mod panels;
mod state;

use std::path::{Path, PathBuf};

pub use app::{SideTab, ViewerApp};
pub use state::{chart_axis, AtCursor, RunState, SeriesSlot, ViewerState};

/// Why the viewer could not start.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("could not open the viewer's window: {0} (it needs a display, X11 or Wayland with OpenGL; without one, read the store with `snapline log`, `show`, `metrics`)")]
    Window(String),
}

/// What to open: a store and, optionally, a run in it.
#[derive(Clone, Debug)]
pub struct ViewerOptions {
    pub store: PathBuf,
    /// An id prefix or `last`; default: the newest run.
    pub run: Option<String>,
}

/// The window's title for a store.
pub fn window_title(store: &Path) -> String {
    format!("Snapline: {}", store.display())
}

/// Opens the viewer window and returns when it is closed.
pub fn run_viewer(options: ViewerOptions) -> Result<(), ViewerError> {
    let title = window_title(&options.store);
    let native = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title(title.clone())
            .with_inner_size([1400.0, 860.0]),
        ..Default::default()
    };
    eframe::run_native(
        &title,
        native,
        Box::new(move |cc| {
            Ok(Box::new(ViewerApp::new(
                &options,
                Some(cc.egui_ctx.clone()),
                true,
            )))
        }),
    )
    .map_err(|e| ViewerError::Window(e.to_string()))
}
