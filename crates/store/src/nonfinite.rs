//! Where NaN and Inf are: the snapshots, paths and metric points that hold
//! them, answered from the stored stats (no chunk is read).
//!
//! Snapshots with non-finite arrays are found through the partial index
//! `snapshots_nonfinite`; the objects inside them by the stats in their
//! records, filtered inside SQLite so that only the bad rows cross over.
//! Whose they are (the user's state or a library object's own) is read from
//! the `extra.owner` marks of the records above them (`entry_owner`).

use rusqlite::{params, OptionalExtension};

use crate::catalog::Store;
use crate::error::StoreResult;
use crate::model::MetricPoint;
use crate::read::metric_from_row;

/// An object holding NaN or Inf at a path of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonfiniteEntry {
    pub seq: i64,
    pub path: String,
    pub node: i64,
    pub hash: String,
    /// Elements in the object (1 for a scalar).
    pub count: u64,
    pub nan: u64,
    pub posinf: u64,
    pub neginf: u64,
}

/// The object at a path of a snapshot, as far as ownership goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryOwner {
    /// Its Python type (`matplotlib.figure.Figure`).
    pub type_name: String,
    /// The record's `extra.owner`: "user" or "library" for an object of a
    /// class (whose values are what it holds), None for the others (a
    /// container, an array) and for records captured before the marks.
    pub owner: Option<String>,
}

const STAT: &str = "json_extract(o.record, '$.stats.";

impl Store {
    /// The seqs of a run's snapshots whose arrays hold NaN or Inf, from
    /// `after` (exclusive), at most `limit` of them, in order.
    pub fn nonfinite_seqs(&self, run_id: &str, after: i64, limit: usize) -> StoreResult<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq FROM snapshots INDEXED BY snapshots_nonfinite
                 WHERE run_id = ?1 AND nonfinite > 0 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(self.sql())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![run_id, after, limit], |r| r.get(0))
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The last snapshot of a run before `seq`, if any.
    pub fn seq_before(&self, run_id: &str, seq: i64) -> StoreResult<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MAX(seq) FROM snapshots WHERE run_id = ?1 AND seq < ?2",
                params![run_id, seq],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// The first snapshot of a run taken at or after `time`, if any (where
    /// a metric point recorded between snapshots shows first).
    pub fn seq_at_or_after(&self, run_id: &str, time: f64) -> StoreResult<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MIN(seq) FROM snapshots WHERE run_id = ?1 AND time >= ?2",
                params![run_id, time],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Every path of the snapshots `from..=to` of a run whose object (array
    /// or scalar) holds NaN or Inf according to its stored stats.
    pub fn nonfinite_entries(
        &self,
        run_id: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<NonfiniteEntry>> {
        let sql = format!(
            "SELECT e.seq, e.path, e.node, e.hash,
                    {STAT}count'), {STAT}nan'), {STAT}posinf'), {STAT}neginf')
             FROM entries e JOIN objects o ON o.hash = e.hash
             WHERE e.run_id = ?1 AND e.seq BETWEEN ?2 AND ?3
               AND ({STAT}nan') > 0 OR {STAT}posinf') > 0 OR {STAT}neginf') > 0)
             ORDER BY e.seq, e.path"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.sql())?;
        let count = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<u64> {
            Ok(u64::try_from(r.get::<_, Option<i64>>(i)?.unwrap_or(0)).unwrap_or(0))
        };
        let rows = stmt
            .query_map(params![run_id, from, to], |r| {
                Ok(NonfiniteEntry {
                    seq: r.get(0)?,
                    path: r.get(1)?,
                    node: r.get(2)?,
                    hash: r.get(3)?,
                    count: count(r, 4)?,
                    nan: count(r, 5)?,
                    posinf: count(r, 6)?,
                    neginf: count(r, 7)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The type and owner mark of the object at `path` in snapshot `seq`,
    /// or None when no object sits at that path.
    pub fn entry_owner(
        &self,
        run_id: &str,
        seq: i64,
        path: &str,
    ) -> StoreResult<Option<EntryOwner>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json_extract(o.record, '$.type'), json_extract(o.record, '$.extra.owner')
                 FROM entries e JOIN objects o ON o.hash = e.hash
                 WHERE e.run_id = ?1 AND e.seq = ?2 AND e.path = ?3",
            )
            .map_err(self.sql())?;
        stmt.query_row(params![run_id, seq, path], |r| {
            Ok(EntryOwner {
                type_name: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                owner: r.get::<_, Option<String>>(1).ok().flatten(),
            })
        })
        .optional()
        .map_err(self.sql())
    }

    /// The first finite point of a series in time, if any.
    pub fn first_finite_metric(
        &self,
        run_id: &str,
        name: &str,
    ) -> StoreResult<Option<MetricPoint>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, step, value, time, seq, epoch FROM metrics
                 WHERE run_id = ?1 AND name = ?2 AND value IS NOT NULL
                   AND value <= 1.7976931348623157e308 AND value >= -1.7976931348623157e308
                 ORDER BY time LIMIT 1",
            )
            .map_err(self.sql())?;
        stmt.query_row(params![run_id, name], metric_from_row)
            .optional()
            .map_err(self.sql())
    }

    /// The non-finite points of a series later than `after` (a time), in
    /// time order, at most `limit` of them.
    pub fn nonfinite_metric_points(
        &self,
        run_id: &str,
        name: &str,
        after: f64,
        limit: usize,
    ) -> StoreResult<Vec<MetricPoint>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, step, value, time, seq, epoch FROM metrics
                 WHERE run_id = ?1 AND name = ?2
                   AND (value IS NULL OR value > 1.7976931348623157e308 OR value < -1.7976931348623157e308)
                   AND time > ?3
                 ORDER BY time LIMIT ?4",
            )
            .map_err(self.sql())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![run_id, name, after, limit], metric_from_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The first NaN or infinite point of each metric series of a run,
    /// by series name.
    pub fn first_nonfinite_metrics(&self, run_id: &str) -> StoreResult<Vec<MetricPoint>> {
        // NaN is stored as NULL (SQLite has no NaN); infinities as REAL.
        let mut stmt = self
            .conn
            .prepare_cached(FIRST_NONFINITE_METRICS)
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([run_id], metric_from_row)
            .map_err(self.sql())?;
        let mut first: Vec<MetricPoint> = Vec::new();
        for row in rows {
            let point = row.map_err(self.sql())?;
            if first.last().is_none_or(|p| p.name != point.name) {
                first.push(point);
            }
        }
        Ok(first)
    }
}

/// The non-finite points of a run's series, in order (NaN is stored as
/// NULL: SQLite has no NaN; the infinities as REAL). The condition is word
/// for word the one of the partial index `metrics_nonfinite` (migration
/// 0005), which SQLite then reads instead of every point.
pub const FIRST_NONFINITE_METRICS: &str = "SELECT name, step, value, time, seq, epoch FROM metrics
     WHERE run_id = ?1
       AND (value IS NULL OR value > 1.7976931348623157e308 OR value < -1.7976931348623157e308)
     ORDER BY name, step, time";
