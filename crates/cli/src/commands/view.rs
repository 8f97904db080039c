//! `snapline view [RUN]`: the native viewer (crates/viewer) on this store.

use std::path::{Path, PathBuf};

/// What `view --json` would open.
#[derive(serde::Serialize)]
struct WouldOpen {
    store: PathBuf,
    run: Option<String>,
    title: String,
}

pub fn view(store: &Path, run: Option<&str>, json: bool) -> anyhow::Result<()> {
    if let Some(run) = run {
        // A run named on the command line must exist; with none, the viewer
        // also opens on a store that does not exist yet and waits for it.
        let opened = crate::commands::open_store(store)?;
        snapline_query::run_summary(&opened, run)?;
    }
    let store = std::path::absolute(store).unwrap_or_else(|_| store.to_path_buf());
    if json {
        // A window has no JSON form: say what would open, and open nothing.
        return crate::commands::print_json(&WouldOpen {
            title: snapline_viewer::window_title(&store),
            store,
            run: run.map(str::to_string),
        });
    }
    snapline_viewer::run_viewer(snapline_viewer::ViewerOptions {
        store,
        run: run.map(str::to_string),
    })?;
    Ok(())
}
