//! Packing the catalog again when a run finishes (issue #16: the disk
//! against STORED).
//!
//! Object records, entries and chunk rows live in WITHOUT ROWID tables
//! keyed by content hashes, so a capture inserts them at random places: each
//! page split leaves two half-full pages, and a catalog written one snapshot
//! at a time ends up about a fifth empty space (22.4 MB on disk for 17.8 MB
//! stored in the growing-loop bench; `VACUUM` packs it to 19.9 MB in 80 ms).
//! `gc` and `rm` leave free pages too. When a run finishes, a catalog that
//! no other live capture is writing is vacuumed when packing it costs at
//! most about 1% of the run's duration (packing costs about 4 ms per MB and
//! rewrites the catalog once through the WAL: [`PACK_BYTES_PER_RUN_SECOND`]
//! of catalog per second the run took, never more than [`COMPACT_LIMIT`]);
//! a larger one is left as it is, so a short run's exit is not slowed.

use crate::catalog::Store;
use crate::error::{io_err, StoreResult};
use crate::liveness::process_gone;

/// The largest catalog packed when a run finishes (about 0.25 s of `VACUUM`).
pub const COMPACT_LIMIT: u64 = 64 << 20;

/// Catalog bytes packed per second of the run's duration: at about 4 ms
/// per MB, 2.5 MB per second keeps packing near 1% of the run.
pub const PACK_BYTES_PER_RUN_SECOND: f64 = 2.5e6;

impl Store {
    /// Packs the catalog (`VACUUM`) when it is at most
    /// [`PACK_BYTES_PER_RUN_SECOND`] x the run's duration (and at most
    /// [`COMPACT_LIMIT`]) bytes, and no run other than `run_id` is being
    /// captured by a live process. Returns whether it did.
    pub fn compact_after_run(&self, run_id: &str) -> StoreResult<bool> {
        let size = self.catalog_bytes()?;
        let sql = self.sql();
        let seconds: f64 = self
            .conn
            .query_row(
                "SELECT COALESCE(ended_at - started_at, 0) FROM runs WHERE id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .map_err(&sql)?;
        let limit = (seconds.max(0.0) * PACK_BYTES_PER_RUN_SECOND).min(COMPACT_LIMIT as f64);
        if size as f64 > limit {
            return Ok(false);
        }
        self.pack_unless_live(Some(run_id))
    }

    /// Packs the catalog (`VACUUM`) whatever its size, unless a run (other
    /// than `except`) is being captured by a live process; `gc` and `rm`
    /// call it after their sweep, so that the rows they deleted give their
    /// pages back to the disk. Returns whether it did.
    pub fn pack_unless_live(&self, except: Option<&str>) -> StoreResult<bool> {
        let sql = self.sql();
        let others: Vec<String> = self
            .conn
            .prepare("SELECT lineage FROM runs WHERE status = 'running' AND id <> ?1")
            .map_err(&sql)?
            .query_map([except.unwrap_or("")], |r| r.get(0))
            .map_err(&sql)?
            .collect::<Result<_, _>>()
            .map_err(&sql)?;
        let live = others.iter().any(|lineage| {
            !serde_json::from_str(lineage).is_ok_and(|l: serde_json::Value| process_gone(&l))
        });
        if live {
            return Ok(false);
        }
        // The WAL it writes is checkpointed and removed when the last
        // connection closes (a checkpoint that truncates here would wait
        // for a viewer's open read).
        self.conn.execute_batch("VACUUM").map_err(&sql)?;
        Ok(true)
    }

    /// The catalog file's size in bytes (its WAL apart).
    pub fn catalog_bytes(&self) -> StoreResult<u64> {
        Ok(std::fs::metadata(&self.catalog)
            .map_err(io_err(&self.catalog))?
            .len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunInfo;

    fn info(pid: i64) -> RunInfo {
        RunInfo {
            script: "train.py".into(),
            started_at: 1_700_000_000.0,
            lineage: serde_json::json!({"host": crate::liveness::host_name(), "pid": pid}),
            parent_run: None,
            parent_seq: None,
        }
    }

    #[test]
    fn a_small_catalog_is_packed_unless_another_capture_is_live() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        let run = store
            .begin_run(&info(i64::from(std::process::id())))
            .unwrap();
        // Rows inserted by random keys, then half deleted: free space.
        for i in 0..4000u32 {
            let hash = snapline_array_scan::hash_bytes(&i.to_le_bytes()).to_hex();
            store
                .conn
                .execute(
                    "INSERT INTO objects (hash, record) VALUES (?1, ?2)",
                    rusqlite::params![hash, "x".repeat(300)],
                )
                .unwrap();
        }
        store
            .conn
            .execute("DELETE FROM objects WHERE hash < '8'", [])
            .unwrap();
        let pages = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .unwrap()
        };
        // This process is alive: another run it captures blocks packing.
        let other = store
            .begin_run(&info(i64::from(std::process::id())))
            .unwrap();
        let before = pages(&store);
        assert!(!store.compact_after_run(&run).unwrap());
        assert_eq!(pages(&store), before);
        store
            .finish_run(
                &other,
                crate::model::RunStatus::Finished,
                Some(0),
                None,
                1.0,
            )
            .unwrap();
        let finish = |s: &mut Store, seconds: f64| {
            s.finish_run(
                &run,
                crate::model::RunStatus::Finished,
                Some(0),
                None,
                1_700_000_000.0 + seconds,
            )
            .unwrap()
        };
        // A run of 10 ms: packing would slow its end by more than 1%.
        finish(&mut store, 0.01);
        assert!(!store.compact_after_run(&run).unwrap());
        assert_eq!(pages(&store), before);
        finish(&mut store, 100.0);
        assert!(store.compact_after_run(&run).unwrap());
        assert!(
            pages(&store) < before * 3 / 4,
            "{} of {before}",
            pages(&store)
        );
        let left: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM objects", [], |r| r.get(0))
            .unwrap();
        assert!(left > 1000 && left < 3000, "{left}");
    }
}
