//! Moving runs between stores (`snapline export` / `snapline import`): the
//! catalog rows a bundle carries, read out of one store and committed into
//! another in one transaction, and the chunk files written beside them.
//!
//! The bundle format itself lives in `crates/bundle`; this module only
//! speaks rows and chunk frames, and never trusts a name it is handed: chunk
//! hashes must be 32 lowercase hex digits before they become a path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::catalog::Store;
use crate::chunks::{ChunkDir, INLINE_LIMIT};
use crate::error::{io_err, StoreError, StoreResult};
use crate::model::{Event, MetricPoint, ObjectRecord, SnapshotMeta};
use crate::read::metric_from_row;
use crate::references::{is_chunk_name, lineage_chunks, record_children, record_chunks};

/// A run's row as a bundle carries it (every column but the local ordinal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub script: String,
    pub lineage: serde_json::Value,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    pub status: String,
    pub exit_code: Option<i64>,
    pub exception: Option<serde_json::Value>,
    pub parent_run: Option<String>,
    pub parent_seq: Option<i64>,
    #[serde(default)]
    pub origin: Option<serde_json::Value>,
}

/// One entry (path -> object) of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TransferEntry {
    pub seq: i64,
    pub path: String,
    pub node: i64,
    pub hash: String,
}

/// One object record, as the exact JSON text the catalog holds (its hash
/// is over that content, so it is carried byte for byte).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferObject {
    pub hash: String,
    pub record: String,
}

/// A chunk's catalog row: raw size and stored (compressed) size. Its frame
/// travels separately, as a part of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRow {
    pub hash: String,
    pub size: u64,
    pub stored: u64,
}

/// Everything of one run a bundle carries besides the chunk frames.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TransferRows {
    pub run: RunRow,
    pub snapshots: Vec<SnapshotMeta>,
    pub entries: Vec<TransferEntry>,
    pub objects: Vec<TransferObject>,
    pub chunks: Vec<ChunkRow>,
    pub metrics: Vec<MetricPoint>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub warnings: Vec<(f64, String)>,
}

/// What importing rows would do, or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The run is new here: everything is added.
    New,
    /// The run is here with every snapshot of the bundle, identical.
    AlreadyImported,
    /// The run is here (same run: script, start, host, pid) but lacks these
    /// snapshots, which are added.
    AddSnapshots(Vec<i64>),
    /// A different run with the same id, or a snapshot that differs: nothing
    /// is written. The string says what differs.
    Conflict(String),
    /// Chunks the import relied on the store holding were swept (by a `gc`
    /// or `rm` that committed meanwhile): nothing is written; write these
    /// and import again.
    ChunksGone(Vec<String>),
}

fn bad_name(hash: &str) -> StoreError {
    StoreError::DamagedChunk {
        hash: hash.escape_debug().to_string(),
        detail: "not a chunk name (32 lowercase hex digits)".into(),
    }
}

/// The store's chunk files, usable from worker threads (the catalog
/// connection is not shared). Every name is checked before it becomes a path.
#[derive(Clone, Debug)]
pub struct ChunkFiles {
    store_dir: PathBuf,
}

impl ChunkFiles {
    fn dir(&self) -> ChunkDir {
        ChunkDir::new(&self.store_dir)
    }

    /// The store directory.
    pub fn store_dir(&self) -> &std::path::Path {
        &self.store_dir
    }

    /// Where the file of chunk `hash` lives.
    pub fn path_of(&self, hash: &str) -> StoreResult<PathBuf> {
        if !is_chunk_name(hash) {
            return Err(bad_name(hash));
        }
        Ok(self.dir().path_of(hash))
    }

    /// Whether chunk `hash` has a file.
    pub fn exists(&self, hash: &str) -> StoreResult<bool> {
        Ok(self.path_of(hash)?.is_file())
    }

    /// Writes a compressed frame durably under the chunk's name (temporary
    /// file, fsync, rename); returns the directory to fsync before the commit.
    pub fn write(&self, hash: &str, frame: &[u8]) -> StoreResult<PathBuf> {
        self.path_of(hash)?;
        self.dir().write(hash, frame)
    }

    /// Writes a compressed frame under the chunk's name WITHOUT fsync: the
    /// caller makes many files durable at once (`syncfs` or `sync_files`)
    /// before the commit that refers to them (one fsync per file in
    /// sequence costs a journal commit each). A new name is written in
    /// place; an existing file is replaced whole (temporary file, rename).
    /// Until the commit the file is an orphan no catalog row names, and an
    /// import only skips writing a chunk whose row is committed, so a torn
    /// orphan left by a crash is rewritten, never trusted. Returns where
    /// the file went and which file it is.
    pub fn write_unsynced(&self, hash: &str, frame: &[u8]) -> StoreResult<WrittenFile> {
        use std::io::Write;
        let path = self.path_of(hash)?;
        let dir = self.dir().make_dir_of(hash)?;
        let done = |meta: std::fs::Metadata| WrittenFile {
            hash: hash.to_owned(),
            dir: dir.clone(),
            identity: crate::retention::identity(&meta),
        };
        let write = |file: &mut std::fs::File| {
            file.write_all(frame)?;
            start_writeback(file);
            file.metadata()
        };
        // No file under that name yet: write it in place (one file created
        // where a temporary file and a rename cost two directory changes).
        // Until a row names it, no reader opens it, and a torn one left by
        // a crash is an orphan that is rewritten, never trusted.
        match std::fs::File::create_new(&path) {
            Ok(mut file) => {
                return match write(&mut file) {
                    Ok(meta) => Ok(done(meta)),
                    Err(e) => {
                        let _ = std::fs::remove_file(&path);
                        Err(io_err(&path)(e))
                    }
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        // A file is there (an orphan, or a capture writing the same chunk):
        // replace it whole, never write into it.
        let tmp = dir.join(format!("{hash}.tmp-{}", std::process::id()));
        let meta = match std::fs::File::create(&tmp).and_then(|mut f| write(&mut f)) {
            Ok(meta) => meta,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_err(&tmp)(e));
            }
        };
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&path)(e));
        }
        Ok(done(meta))
    }

    /// fsyncs the files of `hashes` on `threads` threads (concurrent fsyncs
    /// share journal commits), then the directories `dirs`.
    pub fn sync_files(
        &self,
        hashes: &[String],
        dirs: &BTreeSet<PathBuf>,
        threads: usize,
    ) -> StoreResult<()> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let error: std::sync::Mutex<Option<StoreError>> = std::sync::Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(hash) = hashes.get(i) else { break };
                    let synced = self.path_of(hash).and_then(|path| {
                        std::fs::File::open(&path)
                            .and_then(|f| f.sync_all())
                            .map_err(io_err(&path))
                    });
                    if let Err(e) = synced {
                        if let Ok(mut slot) = error.lock() {
                            slot.get_or_insert(e);
                        }
                        break;
                    }
                });
            }
        });
        if let Some(e) = error.into_inner().ok().flatten() {
            return Err(e);
        }
        self.sync_dirs(dirs)
    }

    /// Makes the directory entries of freshly written files durable.
    pub fn sync_dirs(&self, dirs: &BTreeSet<PathBuf>) -> StoreResult<()> {
        self.dir().sync_dirs(dirs)
    }
}

/// Asks the kernel to start writing `file`'s pages to disk now, without
/// waiting (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`): the disk works
/// while the next chunks are checked, and the one flush before the commit
/// finds little left to do. Durability still comes from that flush.
fn start_writeback(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range takes an open descriptor, which `file`
        // owns for the duration of the call; offset 0 and length 0 mean the
        // whole file. Its result is only a hint, so it is not checked.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// A chunk file one writer created: its directory (to fsync) and the
/// file's identity (device, inode), so that taking it back never removes
/// a file someone else wrote under the same name since.
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub hash: String,
    pub dir: PathBuf,
    pub identity: (u64, u64),
}

fn run_key(run: &RunRow) -> (String, u64, Option<String>, Option<i64>) {
    (
        run.script.clone(),
        run.started_at.to_bits(),
        run.lineage
            .get("host")
            .and_then(|h| h.as_str())
            .map(str::to_owned),
        run.lineage.get("pid").and_then(|p| p.as_i64()),
    )
}

impl Store {
    /// The store's chunk files, for worker threads.
    pub fn chunk_files(&self) -> ChunkFiles {
        ChunkFiles {
            store_dir: self.dir.clone(),
        }
    }

    /// Row counts of every catalog table (tests compare them before and
    /// after a refused import).
    pub fn row_counts(&self) -> StoreResult<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        for table in [
            "runs",
            "snapshots",
            "objects",
            "entries",
            "chunks",
            "metrics",
            "warnings",
            "events",
        ] {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .map_err(self.sql())?;
            out.insert(table.to_owned(), n);
        }
        Ok(out)
    }

    fn run_row(&self, run_id: &str) -> StoreResult<RunRow> {
        self.conn
            .query_row(
                "SELECT id, script, lineage, started_at, ended_at, status, exit_code, exception,
                        parent_run, parent_seq, origin FROM runs WHERE id = ?1",
                [run_id],
                |r| {
                    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
                    Ok(RunRow {
                        id: r.get(0)?,
                        script: r.get(1)?,
                        lineage: json(r.get(2)?).unwrap_or(serde_json::Value::Null),
                        started_at: r.get(3)?,
                        ended_at: r.get(4)?,
                        status: r.get(5)?,
                        exit_code: r.get(6)?,
                        exception: json(r.get(7)?),
                        parent_run: r.get(8)?,
                        parent_seq: r.get(9)?,
                        origin: json(r.get(10)?),
                    })
                },
            )
            .optional()
            .map_err(self.sql())?
            .ok_or_else(|| StoreError::UnknownRun(run_id.to_owned()))
    }

    /// The rows a bundle of `run_id` carries: the run, the snapshots `seqs`
    /// (all when `None`), their entries, every object reachable from them,
    /// the rows of every chunk those objects (and the lineage's sources)
    /// need, and all of the run's metrics, events and warnings.
    pub fn export_rows(&self, run_id: &str, seqs: Option<&[i64]>) -> StoreResult<TransferRows> {
        let run = self.run_row(run_id)?;
        let mut snapshots = self.snapshots(run_id)?;
        if let Some(seqs) = seqs {
            snapshots.retain(|s| seqs.contains(&s.seq));
        }
        let mut entries = Vec::new();
        for snap in &snapshots {
            for e in self.entries(run_id, snap.seq)? {
                entries.push(TransferEntry {
                    seq: snap.seq,
                    path: e.path,
                    node: e.node,
                    hash: e.hash,
                });
            }
        }
        // Objects reachable from the entries, children first seen first.
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut queue: Vec<String> = entries.iter().map(|e| e.hash.clone()).collect();
        let mut objects = Vec::new();
        let mut chunk_hashes: BTreeSet<String> = BTreeSet::new();
        while let Some(hash) = queue.pop() {
            if !seen.insert(hash.clone()) {
                continue;
            }
            let text: String = self
                .conn
                .query_row("SELECT record FROM objects WHERE hash = ?1", [&hash], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(self.sql())?
                .ok_or_else(|| StoreError::MissingObject { hash: hash.clone() })?;
            let record: ObjectRecord =
                serde_json::from_str(&text).map_err(|e| StoreError::BadRecord {
                    hash: hash.clone(),
                    detail: e.to_string(),
                })?;
            queue.extend(record_children(&record));
            chunk_hashes.extend(record_chunks(&record));
            objects.push(TransferObject { hash, record: text });
        }
        let mut chunks = Vec::new();
        let chunk_row = |hash: &str| -> StoreResult<Option<ChunkRow>> {
            self.conn
                .query_row(
                    "SELECT size, stored FROM chunks WHERE hash = ?1",
                    [hash],
                    |r| {
                        Ok(ChunkRow {
                            hash: hash.to_owned(),
                            size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                            stored: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        })
                    },
                )
                .optional()
                .map_err(self.sql())
        };
        for hash in &chunk_hashes {
            let row =
                chunk_row(hash)?.ok_or_else(|| StoreError::MissingChunk { hash: hash.clone() })?;
            chunks.push(row);
        }
        // The lineage's sources travel when this store has them.
        for hash in lineage_chunks(&run.lineage) {
            if !chunk_hashes.contains(&hash) {
                if let Some(row) = chunk_row(&hash)? {
                    chunk_hashes.insert(hash);
                    chunks.push(row);
                }
            }
        }
        let metrics = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT name, step, value, time, seq, epoch FROM metrics
                     WHERE run_id = ?1 ORDER BY rowid",
                )
                .map_err(self.sql())?;
            let rows = stmt
                .query_map([run_id], metric_from_row)
                .map_err(self.sql())?;
            rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())?
        };
        Ok(TransferRows {
            run,
            snapshots,
            entries,
            objects,
            chunks,
            metrics,
            events: self.events(run_id, None)?,
            warnings: self.warnings(run_id)?,
        })
    }

    /// Takes back the chunk files a refused import wrote: under the write
    /// lock, each is removed only while no chunk row names it (another
    /// import may have committed the same chunk meanwhile) and it is still
    /// the file that import wrote (same device and inode). Returns how
    /// many were removed.
    pub fn remove_import_leftovers(&mut self, written: &[WrittenFile]) -> StoreResult<usize> {
        let sql = |e| crate::schema::classify(&self.catalog, e);
        let files = self.chunk_files();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut removed = 0;
        {
            let mut row = tx
                .prepare_cached("SELECT 1 FROM chunks WHERE hash = ?1")
                .map_err(sql)?;
            for file in written {
                let named = row
                    .query_row([&file.hash], |_| Ok(()))
                    .optional()
                    .map_err(sql)?
                    .is_some();
                if named {
                    continue;
                }
                let path = files.path_of(&file.hash)?;
                let same = std::fs::symlink_metadata(&path)
                    .map(|m| crate::retention::identity(&m) == file.identity)
                    .unwrap_or(false);
                if same && std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
        }
        tx.commit().map_err(sql)?;
        Ok(removed)
    }

    /// What importing `rows` would do now (before any chunk file is written).
    pub fn import_plan(&self, rows: &TransferRows) -> StoreResult<ImportOutcome> {
        plan(&self.conn, rows).map_err(self.sql())
    }

    /// Commits imported rows in one transaction: chunk rows (the frames of
    /// chunks small enough to live inline come from `inline`; the files of
    /// the others must already be durable), object records, the run (with
    /// `origin` and the next local ordinal), snapshots, entries, metrics,
    /// events and warnings. The plan is checked again inside the
    /// transaction; `AlreadyImported` and `Conflict` write nothing.
    ///
    /// Every chunk neither in `inline` nor in `written` (the files this
    /// import wrote) is one the store held when the import looked. Under the
    /// write lock each must still have its row (and, unless inline, its
    /// file): a `gc` or `rm` that committed in between may have swept it.
    /// Those are answered as `ChunksGone`, nothing written, for the caller
    /// to write and try again.
    pub fn import_rows(
        &mut self,
        rows: &TransferRows,
        origin: &serde_json::Value,
        inline: &HashMap<String, Vec<u8>>,
        written: &HashSet<String>,
    ) -> StoreResult<ImportOutcome> {
        let sql = |e| crate::schema::classify(&self.catalog, e);
        let files = self.chunk_files();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let outcome = plan(&tx, rows).map_err(sql)?;
        let seqs: BTreeSet<i64> = match &outcome {
            ImportOutcome::New => rows.snapshots.iter().map(|s| s.seq).collect(),
            ImportOutcome::AddSnapshots(seqs) => seqs.iter().copied().collect(),
            ImportOutcome::AlreadyImported
            | ImportOutcome::Conflict(_)
            | ImportOutcome::ChunksGone(_) => return Ok(outcome),
        };
        let mut gone = Vec::new();
        {
            let mut row = tx
                .prepare_cached("SELECT inline IS NOT NULL FROM chunks WHERE hash = ?1")
                .map_err(sql)?;
            for c in &rows.chunks {
                if inline.contains_key(&c.hash) || written.contains(&c.hash) {
                    continue;
                }
                let here: Option<bool> = row
                    .query_row([&c.hash], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                let present = match here {
                    Some(true) => true,
                    Some(false) => files.exists(&c.hash)?,
                    None => false,
                };
                if !present {
                    gone.push(c.hash.clone());
                }
            }
        }
        if !gone.is_empty() {
            return Ok(ImportOutcome::ChunksGone(gone));
        }
        insert_rows(
            &tx,
            rows,
            origin,
            inline,
            &seqs,
            outcome == ImportOutcome::New,
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(outcome)
    }
}

fn plan(conn: &rusqlite::Connection, rows: &TransferRows) -> rusqlite::Result<ImportOutcome> {
    let existing: Option<(String, f64, String, Option<String>)> = conn
        .query_row(
            "SELECT script, started_at, lineage, origin FROM runs WHERE id = ?1",
            [&rows.run.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((script, started_at, lineage, origin)) = existing else {
        return Ok(ImportOutcome::New);
    };
    let here = RunRow {
        script,
        started_at,
        lineage: serde_json::from_str(&lineage).unwrap_or(serde_json::Value::Null),
        ..rows.run.clone()
    };
    if run_key(&here) != run_key(&rows.run) {
        return Ok(ImportOutcome::Conflict(format!(
            "this store already has a different run with id {} (another script, start time or host)",
            rows.run.id
        )));
    }
    let mut by_seq: BTreeMap<i64, Vec<(String, i64, String)>> = BTreeMap::new();
    for e in &rows.entries {
        by_seq
            .entry(e.seq)
            .or_default()
            .push((e.path.clone(), e.node, e.hash.clone()));
    }
    let mut missing = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT path, node, hash FROM entries WHERE run_id = ?1 AND seq = ?2 ORDER BY path",
    )?;
    for snap in &rows.snapshots {
        let present: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM snapshots WHERE run_id = ?1 AND seq = ?2",
                params![rows.run.id, snap.seq],
                |r| r.get(0),
            )
            .optional()?;
        if present.is_none() {
            missing.push(snap.seq);
            continue;
        }
        let here: Vec<(String, i64, String)> = stmt
            .query_map(params![rows.run.id, snap.seq], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut theirs = by_seq.remove(&snap.seq).unwrap_or_default();
        theirs.sort();
        if here != theirs {
            return Ok(ImportOutcome::Conflict(format!(
                "run {} snapshot {} is already in this store with different content",
                rows.run.id, snap.seq
            )));
        }
    }
    if missing.is_empty() {
        return Ok(ImportOutcome::AlreadyImported);
    }
    // Foreign stays foreign: a run captured here (no origin) never takes
    // snapshots from a bundle, or they would be restored as local ones (in
    // full, code and all). Origin is kept per run, so every snapshot of a
    // run shares its run's.
    if origin.is_none() {
        return Ok(ImportOutcome::Conflict(format!(
            "run {} was captured in this store: a bundle cannot add snapshots to it (import \
             it into another store, or `snapline rm` the local run first)",
            rows.run.id
        )));
    }
    Ok(ImportOutcome::AddSnapshots(missing))
}

fn insert_rows(
    tx: &rusqlite::Transaction<'_>,
    rows: &TransferRows,
    origin: &serde_json::Value,
    inline: &HashMap<String, Vec<u8>>,
    seqs: &BTreeSet<i64>,
    new_run: bool,
) -> rusqlite::Result<()> {
    {
        let mut put_chunk = tx.prepare_cached(
            "INSERT OR IGNORE INTO chunks (hash, size, stored, inline) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for c in &rows.chunks {
            let frame = if c.size <= INLINE_LIMIT as u64 {
                inline.get(&c.hash)
            } else {
                None
            };
            put_chunk.execute(params![
                c.hash,
                i64::try_from(c.size).unwrap_or(i64::MAX),
                i64::try_from(c.stored).unwrap_or(i64::MAX),
                frame
            ])?;
        }
        let mut put_object =
            tx.prepare_cached("INSERT OR IGNORE INTO objects (hash, record) VALUES (?1, ?2)")?;
        for o in &rows.objects {
            put_object.execute(params![o.hash, o.record])?;
        }
    }
    let run = &rows.run;
    if new_run {
        let ordinal: i64 =
            tx.query_row("SELECT COALESCE(MAX(ordinal), 0) + 1 FROM runs", [], |r| {
                r.get(0)
            })?;
        tx.execute(
            "INSERT INTO runs (id, ordinal, script, lineage, started_at, ended_at, status,
                 exit_code, exception, parent_run, parent_seq, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                run.id,
                ordinal,
                run.script,
                run.lineage.to_string(),
                run.started_at,
                run.ended_at,
                run.status,
                run.exit_code,
                run.exception.as_ref().map(|e| e.to_string()),
                run.parent_run,
                run.parent_seq,
                origin.to_string()
            ],
        )?;
    } else if run.ended_at.is_some() {
        // A later export of the same run knows how it ended.
        tx.execute(
            "UPDATE runs SET ended_at = ?2, status = ?3, exit_code = ?4, exception = ?5
             WHERE id = ?1 AND ended_at IS NULL",
            params![
                run.id,
                run.ended_at,
                run.status,
                run.exit_code,
                run.exception.as_ref().map(|e| e.to_string())
            ],
        )?;
    }
    {
        for m in rows.snapshots.iter().filter(|s| seqs.contains(&s.seq)) {
            crate::write::insert_snapshot_row(tx, &run.id, m)?;
        }
        let mut put_entry = tx.prepare_cached(
            "INSERT INTO entries (run_id, seq, path, node, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in rows.entries.iter().filter(|e| seqs.contains(&e.seq)) {
            put_entry.execute(params![run.id, e.seq, e.path, e.node, e.hash])?;
        }
        // Points, events and warnings already here (an earlier import of
        // the same run) are not added twice.
        let mut put_metric = tx.prepare_cached(
            "INSERT INTO metrics (run_id, name, step, value, time, seq, epoch)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (
                 SELECT 1 FROM metrics WHERE run_id = ?1 AND name = ?2 AND step = ?3
                     AND time = ?5 AND seq IS ?6)",
        )?;
        for p in &rows.metrics {
            let value = if p.value.is_nan() {
                None
            } else {
                Some(p.value)
            };
            put_metric.execute(params![
                run.id, p.name, p.step, value, p.time, p.seq, p.epoch
            ])?;
        }
        let mut put_event = tx.prepare_cached(
            "INSERT INTO events (run_id, time, seq, kind, detail)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (
                 SELECT 1 FROM events WHERE run_id = ?1 AND time = ?2 AND kind = ?4)",
        )?;
        for e in &rows.events {
            put_event.execute(params![run.id, e.time, e.seq, e.kind, e.detail.to_string()])?;
        }
        let mut put_warning = tx.prepare_cached(
            "INSERT INTO warnings (run_id, time, message)
             SELECT ?1, ?2, ?3 WHERE NOT EXISTS (
                 SELECT 1 FROM warnings WHERE run_id = ?1 AND time = ?2 AND message = ?3)",
        )?;
        for (time, message) in &rows.warnings {
            put_warning.execute(params![run.id, time, message])?;
        }
    }
    Ok(())
}
