//! Events: what the agent noticed between snapshots (the first non-finite
//! module output or gradient...), each placed after the last snapshot
//! committed before it.

use rusqlite::params;

use crate::catalog::Store;
use crate::error::StoreResult;
use crate::model::Event;

impl Store {
    /// Records one event of a run.
    pub fn add_event(&self, run_id: &str, event: &Event) -> StoreResult<()> {
        self.conn
            .execute(
                "INSERT INTO events (run_id, time, seq, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    run_id,
                    event.time,
                    event.seq,
                    event.kind,
                    event.detail.to_string()
                ],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// A run's events by time (in the order they were recorded when two
    /// share a time), all of them or only those of one `kind`.
    pub fn events(&self, run_id: &str, kind: Option<&str>) -> StoreResult<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, seq, kind, detail FROM events
                 WHERE run_id = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY time, rowid",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![run_id, kind], |r| {
                let detail: String = r.get(3)?;
                Ok(Event {
                    time: r.get(0)?,
                    seq: r.get(1)?,
                    kind: r.get(2)?,
                    // The agent writes JSON; anything else is kept as text.
                    detail: serde_json::from_str(&detail)
                        .unwrap_or(serde_json::Value::String(detail)),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }
}
