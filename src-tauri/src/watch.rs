//! Live runs: notify watches the store directory; every commit touches the
//! catalog's write-ahead log. After a short settle (so a burst of commits is
//! one event) the runs are listed again and the `store-changed` event names
//! those whose snapshot count or status moved (or that appeared).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tauri::{AppHandle, Emitter, Runtime};

use crate::commands::open_store;
use crate::views::StoreChanged;

/// How long changes settle before the runs are listed again.
const SETTLE: Duration = Duration::from_millis(150);

/// Per run: (snapshots, status).
type Seen = HashMap<String, (i64, String)>;

fn look(dir: &std::path::Path) -> Seen {
    let Ok(store) = open_store(dir) else {
        return Seen::new();
    };
    snapline_query::list_runs(&store)
        .map(|runs| {
            runs.into_iter()
                .map(|r| (r.id, (r.snapshots, r.status)))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs whose entry differs between two looks.
pub fn changed(before: &Seen, now: &Seen) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(id, v)| before.get(*id) != Some(v))
        .map(|(id, _)| id.clone())
        .collect();
    out.extend(before.keys().filter(|id| !now.contains_key(*id)).cloned());
    out.sort();
    out
}

/// Starts watching `dir` (created if missing, so a first capture is seen).
/// The watcher lives as long as the returned handle.
pub fn watch<R: Runtime>(app: AppHandle<R>, dir: PathBuf) -> notify::Result<RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    })?;
    let _ = std::fs::create_dir_all(&dir);
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    std::thread::spawn(move || {
        let mut seen = look(&dir);
        while rx.recv().is_ok() {
            std::thread::sleep(SETTLE);
            while rx.try_recv().is_ok() {}
            let now = look(&dir);
            let runs = changed(&seen, &now);
            seen = now;
            if !runs.is_empty() {
                let _ = app.emit("store-changed", StoreChanged { runs });
            }
        }
    });
    Ok(watcher)
}
