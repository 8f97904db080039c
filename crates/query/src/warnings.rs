//! What the capture agent could not do in a run (its failsafe turns every
//! error into a warning row instead of a change in the program): a snapshot
//! that failed, a value it could not record, a writer that stopped.

use serde::Serialize;
use snapline_store::Store;

use crate::error::QueryResult;

/// One agent warning (the stable `snapline warnings --json` shape).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentWarning {
    /// Unix time it was recorded.
    pub time: f64,
    /// Seconds since the run started.
    pub offset: f64,
    /// Its first line (what went wrong).
    pub summary: String,
    /// The whole message (with the agent's traceback when there is one).
    pub message: String,
}

/// A run's agent warnings, oldest first, with the run's resolved id.
pub fn run_warnings(store: &Store, name: &str) -> QueryResult<(String, Vec<AgentWarning>)> {
    let id = store.resolve_run(name)?;
    let started = store.run(&id)?.started_at;
    let rows = store
        .warnings(&id)?
        .into_iter()
        .map(|(time, message)| AgentWarning {
            time,
            offset: (time - started).max(0.0),
            summary: message.lines().next().unwrap_or_default().to_string(),
            message,
        })
        .collect();
    Ok((id, rows))
}
