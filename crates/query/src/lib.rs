//! The questions every Snapline front end asks, answered from the store:
//! which runs exist, a run's timeline of snapshots, the objects of a
//! snapshot, metric series. Front ends never write SQL or re-derive these.
//! Nothing here unpickles anything.

mod error;
mod metrics;
mod objects;
mod reference;
mod runs;
mod verify;

pub use error::{QueryError, QueryResult};
pub use metrics::{list_series, metric_series, resolve_series, Series, SeriesInfo};
pub use objects::{show_object, show_snapshot, ObjectView};
pub use reference::{resolve_snapshot, SnapshotRef};
pub use runs::{list_runs, run_log, run_summary, RunSummary, SnapshotRow};
pub use snapline_store::{Stats, Store};
pub use verify::{verify_snapshot, Verification};
