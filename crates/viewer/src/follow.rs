//! Following a live run: a `notify` watcher on the store directory (or, while
//! it does not exist yet, its parent) marks the window stale and wakes it;
//! the window re-reads at most a few times a second.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// The shortest time between two refreshes of the window.
pub const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// A watcher on the store and whether it saw a change not yet read.
pub struct Follow {
    changed: Arc<AtomicBool>,
    last_refresh: Instant,
    _watcher: Option<RecommendedWatcher>,
    /// Why the store is not followed (shown in the window), if it is not.
    pub problem: Option<String>,
}

impl Follow {
    /// Watches `store_dir` (its catalog's write-ahead log changes at each
    /// committed snapshot); `wake` repaints the window.
    pub fn start(store_dir: &Path, wake: Option<eframe::egui::Context>) -> Follow {
        let changed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&changed);
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if event.kind.is_access() {
                return;
            }
            flag.store(true, Ordering::Relaxed);
            if let Some(ctx) = &wake {
                ctx.request_repaint_after(REFRESH_EVERY);
            }
        };
        let watched: PathBuf = if store_dir.is_dir() {
            store_dir.to_path_buf()
        } else {
            store_dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        let watcher = notify::recommended_watcher(handler).and_then(|mut w| {
            w.watch(&watched, RecursiveMode::NonRecursive)?;
            Ok(w)
        });
        match watcher {
            Ok(w) => Follow {
                changed,
                last_refresh: Instant::now(),
                _watcher: Some(w),
                problem: None,
            },
            Err(e) => Follow {
                changed,
                last_refresh: Instant::now(),
                _watcher: None,
                problem: Some(format!(
                    "not following {}: {e} (the window shows the store as it was when opened)",
                    watched.display()
                )),
            },
        }
    }

    /// True (once) when the store changed and the last refresh is old enough.
    pub fn due(&mut self) -> bool {
        if !self.changed.load(Ordering::Relaxed) || self.last_refresh.elapsed() < REFRESH_EVERY {
            return false;
        }
        self.changed.store(false, Ordering::Relaxed);
        self.last_refresh = Instant::now();
        true
    }

    /// Whether a change is waiting for its refresh.
    pub fn waiting(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }
}
