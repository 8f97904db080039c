//! Reading: runs, snapshots, entries, object records, chunks, metrics.
//! Readers see only committed snapshots.

use rusqlite::{params, OptionalExtension, Row};

use crate::catalog::Store;
use crate::chunks::decode_verified;
use crate::error::{StoreError, StoreResult};
use crate::model::{
    EntryRow, MetricPoint, ObjectRecord, PointRow, RunRecord, RunStatus, SnapshotMeta, Trigger,
};

const RUN_COLUMNS: &str =
    "r.id, r.ordinal, r.script, r.status, r.started_at, r.ended_at, r.exit_code,
     r.exception, r.parent_run, r.parent_seq, r.lineage,
     (SELECT COUNT(*) FROM snapshots s WHERE s.run_id = r.id),
     (SELECT COALESCE(SUM(bytes_new), 0) FROM snapshots s WHERE s.run_id = r.id), r.origin";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let status: String = row.get(3)?;
    let exception: Option<String> = row.get(7)?;
    let lineage: String = row.get(10)?;
    Ok(RunRecord {
        id: row.get(0)?,
        ordinal: row.get(1)?,
        script: row.get(2)?,
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Failed),
        started_at: row.get(4)?,
        ended_at: row.get(5)?,
        exit_code: row.get(6)?,
        exception: exception.and_then(|e| serde_json::from_str(&e).ok()),
        parent_run: row.get(8)?,
        parent_seq: row.get(9)?,
        lineage: serde_json::from_str(&lineage).unwrap_or(serde_json::Value::Null),
        snapshots: row.get(11)?,
        bytes_new: row.get(12)?,
        origin: row
            .get::<_, Option<String>>(13)?
            .and_then(|o| serde_json::from_str(&o).ok()),
    })
}

/// A metric point from `SELECT name, step, value, time, seq, epoch`
/// (NaN is stored as NULL: SQLite has no NaN).
pub(crate) fn metric_from_row(r: &Row<'_>) -> rusqlite::Result<MetricPoint> {
    Ok(MetricPoint {
        name: r.get(0)?,
        step: r.get(1)?,
        value: r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
        time: r.get(3)?,
        seq: r.get(4)?,
        epoch: r.get(5)?,
    })
}

const SNAPSHOT_COLUMNS: &str = "seq, trigger, file, line, loops, label, time, capture_ms,
     bytes_new, bytes_reused, objects, nonfinite, position";

fn snapshot_from_row(row: &Row<'_>) -> rusqlite::Result<SnapshotMeta> {
    let trigger: String = row.get(1)?;
    let loops: String = row.get(4)?;
    Ok(SnapshotMeta {
        seq: row.get(0)?,
        trigger: Trigger::parse(&trigger).unwrap_or(Trigger::Explicit),
        file: row.get(2)?,
        line: row.get(3)?,
        loops: serde_json::from_str(&loops).unwrap_or_default(),
        label: row.get(5)?,
        time: row.get(6)?,
        capture_ms: row.get(7)?,
        bytes_new: row.get(8)?,
        bytes_reused: row.get(9)?,
        objects: row.get(10)?,
        nonfinite: row.get(11)?,
        position: row
            .get::<_, Option<String>>(12)?
            .and_then(|p| serde_json::from_str(&p).ok()),
    })
}

impl Store {
    /// Every run, oldest first.
    pub fn runs(&self) -> StoreResult<Vec<RunRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs r ORDER BY r.ordinal"
            ))
            .map_err(self.sql())?;
        let rows = stmt.query_map([], run_from_row).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// One run by its full id.
    pub fn run(&self, id: &str) -> StoreResult<RunRecord> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.id = ?1"),
                [id],
                run_from_row,
            )
            .optional()
            .map_err(self.sql())?
            .ok_or_else(|| StoreError::UnknownRun(id.to_owned()))
    }

    /// Resolves `last` or an id prefix to a full run id.
    pub fn resolve_run(&self, name: &str) -> StoreResult<String> {
        if name == "last" {
            return self
                .conn
                .query_row(
                    "SELECT id FROM runs ORDER BY ordinal DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.sql())?
                .ok_or(StoreError::NoRuns);
        }
        let escaped: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if escaped.is_empty() || escaped.len() != name.len() {
            return Err(StoreError::UnknownRun(name.to_owned()));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs WHERE id LIKE ?1 || '%' LIMIT 2")
            .map_err(self.sql())?;
        let ids: Vec<String> = stmt
            .query_map([&escaped], |r| r.get(0))
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(StoreError::UnknownRun(name.to_owned())),
            _ => Err(StoreError::AmbiguousRun(name.to_owned())),
        }
    }

    /// The committed snapshots of a run, in order.
    pub fn snapshots(&self, run_id: &str) -> StoreResult<Vec<SnapshotMeta>> {
        self.list_snapshots(run_id, SNAPSHOT_COLUMNS)
    }

    /// A run's snapshots in order without `position` (where the program
    /// was, for `restore --resume` only; parsing it is most of the cost of
    /// listing 10,000 snapshots).
    pub fn snapshot_rows(&self, run_id: &str) -> StoreResult<Vec<SnapshotMeta>> {
        self.list_snapshots(run_id, &SNAPSHOT_COLUMNS.replace("position", "NULL"))
    }

    fn list_snapshots(&self, run_id: &str, columns: &str) -> StoreResult<Vec<SnapshotMeta>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM snapshots WHERE run_id = ?1 ORDER BY seq"
            ))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([run_id], snapshot_from_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// One snapshot, or `None` when the run has no such seq.
    pub fn snapshot(&self, run_id: &str, seq: i64) -> StoreResult<Option<SnapshotMeta>> {
        self.conn
            .query_row(
                &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE run_id = ?1 AND seq = ?2"),
                params![run_id, seq],
                snapshot_from_row,
            )
            .optional()
            .map_err(self.sql())
    }

    /// First and last seq of a run's snapshots.
    pub fn seq_range(&self, run_id: &str) -> StoreResult<Option<(i64, i64)>> {
        self.conn
            .query_row(
                "SELECT MIN(seq), MAX(seq) FROM snapshots WHERE run_id = ?1",
                [run_id],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map(|(a, b)| a.zip(b))
            .map_err(self.sql())
    }

    /// Path -> object rows of one snapshot, sorted by path.
    pub fn entries(&self, run_id: &str, seq: i64) -> StoreResult<Vec<EntryRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, node, hash FROM entries WHERE run_id = ?1 AND seq = ?2 ORDER BY path",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![run_id, seq], |r| {
                Ok(EntryRow {
                    path: r.get(0)?,
                    node: r.get(1)?,
                    hash: r.get(2)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// (seq, object hash) of every snapshot of a run holding `path`, in
    /// order: one object's life over a run.
    pub fn path_history(&self, run_id: &str, path: &str) -> StoreResult<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, hash FROM entries WHERE run_id = ?1 AND path = ?2 ORDER BY seq",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![run_id, path], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The object record with this content hash.
    pub fn object(&self, hash: &str) -> StoreResult<ObjectRecord> {
        let json: String = self
            .conn
            .query_row("SELECT record FROM objects WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sql())?
            .ok_or_else(|| StoreError::MissingObject {
                hash: hash.to_owned(),
            })?;
        serde_json::from_str(&json).map_err(|e| StoreError::BadRecord {
            hash: hash.to_owned(),
            detail: e.to_string(),
        })
    }

    /// The raw bytes of a chunk, verified against its hash (a delta chunk
    /// is decoded against its base, which is read and verified too).
    pub fn read_chunk(&self, hash: &str) -> StoreResult<Vec<u8>> {
        self.read_chunk_within(hash, 0)
    }

    /// `read_chunk`, `depth` deltas deep: a chain deeper than
    /// [`crate::delta::MAX_CHAIN`] (or a cycle) is refused, not followed.
    pub(crate) fn read_chunk_within(&self, hash: &str, depth: u32) -> StoreResult<Vec<u8>> {
        let (size, inline) = self.chunk_location(hash)?;
        let frame = match inline {
            Some(frame) => frame,
            None => self.chunks.read_file(hash)?,
        };
        if depth > crate::delta::MAX_CHAIN && crate::chunks::frame_base(&frame).is_some() {
            return Err(StoreError::DamagedChunk {
                hash: hash.to_owned(),
                detail: format!(
                    "is a delta base more than {} deltas deep (a cycle or a damaged catalog)",
                    crate::delta::MAX_CHAIN
                ),
            });
        }
        decode_verified(hash, size, &frame, &mut |base| {
            self.read_chunk_within(base, depth + 1)
        })
    }

    /// The base chunk a delta chunk was encoded against (`None`: plain).
    pub fn chunk_base(&self, hash: &str) -> StoreResult<Option<String>> {
        self.conn
            .query_row("SELECT base FROM chunks WHERE hash = ?1", [hash], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(self.sql())
    }

    /// Where a chunk's compressed frame is: its raw size and, for small
    /// chunks, the frame itself (larger ones are read with `chunk_frame`).
    pub fn chunk_location(&self, hash: &str) -> StoreResult<(u64, Option<Vec<u8>>)> {
        let row: Option<(i64, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT size, inline FROM chunks WHERE hash = ?1",
                [hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql())?;
        let (size, inline) = row.ok_or_else(|| StoreError::MissingChunk {
            hash: hash.to_owned(),
        })?;
        let size = u64::try_from(size).map_err(|_| StoreError::DamagedChunk {
            hash: hash.to_owned(),
            detail: format!("declares a negative size ({size})"),
        })?;
        crate::chunks::check_chunk_size(hash, size)?;
        Ok((size, inline))
    }

    /// The compressed frame of a chunk stored in its own file, always a
    /// plain zstd frame: a delta (or shuffled) chunk is decoded and
    /// compressed on its own, so what leaves the store (bundles, remotes)
    /// never depends on a base nor on this version's frame kinds.
    pub fn chunk_frame(&self, hash: &str) -> StoreResult<Vec<u8>> {
        let frame = self.chunks.read_file(hash)?;
        self.portable_frame(hash, frame)
    }

    /// `frame` (chunk `hash`'s stored frame, inline or from its file) as it
    /// leaves the store: itself when it is a plain zstd frame, else the
    /// chunk decoded (through its base: a delta or twist frame) and
    /// compressed on its own. Bundles and pushes carry inline frames this way.
    pub fn portable_frame(&self, hash: &str, frame: Vec<u8>) -> StoreResult<Vec<u8>> {
        if crate::chunks::frame_base(&frame).is_none()
            && crate::delta::shuffled_width(&frame).is_none()
        {
            return Ok(frame);
        }
        crate::chunks::compress(&self.read_chunk(hash)?)
    }

    /// Whether chunk `hash`'s own file holds a plain zstd frame, which can
    /// leave the store as it is (else `chunk_frame` re-encodes it).
    pub fn chunk_file_is_zstd(&self, hash: &str) -> StoreResult<bool> {
        self.chunks.file_is_zstd(hash)
    }

    /// Where a chunk's own file lives (it may not exist: small chunks are
    /// inline). Threads that cannot share the catalog read frames from here.
    pub fn chunk_path(&self, hash: &str) -> std::path::PathBuf {
        self.chunks.path_of(hash)
    }

    /// Names of a run's metric series with their point counts.
    pub fn metric_names(&self, run_id: &str) -> StoreResult<Vec<(String, i64)>> {
        let mut count = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM metrics WHERE run_id = ?1 AND name = ?2")
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for name in self.series_names(run_id)? {
            let points: i64 = count
                .query_row(params![run_id, name], |r| r.get(0))
                .map_err(self.sql())?;
            out.push((name, points));
        }
        Ok(out)
    }

    /// Whether a series holds more than one value (NaN counts as a value):
    /// stops at the first point that differs from the first one.
    pub fn series_varies(&self, run_id: &str, name: &str) -> StoreResult<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM metrics WHERE run_id = ?1 AND name = ?2 \
                 AND value IS NOT (SELECT value FROM metrics WHERE run_id = ?1 AND name = ?2 \
                 ORDER BY step LIMIT 1))",
            )
            .map_err(self.sql())?
            .query_row(params![run_id, name], |r| r.get(0))
            .map_err(self.sql())
    }

    /// A run's series names, sorted: one index seek per series (SQLite does
    /// not skip-scan by itself; GROUP BY would read every point).
    pub fn series_names(&self, run_id: &str) -> StoreResult<Vec<String>> {
        let mut next = self
            .conn
            .prepare_cached(
                "SELECT name FROM metrics WHERE run_id = ?1 AND name > ?2 ORDER BY name LIMIT 1",
            )
            .map_err(self.sql())?;
        let mut out: Vec<String> = Vec::new();
        while let Some(name) = next
            .query_row(
                params![run_id, out.last().map_or("", String::as_str)],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(self.sql())?
        {
            out.push(name);
        }
        Ok(out)
    }

    /// The last point (by step) of one series, by one index seek.
    pub fn last_point(&self, run_id: &str, name: &str) -> StoreResult<Option<PointRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT step, value, time, seq, epoch FROM metrics
                 WHERE run_id = ?1 AND name = ?2 ORDER BY step DESC, rowid DESC LIMIT 1",
            )
            .map_err(self.sql())?;
        stmt.query_row(params![run_id, name], |r| {
            Ok(PointRow {
                step: r.get(0)?,
                value: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                time: r.get(2)?,
                seq: r.get(3)?,
                epoch: r.get(4)?,
            })
        })
        .optional()
        .map_err(self.sql())
    }

    /// The points of one series without their name, by step then insertion
    /// order (the index's order: no sort): what a chart reads.
    pub fn metric_points(&self, run_id: &str, name: &str) -> StoreResult<Vec<PointRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT step, value, time, seq, epoch FROM metrics
                 WHERE run_id = ?1 AND name = ?2 ORDER BY step, rowid",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![run_id, name], |r| {
                Ok(PointRow {
                    step: r.get(0)?,
                    value: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                    time: r.get(2)?,
                    seq: r.get(3)?,
                    epoch: r.get(4)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The points of one series, by step then time.
    pub fn metric_series(&self, run_id: &str, name: &str) -> StoreResult<Vec<MetricPoint>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, step, value, time, seq, epoch FROM metrics
                 WHERE run_id = ?1 AND name = ?2 ORDER BY step, time",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![run_id, name], metric_from_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Warnings the agent recorded with a run.
    pub fn warnings(&self, run_id: &str) -> StoreResult<Vec<(f64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT time, message FROM warnings WHERE run_id = ?1 ORDER BY time")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }
}
