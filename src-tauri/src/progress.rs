//! Progress of export and import as `progress` events for the window's bar
//! (at most one event per percent, so a 1 GiB import sends ~100 per phase).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use snapline_bundle::Progress;
use tauri::{AppHandle, Emitter, Runtime};

use crate::views::ProgressEvent;

pub struct EmitProgress<R: Runtime> {
    app: AppHandle<R>,
    task: String,
    phase: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
    sent_percent: AtomicU64,
}

impl<R: Runtime> EmitProgress<R> {
    pub fn new(app: AppHandle<R>, task: &str) -> Self {
        EmitProgress {
            app,
            task: task.to_owned(),
            phase: Mutex::new(String::new()),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            sent_percent: AtomicU64::new(0),
        }
    }

    fn send(&self, done: u64) {
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        let _ = self.app.emit(
            "progress",
            ProgressEvent {
                task: self.task.clone(),
                phase,
                done,
                total: self.total.load(Ordering::Relaxed),
            },
        );
    }
}

impl<R: Runtime> Progress for EmitProgress<R> {
    fn start(&self, phase: &str, total: u64) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase.to_owned();
        }
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.sent_percent.store(0, Ordering::Relaxed);
        self.send(0);
    }

    fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let total = self.total.load(Ordering::Relaxed).max(1);
        let percent = done.saturating_mul(100) / total;
        if percent > self.sent_percent.fetch_max(percent, Ordering::Relaxed) {
            self.send(done);
        }
    }

    fn finish(&self) {
        self.send(self.total.load(Ordering::Relaxed));
    }
}
