//! Writing: runs, chunk files, atomic snapshot commits, metrics, warnings.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::catalog::Store;
use crate::error::StoreResult;
use crate::model::{MetricPoint, RunInfo, RunStatus, SnapshotCommit};

impl Store {
    /// Registers a new run with status `running` and returns its id.
    pub fn begin_run(&mut self, info: &RunInfo) -> StoreResult<String> {
        let sql = |e| crate::schema::classify(&self.catalog, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let ordinal: i64 = tx
            .query_row("SELECT COALESCE(MAX(ordinal), 0) + 1 FROM runs", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        let id = new_run_id(info.started_at, ordinal);
        tx.execute(
            "INSERT INTO runs (id, ordinal, script, lineage, started_at, status, parent_run, parent_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7)",
            params![
                id,
                ordinal,
                info.script,
                info.lineage.to_string(),
                info.started_at,
                info.parent_run,
                info.parent_seq
            ],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Whether the store already holds this chunk (committed by any run).
    pub fn has_chunk(&self, hash: &str) -> StoreResult<bool> {
        // Cached: the capture asks once per new chunk (thousands for one
        // large list's JSON), and preparing the statement cost more than
        // running it.
        self.conn
            .prepare_cached("SELECT 1 FROM chunks WHERE hash = ?1")
            .and_then(|mut statement| statement.query_row([hash], |_| Ok(())))
            .optional()
            .map(|o| o.is_some())
            .map_err(self.sql())
    }

    /// For each of `hashes`, whether the store already holds that chunk:
    /// `has_chunk` for many, in one read transaction (SQLite then takes its
    /// locks once, not twice per chunk: a large list's JSON makes thousands).
    pub fn has_chunks(&self, hashes: &[String]) -> StoreResult<Vec<bool>> {
        let sql = self.sql();
        let tx = self.conn.unchecked_transaction().map_err(&sql)?;
        let found = {
            let mut statement = tx
                .prepare_cached("SELECT 1 FROM chunks WHERE hash = ?1")
                .map_err(&sql)?;
            hashes
                .iter()
                .map(|hash| {
                    statement
                        .query_row([hash], |_| Ok(()))
                        .optional()
                        .map(|o| o.is_some())
                })
                .collect::<Result<Vec<bool>, _>>()
                .map_err(&sql)?
        };
        tx.finish().map_err(&sql)?;
        Ok(found)
    }

    /// Whether the store already holds this object record.
    pub fn has_object(&self, hash: &str) -> StoreResult<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM objects WHERE hash = ?1")
            .and_then(|mut statement| statement.query_row([hash], |_| Ok(())))
            .optional()
            .map(|o| o.is_some())
            .map_err(self.sql())
    }

    /// Writes a compressed chunk file durably; returns the directory that
    /// must be fsynced (with `sync_chunk_dirs`) before the commit.
    pub fn write_chunk_file(&self, hash: &str, compressed: &[u8]) -> StoreResult<PathBuf> {
        self.chunks.write(hash, compressed)
    }

    /// Makes the directory entries of freshly written chunk files durable.
    pub fn sync_chunk_dirs(&self, dirs: &BTreeSet<PathBuf>) -> StoreResult<()> {
        self.chunks.sync_dirs(dirs)
    }

    /// Makes one snapshot visible: its new chunks, object records, entries and
    /// metric points, in one transaction. Chunk files must already be durable.
    pub fn commit_snapshot(&mut self, commit: &SnapshotCommit) -> StoreResult<()> {
        // The base each delta (or twist) chunk names in its frame's header,
        // so gc and fsck follow it (read before the write lock is taken).
        let bases = commit
            .chunks
            .iter()
            .map(|c| match &c.inline {
                Some(frame) => Ok(crate::chunks::frame_base(frame).map(|h| h.to_hex())),
                None => self.chunks.delta_base_of_file(&c.hash),
            })
            .collect::<StoreResult<Vec<Option<String>>>>()?;
        let sql = |e| crate::schema::classify(&self.catalog, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        {
            let mut put_chunk = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO chunks (hash, size, stored, inline, base)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for (c, base) in commit.chunks.iter().zip(&bases) {
                put_chunk
                    .execute(params![
                        c.hash,
                        c.size as i64,
                        c.stored as i64,
                        c.inline,
                        base
                    ])
                    .map_err(sql)?;
            }
            // The capture's own record wins over one already stored under
            // the same hash: that one may have come in with an imported
            // bundle, whose records are not re-hashed (a bundle could plant
            // a record under the hash of an object this capture produces).
            let mut put_object = tx
                .prepare_cached(
                    "INSERT INTO objects (hash, record) VALUES (?1, ?2)
                     ON CONFLICT(hash) DO UPDATE SET record = excluded.record
                     WHERE objects.record <> excluded.record",
                )
                .map_err(sql)?;
            for (hash, record) in &commit.objects {
                let json = serde_json::to_string(record).unwrap_or_default();
                put_object.execute(params![hash, json]).map_err(sql)?;
            }
            let mut put_entry = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO entries (run_id, seq, path, node, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for e in &commit.entries {
                put_entry
                    .execute(params![
                        commit.run_id,
                        commit.meta.seq,
                        e.path,
                        e.node,
                        e.hash
                    ])
                    .map_err(sql)?;
            }
            insert_snapshot_row(&tx, &commit.run_id, &commit.meta).map_err(sql)?;
        }
        insert_metrics(&tx, &commit.run_id, &commit.metrics).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Adds metric points that arrived between snapshots (`snapline.log`).
    pub fn add_metrics(&mut self, run_id: &str, points: &[MetricPoint]) -> StoreResult<()> {
        let sql = |e| crate::schema::classify(&self.catalog, e);
        let tx = self.conn.transaction().map_err(sql)?;
        insert_metrics(&tx, run_id, points).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Records a warning from the agent with the run.
    pub fn add_warning(&self, run_id: &str, time: f64, message: &str) -> StoreResult<()> {
        self.conn
            .execute(
                "INSERT INTO warnings (run_id, time, message) VALUES (?1, ?2, ?3)",
                params![run_id, time, message],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// Sets one top-level key of a run's lineage JSON (facts known only
    /// later in the run, such as the versions of the packages it imported).
    pub fn set_lineage(
        &self,
        run_id: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET lineage = json_set(lineage, '$.' || ?2, json(?3)) WHERE id = ?1",
                params![run_id, key, value.to_string()],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// Records how a run ended.
    pub fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        exit_code: Option<i64>,
        exception: Option<&serde_json::Value>,
        ended_at: f64,
    ) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, exit_code = ?3, exception = ?4, ended_at = ?5 WHERE id = ?1",
                params![
                    run_id,
                    status.as_str(),
                    exit_code,
                    exception.map(|e| e.to_string()),
                    ended_at
                ],
            )
            .map(|_| ())
            .map_err(self.sql())
    }
}

fn insert_metrics(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
    points: &[MetricPoint],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO metrics (run_id, name, step, value, time, seq, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for p in points {
        stmt.execute(params![
            run_id, p.name, p.step, p.value, p.time, p.seq, p.epoch
        ])?;
    }
    Ok(())
}

/// Run ids: 12 random hex digits, so that a short prefix names a run.
/// Runs are ordered by `ordinal`, not by id.
fn new_run_id(started_at: f64, ordinal: i64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_i64(ordinal);
    h.write_u64(started_at.to_bits());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Inserts one snapshot's row (a commit, or an import).
pub(crate) fn insert_snapshot_row(
    conn: &rusqlite::Connection,
    run_id: &str,
    m: &crate::model::SnapshotMeta,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO snapshots (run_id, seq, trigger, file, line, loops, label, time,
             capture_ms, bytes_new, bytes_reused, objects, nonfinite, position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        run_id,
        m.seq,
        m.trigger.as_str(),
        m.file,
        m.line,
        serde_json::to_string(&m.loops).unwrap_or_else(|_| "[]".into()),
        m.label,
        m.time,
        m.capture_ms,
        m.bytes_new,
        m.bytes_reused,
        m.objects,
        m.nonfinite,
        m.position.as_ref().map(|p| p.to_string())
    ])?;
    Ok(())
}
