//! Shapes only the app sends (the rest come from snapline-query as they
//! are). Each derives `ts_rs::TS`: `ui/src/bindings/` is generated from
//! these (tests/bindings.rs), never written by hand.

use serde::Serialize;
use snapline_query::{NanReport, ObjectView, RunSummary, SeriesInfo, SnapshotRow};
use ts_rs::TS;

/// The store the app has open.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StoreInfo {
    pub path: String,
    pub runs: usize,
}

/// What the window learns first: the store, a run to open (the bundle the
/// app was started with, once imported), or an error to show.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Startup {
    pub store: String,
    pub open_run: Option<String>,
    pub error: Option<String>,
}

/// Everything the run screen needs at once.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RunView {
    pub run: RunSummary,
    pub snapshots: Vec<SnapshotRow>,
    pub series: Vec<SeriesInfo>,
    /// The first non-finite snapshot and what followed; null when the run
    /// never went non-finite.
    pub nan: Option<NanReport>,
}

/// The variables at one snapshot, and which changed since the one before.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SnapshotObjects {
    pub objects: Vec<ObjectView>,
    pub changed: Vec<String>,
}

/// Progress of a long task (export, import), sent as the `progress` event.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ProgressEvent {
    pub task: String,
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

/// The `store-changed` event: runs that got snapshots (or appeared, or
/// ended) since the last event.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StoreChanged {
    pub runs: Vec<String>,
}

/// What a failed command rejects with: one line that names the thing and
/// what to do.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AppError {
    pub message: String,
}

impl<E: std::fmt::Display> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError {
            message: e.to_string(),
        }
    }
}
