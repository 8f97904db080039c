//! Shapes only the app sends (the rest come from snapline-query as they
//! are). Each derives `ts_rs::TS`: `ui/src/bindings/` is generated from
//! these (tests/bindings.rs), never written by hand.

use serde::Serialize;
use snapline_query::{
    AgentWarning, NanReport, ObjectView, RunSummary, SeriesInfo, SnapshotRow, VariableCategory,
};
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
    /// What the capture agent could not do (a snapshot that failed...),
    /// oldest first; empty when nothing went wrong.
    pub warnings: Vec<AgentWarning>,
}

/// The variables at one snapshot, and which changed since the one before.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SnapshotObjects {
    /// Ordered by what matters: models, optimizers, tensors, data, the
    /// rest, code (imported modules, classes, functions, parsers) last;
    /// each variable's nested arrays right after it.
    pub objects: Vec<ObjectView>,
    /// The category of each object's variable (a nested array counts as
    /// its variable's), parallel to `objects`.
    pub categories: Vec<VariableCategory>,
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

/// `restore_resume`'s answer: the `snapline restore --resume` process
/// started, and the file its output goes to.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ResumeStarted {
    pub pid: u32,
    pub log: String,
}

/// `resume_status`'s answer: whether the resumed process still runs, its
/// exit code once it ended (null while running, or when a signal ended it),
/// and the last lines of its log.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ResumeStatus {
    pub running: bool,
    pub exit_code: Option<i32>,
    pub log_tail: String,
}

/// `kernel_start`'s answer: a Jupyter kernel holding a snapshot's state, and
/// the command that connects to it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct KernelStarted {
    pub connection_file: String,
    pub pid: u32,
    pub command: String,
}

/// The `console-output` event: output of the in-app console `id` (UTF-8;
/// a character split between two reads arrives whole in the second).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ConsoleOutput {
    pub id: u32,
    pub data: String,
}

/// The `console-exit` event: console `id`'s process ended (its exit code;
/// null when unknown).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ConsoleExit {
    pub id: u32,
    pub code: Option<i32>,
}
