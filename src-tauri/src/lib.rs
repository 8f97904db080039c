//! Snapline's desktop app: the Tauri shell around `ui/`. Every command is a
//! thin call into snapline-query (commands.rs); the types the window gets
//! are generated into `ui/src/bindings/` by ts-rs (tests/bindings.rs); the
//! store is watched for live runs (watch.rs); restore.rs starts the
//! `snapline` tool to resume a snapshot or start a Jupyter kernel, and
//! console.rs runs it behind a pseudo-terminal for the in-app console.

pub mod commands;
pub mod console;
pub mod progress;
pub mod restore;
pub mod series_cache;
pub mod views;
pub mod watch;

use std::path::PathBuf;

use clap::Parser;
use tauri::{Manager, Runtime};

use crate::commands::AppState;

/// `snapline-app [--store DIR] [BUNDLE.snapline]` (`snapline open` starts it).
#[derive(Debug, Parser)]
#[command(name = "snapline-app", version, about = "Snapline's desktop app")]
pub struct Args {
    /// The store directory.
    #[arg(long, env = "SNAPLINE_STORE", default_value = ".snapline")]
    pub store: PathBuf,
    /// A bundle to import into the store and open.
    pub bundle: Option<PathBuf>,
    /// A run to open first (an id prefix or `last`).
    #[arg(long)]
    pub run: Option<String>,
}

/// Adds the app's commands and state to `builder`, on any runtime (the
/// real one, or tauri's mock runtime in tests).
pub fn configure<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder
        .manage(state)
        .manage(series_cache::SeriesCache::default())
        .manage(restore::Processes::default())
        .manage(console::Consoles::default())
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::store_info,
            commands::list_runs,
            commands::open_run,
            commands::series_view,
            commands::snapshot_objects,
            commands::object_detail,
            commands::object_history,
            commands::array_picture,
            commands::diff_snapshots,
            commands::first_nan,
            commands::agent_warnings,
            commands::run_table,
            commands::model_view,
            commands::restore_command,
            commands::export_bundle,
            commands::import_bundle,
            restore::restore_resume,
            restore::resume_status,
            restore::kernel_start,
            console::console_open,
            console::console_input,
            console::console_resize,
            console::console_close,
        ])
}

/// Starts the app window; returns the exit status.
pub fn run() -> i32 {
    let args = Args::parse();
    let store_dir = std::path::absolute(&args.store).unwrap_or(args.store.clone());
    let state = AppState {
        store_dir: store_dir.clone(),
        bundle: args.bundle.clone(),
        run: args.run.clone(),
        opened: std::sync::Mutex::new(None),
    };
    let app = configure(tauri::Builder::default(), state)
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            match watch::watch(app.handle().clone(), store_dir.clone()) {
                Ok(watcher) => {
                    app.manage(watcher);
                }
                Err(e) => eprintln!(
                    "snapline-app: not watching {} for live runs: {e}",
                    store_dir.display()
                ),
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(|handle, event| {
                // The consoles' Python processes end with the app (resumed
                // runs and kernels go on: they are detached).
                if let tauri::RunEvent::Exit = event {
                    handle.state::<console::Consoles>().close_all();
                }
            });
            0
        }
        Err(e) => {
            eprintln!("snapline-app: the window could not start: {e}");
            1
        }
    }
}
