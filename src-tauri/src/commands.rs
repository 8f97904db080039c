//! The commands the window calls. Each is a thin call into snapline-query
//! (or snapline-bundle for export and import): open the store, ask, return
//! the answer as it is. Nothing here unpickles anything.

use std::path::{Path, PathBuf};

use snapline_bundle::{export_bundle as write_bundle, import_bundle as read_bundle, Scope};
use snapline_query::{
    array_picture as query_picture, changed_paths, diff_snapshots as query_diff, first_nonfinite,
    list_runs as query_runs, list_series, model_view as query_model_view,
    object_history as query_history, order_by_importance, resolve_run_name, resolve_snapshot,
    run_log, run_summary, run_table as query_run_table, run_warnings, show_object, show_snapshot,
    variable_categories, AgentWarning, ArrayPicture, DiffOptions, ModelView, NanReport, ObjectView,
    RestoreMode, RunSummary, RunTable, RunTableOptions, SeriesView, SnapshotDiff, SnapshotRef,
    StatsPoint, TensorFormat, ViewOptions,
};
use snapline_store::Store;
use tauri::{Emitter, Runtime, State};

use crate::progress::EmitProgress;
use crate::series_cache::SeriesCache;
use crate::views::{AppError, RunView, SnapshotObjects, Startup, StoreInfo};

/// What every command shares: where the store is, and the bundle the app
/// was started with (imported by the first `startup` call).
pub struct AppState {
    pub store_dir: PathBuf,
    pub bundle: Option<PathBuf>,
    /// A run to open first (`--run`: an id prefix or `last`).
    pub run: Option<String>,
    /// What `startup` answered, so a reloaded window does not import again.
    pub opened: std::sync::Mutex<Option<Startup>>,
}

type Answer<T> = Result<T, AppError>;

/// Opens the store, or says plainly why not (no store there, a newer
/// format, locked, damaged).
pub fn open_store(dir: &Path) -> Answer<Store> {
    if !dir.join("catalog.sqlite").is_file() {
        return Err(AppError {
            message: format!(
                "no Snapline store at {}: capture a run there with `snapline run script.py`, or start the app with `snapline open --store DIR`",
                dir.display()
            ),
        });
    }
    Store::open(dir).map_err(AppError::from)
}

fn store(state: &State<'_, AppState>) -> Answer<Store> {
    open_store(&state.store_dir)
}

/// The first call of the window: the store, and the run to open (the
/// bundle the app was started with, imported now), or why not.
#[tauri::command]
pub async fn startup<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Answer<Startup> {
    if let Ok(slot) = state.opened.lock() {
        if let Some(done) = slot.as_ref() {
            return Ok(done.clone());
        }
    }
    let mut answer = Startup {
        store: state.store_dir.display().to_string(),
        open_run: None,
        error: None,
    };
    if let Some(bundle) = &state.bundle {
        let progress = EmitProgress::new(app, "import");
        match read_bundle(&state.store_dir, bundle, &progress) {
            Ok(done) => answer.open_run = Some(done.run),
            Err(e) => answer.error = Some(format!("{}: {e}", bundle.display())),
        }
    } else {
        match open_store(&state.store_dir) {
            Err(e) => answer.error = Some(e.message),
            Ok(store) => {
                if let Some(run) = &state.run {
                    match store.resolve_run(run) {
                        Ok(id) => answer.open_run = Some(id),
                        Err(e) => answer.error = Some(e.to_string()),
                    }
                }
            }
        }
    }
    if let Ok(mut slot) = state.opened.lock() {
        *slot = Some(answer.clone());
    }
    Ok(answer)
}

#[tauri::command]
pub async fn store_info(state: State<'_, AppState>) -> Answer<StoreInfo> {
    let runs = match open_store(&state.store_dir) {
        Ok(store) => query_runs(&store)?.len(),
        Err(_) => 0,
    };
    Ok(StoreInfo {
        path: state.store_dir.display().to_string(),
        runs,
    })
}

#[tauri::command]
pub async fn list_runs(state: State<'_, AppState>) -> Answer<Vec<RunSummary>> {
    Ok(query_runs(&store(&state)?)?)
}

#[tauri::command]
pub async fn open_run(state: State<'_, AppState>, run: String) -> Answer<RunView> {
    let store = store(&state)?;
    let summary = run_summary(&store, &run)?;
    let (_, mut snapshots) = run_log(&store, &summary.id)?;
    // Where the program was (frames, loop counters) is for `restore
    // --resume`; the window never reads it, and for 10,000 snapshots it is
    // most of the bytes to send and parse.
    for s in &mut snapshots {
        s.position = None;
    }
    let series = list_series(&store, &summary.id)?;
    let nan = first_nonfinite(&store, &summary.id)?;
    let (_, warnings) = run_warnings(&store, &summary.id)?;
    Ok(RunView {
        run: summary,
        snapshots,
        series,
        nan: nan.first.is_some().then_some(nan),
        warnings,
    })
}

#[tauri::command]
#[allow(clippy::too_many_arguments)] // one per view option, as the window sends them
pub async fn series_view(
    state: State<'_, AppState>,
    cache: State<'_, SeriesCache>,
    run: String,
    name: String,
    x: String,
    from: Option<f64>,
    to: Option<f64>,
    width: u32,
    smooth: Option<f64>,
    log_y: bool,
) -> Answer<SeriesView> {
    let store = store(&state)?;
    let opts = ViewOptions {
        x_axis: x.parse()?,
        x_min: from,
        x_max: to,
        width_px: width,
        smoothing: smooth.unwrap_or(0.0),
        log_y,
    };
    opts.validate()?;
    let series = cache.get(&store, &run, &name, opts.x_axis)?;
    Ok(series.view(&opts)?)
}

/// A snapshot named by its run (id prefix or `last`) and seq, through the
/// query's own `RUN@SEQ` resolution.
fn snapshot_ref(store: &Store, run: &str, seq: i64) -> Answer<SnapshotRef> {
    Ok(resolve_snapshot(store, &format!("{run}@{seq}"))?)
}

/// The runs table: columns from each run's arguments, configs and
/// framework hyperparameters and its final/min/max metrics, filtered
/// (`lr < 0.01 and final val_acc > 0.9`), sorted and cut to `columns`.
/// A bad filter answers an error naming the character and what was expected.
#[tauri::command]
pub async fn run_table(state: State<'_, AppState>, options: RunTableOptions) -> Answer<RunTable> {
    Ok(query_run_table(&store(&state)?, &options)?)
}

/// A torch module's layer tree with parameter counts, or an optimizer's
/// state grouped by the parameter it belongs to, at `path` of a snapshot.
#[tauri::command]
pub async fn model_view(
    state: State<'_, AppState>,
    run: String,
    seq: i64,
    path: String,
) -> Answer<ModelView> {
    let store = store(&state)?;
    let snap = snapshot_ref(&store, &run, seq)?;
    Ok(query_model_view(&store, &snap, &path)?)
}

#[tauri::command]
pub async fn snapshot_objects(
    state: State<'_, AppState>,
    run: String,
    seq: i64,
) -> Answer<SnapshotObjects> {
    let store = store(&state)?;
    let snap = snapshot_ref(&store, &run, seq)?;
    // Models, optimizers, tensors, data, the rest, then code.
    let objects = order_by_importance(show_snapshot(&store, &snap, false)?);
    let categories = variable_categories(&objects);
    Ok(SnapshotObjects {
        objects,
        categories,
        changed: changed_paths(&store, &snap.run, snap.seq)?,
    })
}

#[tauri::command]
pub async fn object_detail(
    state: State<'_, AppState>,
    run: String,
    seq: i64,
    path: String,
) -> Answer<ObjectView> {
    let store = store(&state)?;
    let snap = snapshot_ref(&store, &run, seq)?;
    Ok(show_object(&store, &snap, &path)?)
}

/// Histogram bins and heatmap cells a side the detail pane draws.
const PICTURE_BINS: usize = 48;
const PICTURE_GRID: usize = 64;

#[tauri::command]
pub async fn array_picture(
    state: State<'_, AppState>,
    run: String,
    seq: i64,
    path: String,
) -> Answer<ArrayPicture> {
    let store = store(&state)?;
    let snap = snapshot_ref(&store, &run, seq)?;
    Ok(query_picture(
        &store,
        &snap,
        &path,
        PICTURE_BINS,
        PICTURE_GRID,
    )?)
}

#[tauri::command]
pub async fn object_history(
    state: State<'_, AppState>,
    run: String,
    path: String,
) -> Answer<Vec<StatsPoint>> {
    let store = store(&state)?;
    let id = store.resolve_run(&run)?;
    Ok(query_history(&store, &id, &path)?)
}

#[tauri::command]
pub async fn diff_snapshots(
    state: State<'_, AppState>,
    a: String,
    b: String,
) -> Answer<SnapshotDiff> {
    let store = store(&state)?;
    let a = resolve_snapshot(&store, &a)?;
    let b = resolve_snapshot(&store, &b)?;
    Ok(query_diff(&store, &a, &b, &DiffOptions::default())?)
}

#[tauri::command]
pub async fn first_nan(state: State<'_, AppState>, run: String) -> Answer<NanReport> {
    let store = store(&state)?;
    let id = store.resolve_run(&run)?;
    Ok(first_nonfinite(&store, &id)?)
}

/// What the capture agent could not do in a run (`snapline warnings RUN`).
#[tauri::command]
pub async fn agent_warnings(state: State<'_, AppState>, run: String) -> Answer<Vec<AgentWarning>> {
    let store = store(&state)?;
    Ok(run_warnings(&store, &run)?.1)
}

/// The command line that restores `snapshot` (`resume`: the script goes on
/// as a new run; `repl`: a Python prompt; `kernel`: a Jupyter kernel),
/// written by the query crate as the CLI and the viewer write it.
pub fn restore_line(store_dir: &Path, snapshot: &SnapshotRef, mode: &str) -> Answer<String> {
    let mode = RestoreMode::from_name(mode).ok_or_else(|| AppError {
        message: format!("unknown restore mode {mode:?}: use resume, repl or kernel"),
    })?;
    Ok(snapline_query::restore_line(store_dir, snapshot, mode))
}

#[tauri::command]
pub async fn restore_command(
    state: State<'_, AppState>,
    snapshot: String,
    mode: String,
) -> Answer<String> {
    let store = store(&state)?;
    let snap = resolve_snapshot(&store, &snapshot)?;
    restore_line(&state.store_dir, &snap, &mode)
}

/// What a bundle export covers: `RUN@SEQ` (and `RUN@first`, `RUN@last`,
/// `RUN@step:N`) one snapshot, a bare RUN (an id prefix, `last`, a group
/// rank) the whole run; both through the query's name resolution.
fn export_scope(store: &Store, what: &str) -> Answer<(String, Scope)> {
    if what.contains('@') {
        let snap = resolve_snapshot(store, what)?;
        Ok((snap.run, Scope::Snapshot(snap.seq)))
    } else {
        Ok((resolve_run_name(store, what)?, Scope::Run))
    }
}

#[tauri::command]
pub async fn export_bundle<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    snapshot: String,
    path: String,
    format: String,
) -> Answer<String> {
    let store = store(&state)?;
    let out = PathBuf::from(&path);
    match format.as_str() {
        "snapline" => {
            let (run, scope) = export_scope(&store, &snapshot)?;
            let progress = EmitProgress::new(app.clone(), "export");
            let done = write_bundle(&store, &run, scope, &out, &progress)?;
            Ok(format!(
                "wrote {} ({} snapshot{}, {} chunks)",
                done.path.display(),
                done.snapshots,
                if done.snapshots == 1 { "" } else { "s" },
                done.chunks
            ))
        }
        name => {
            let Some(format) = TensorFormat::from_name(name) else {
                return Err(AppError {
                    message: format!(
                        "unknown export format {name:?}: use snapline, safetensors or npz"
                    ),
                });
            };
            let snap = resolve_snapshot(&store, &snapshot)?;
            let done = snapline_query::export_tensors(&store, &snap, format, &out)?;
            let _ = app.emit(
                "progress",
                crate::views::ProgressEvent {
                    task: "export".into(),
                    phase: "done".into(),
                    done: 1,
                    total: 1,
                },
            );
            Ok(format!("wrote {} ({} arrays)", out.display(), done.arrays))
        }
    }
}

#[tauri::command]
pub async fn import_bundle<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    path: String,
) -> Answer<String> {
    let progress = EmitProgress::new(app, "import");
    let done = read_bundle(&state.store_dir, Path::new(&path), &progress)?;
    Ok(done.run)
}
