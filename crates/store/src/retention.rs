//! Retention: which snapshots `snapline gc` keeps, removing a whole run
//! (`snapline rm`), and the sweep both end with: object records no remaining
//! snapshot reaches and chunks nothing references are deleted.
//!
//! Deleting while a run is being captured is safe by these rules (also in
//! docs/store-format.md, "Health and retention"):
//!
//! - The chunk files are listed *before* the catalog is read, and a file is
//!   only ever deleted if it was in that listing and is still the same file
//!   (device, inode) when it is deleted: a chunk file written after the scan
//!   began (a writer writes its files before committing the snapshot that
//!   needs them) is never touched.
//! - Every deletion happens in one `BEGIN IMMEDIATE` transaction (the catalog
//!   write lock, the one a snapshot commit takes). Under it the snapshots
//!   committed since the scan are walked and whatever they reach is taken
//!   out of the deletion sets, and the runs' lineage is read again.
//! - A run being captured reuses, without writing them again, any chunk the
//!   store held when it looked and any object record it committed itself.
//!   So while any run is live (status `running` and its process alive), no
//!   chunk row or chunk file is deleted at all (they are counted as
//!   `deferred`: run gc again when the capture ends), a live run's snapshots
//!   are never removed (unless `rm --force`), and object records are
//!   deleted only when nothing reaches them under the lock.
//! - Files go after the commit: a kill -9 between the two leaves orphan
//!   files (reclaimable), never a row that names a missing file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::catalog::Store;
use crate::error::{io_err, StoreError, StoreResult};
use crate::health::Progress;
use crate::liveness::process_gone;
use crate::model::{ObjectRecord, RunStatus, Trigger};
use crate::references::{keep_delta_bases, lineage_chunks, record_children, record_chunks};
use crate::schema::classify;

/// Which snapshots `gc` keeps in each run. With every field unset, `gc`
/// removes no snapshot and only sweeps what nothing references.
#[derive(Clone, Debug, Default)]
pub struct KeepRules {
    /// Keep the last N snapshots of every run.
    pub last: Option<u64>,
    /// Keep every snapshot whose seq is a multiple of K.
    pub every: Option<u64>,
    /// Keep snapshots labeled by `snapline.checkpoint(label=...)` (an
    /// `explicit` or other trigger with a label). Notebook cells are labeled
    /// `In [N]` automatically and are not kept by this rule.
    pub labeled: bool,
}

impl KeepRules {
    /// Whether any rule is set (otherwise no snapshot is removed).
    pub fn any(&self) -> bool {
        self.last.is_some() || self.every.is_some() || self.labeled
    }
}

/// What `gc` or `rm` did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SweepReport {
    pub dry_run: bool,
    /// Per run: the snapshots kept and removed.
    pub runs: Vec<RunRetention>,
    /// Runs removed whole (`rm`).
    pub removed_runs: Vec<String>,
    pub snapshots_removed: u64,
    pub objects_removed: u64,
    pub chunks_removed: u64,
    /// Chunk files (including orphans and temporary files) deleted.
    pub files_removed: u64,
    /// Bytes on disk given back: chunk files plus inline chunk frames.
    pub bytes_freed: u64,
    /// Unreferenced chunks left in place because a run is being captured.
    pub chunks_deferred: u64,
    /// Runs being captured right now (left whole; chunk sweep deferred).
    pub live_runs: Vec<String>,
    /// Bytes the catalog file shrank by when it was packed after the sweep
    /// (`VACUUM`; not while a run is being captured).
    pub catalog_bytes_freed: u64,
}

/// Retention of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunRetention {
    pub run: String,
    pub kept: u64,
    pub removed: Vec<i64>,
    /// Why nothing was removed, when the run was skipped (being captured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A file under `chunks/` as listed when a scan began.
#[derive(Clone, Debug)]
pub(crate) struct ChunkFile {
    pub(crate) hash: String,
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
    pub(crate) identity: (u64, u64),
    /// A writer's temporary file (`<hash>.tmp-<pid>`), not a chunk.
    pub(crate) temp: bool,
}

/// Lists every chunk file and temporary file under `chunks/`.
pub(crate) fn list_chunk_files(store_dir: &Path) -> StoreResult<Vec<ChunkFile>> {
    let root = store_dir.join("chunks");
    let mut out = Vec::new();
    // Never through a link: `chunks/` or `chunks/<xx>/` linked elsewhere
    // would have gc, rm and fsck --repair delete files outside the store.
    if std::fs::symlink_metadata(&root)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
    {
        return Err(crate::chunks::symlink_refused(&root));
    }
    let top = match std::fs::read_dir(&root) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(&root)(e)),
    };
    for sub in top {
        let sub = sub.map_err(io_err(&root))?;
        let sub_path = sub.path();
        // DirEntry::file_type does not follow links: a linked directory is
        // skipped, never walked.
        if !sub.file_type().map_err(io_err(&sub_path))?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&sub_path).map_err(io_err(&sub_path))? {
            let file = file.map_err(io_err(&sub_path))?;
            let path = file.path();
            let name = file.file_name().to_string_lossy().into_owned();
            let (hash, temp) = if let Some(h) = name.strip_suffix(".zst") {
                (h.to_owned(), false)
            } else if let Some((h, _)) = name.split_once(".tmp-") {
                (h.to_owned(), true)
            } else {
                continue;
            };
            if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let meta = match file.metadata() {
                Ok(m) => m,
                // Gone since the listing (another gc, a writer's rename).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            out.push(ChunkFile {
                hash,
                len: meta.len(),
                identity: identity(&meta),
                path,
                temp,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(unix)]
pub(crate) fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(crate) fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (meta.len(), modified)
}

/// Deletes a listed file if it is still the file that was listed. Returns
/// whether it was deleted.
pub(crate) fn remove_listed(file: &ChunkFile) -> StoreResult<bool> {
    // Its directory must still be the real one (not a link swapped in
    // since the listing).
    if let Some(dir) = file.path.parent() {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(dir)(e)),
        }
    }
    match std::fs::symlink_metadata(&file.path) {
        Ok(meta) if identity(&meta) == file.identity => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(&file.path)(e)),
    }
    match std::fs::remove_file(&file.path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(&file.path)(e)),
    }
}

/// A run's id, status and lineage.
pub(crate) struct RunRow {
    pub(crate) id: String,
    pub(crate) status: RunStatus,
    pub(crate) lineage: serde_json::Value,
    pub(crate) parent_run: Option<String>,
    pub(crate) parent_seq: Option<i64>,
}

impl RunRow {
    /// Being captured right now: `running` and its process not known gone.
    pub(crate) fn live(&self) -> bool {
        self.status == RunStatus::Running && !process_gone(&self.lineage)
    }
}

pub(crate) fn run_rows(conn: &Connection) -> rusqlite::Result<Vec<RunRow>> {
    // An imported run (schema 4 `origin`) is never being captured here,
    // whatever status it was exported with.
    let has_origin = conn
        .query_row(
            "SELECT 1 FROM pragma_table_info('runs') WHERE name = 'origin'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let imported = if has_origin {
        "origin IS NOT NULL"
    } else {
        "0"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, status, lineage, parent_run, parent_seq, {imported} FROM runs ORDER BY ordinal"
    ))?;
    let rows = stmt.query_map([], |r| {
        let status: String = r.get(1)?;
        let lineage: String = r.get(2)?;
        let imported: bool = r.get(5)?;
        let status = RunStatus::parse(&status).unwrap_or(RunStatus::Failed);
        Ok(RunRow {
            id: r.get(0)?,
            status: if imported && status == RunStatus::Running {
                RunStatus::Killed
            } else {
                status
            },
            lineage: serde_json::from_str(&lineage).unwrap_or(serde_json::Value::Null),
            parent_run: r.get(3)?,
            parent_seq: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(crate) type SnapKey = (String, i64);

pub(crate) fn snapshot_keys(conn: &Connection) -> rusqlite::Result<BTreeSet<SnapKey>> {
    let mut stmt = conn.prepare("SELECT run_id, seq FROM snapshots")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn read_record(conn: &Connection, catalog: &Path, hash: &str) -> StoreResult<Option<ObjectRecord>> {
    let json: Option<String> = conn
        .query_row("SELECT record FROM objects WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| classify(catalog, e))?;
    match json {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::BadRecord {
                hash: hash.to_owned(),
                detail: format!("{e} (run `snapline fsck` to find the snapshots that need it)"),
            }),
    }
}

/// Objects and chunks reachable from some snapshots' entries.
#[derive(Default)]
pub(crate) struct Reach {
    pub(crate) objects: HashSet<String>,
    pub(crate) chunks: HashSet<String>,
}

impl Reach {
    /// Walks from `roots` (object hashes) through children, collecting
    /// objects and chunks. A missing object is skipped (fsck reports it).
    pub(crate) fn walk(
        &mut self,
        conn: &Connection,
        catalog: &Path,
        roots: impl IntoIterator<Item = String>,
    ) -> StoreResult<()> {
        let mut pending: Vec<String> = roots.into_iter().collect();
        while let Some(hash) = pending.pop() {
            if self.objects.contains(&hash) {
                continue;
            }
            self.objects.insert(hash.clone());
            if let Some(record) = read_record(conn, catalog, &hash)? {
                self.chunks.extend(record_chunks(&record));
                pending.extend(
                    record_children(&record)
                        .into_iter()
                        .filter(|c| !self.objects.contains(c)),
                );
            }
        }
        Ok(())
    }
}

/// The entry hashes of some snapshots.
fn entry_hashes(
    conn: &Connection,
    keep: impl Fn(&str, i64) -> bool,
) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT run_id, seq, hash FROM entries")?;
    let mut rows = stmt.query([])?;
    let mut out = HashSet::new();
    while let Some(r) = rows.next()? {
        let run: String = r.get(0)?;
        let seq: i64 = r.get(1)?;
        if keep(&run, seq) {
            out.insert(r.get(2)?);
        }
    }
    Ok(out)
}

/// Everything one deletion does, decided by a scan and re-checked under
/// the catalog write lock by `Store::apply_deletion`.
#[derive(Default)]
pub(crate) struct Deletion {
    /// Snapshots to delete (row and entries).
    pub(crate) snapshots: BTreeSet<SnapKey>,
    /// Also delete the metric points read from those snapshots (fsck repair).
    /// gc keeps them: a loss curve stays whole when snapshots are thinned.
    pub(crate) with_metric_points: bool,
    /// Runs to delete whole (rm): row, snapshots, entries, metrics, events, warnings.
    pub(crate) runs: Vec<String>,
    /// Object records to delete if nothing reaches them under the lock.
    pub(crate) objects: HashSet<String>,
    /// Chunk rows to delete if nothing references them under the lock.
    pub(crate) chunks: HashSet<String>,
    /// Whether a chunk a run's lineage names (its script source) is
    /// referenced: yes for gc and rm; not for a damaged one fsck drops
    /// (restore then reads the script file instead).
    pub(crate) lineage_refs: bool,
    /// Listed files to delete: files of deleted chunk rows, plus the
    /// orphans and temporary files in this list (when no row names them).
    pub(crate) files: Vec<ChunkFile>,
    /// The snapshots that existed when the scan read the catalog.
    pub(crate) scanned: BTreeSet<SnapKey>,
    /// Runs the scan left alone because they were live.
    pub(crate) spare_runs: HashSet<String>,
}

/// What `apply_deletion` did.
#[derive(Default)]
pub(crate) struct Applied {
    pub(crate) snapshots: u64,
    pub(crate) objects: u64,
    pub(crate) chunks: u64,
    pub(crate) chunks_deferred: u64,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    pub(crate) live_runs: Vec<String>,
}

impl Store {
    /// Applies a deletion: catalog rows in one `BEGIN IMMEDIATE`
    /// transaction, re-checked under the lock, then the listed files.
    pub(crate) fn apply_deletion(
        &mut self,
        deletion: Deletion,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<Applied> {
        let catalog = self.catalog.clone();
        let sql = |e| classify(&catalog, e);
        let mut applied = Applied::default();
        let Deletion {
            snapshots,
            with_metric_points,
            runs,
            mut objects,
            mut chunks,
            lineage_refs,
            files,
            scanned,
            spare_runs,
        } = deletion;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let run_list = run_rows(&tx).map_err(sql)?;
        let live: HashSet<String> = run_list
            .iter()
            .filter(|r| r.live() && !runs.contains(&r.id))
            .map(|r| r.id.clone())
            .collect();
        applied.live_runs = live.iter().cloned().collect();
        applied.live_runs.sort();
        applied.snapshots += delete_runs(&tx, &runs).map_err(sql)?;
        // A run that went live since the scan is not touched.
        let spared = |run: &str| live.contains(run) || spare_runs.contains(run);
        applied.snapshots +=
            delete_snapshots(&tx, &snapshots, spared, with_metric_points, progress).map_err(sql)?;
        // Whatever snapshots committed since the scan reach stays, and so
        // does what the remaining runs' lineage names.
        let reach = reach_since(&tx, &catalog, &scanned)?;
        objects.retain(|h| !reach.objects.contains(h));
        chunks.retain(|h| !reach.chunks.contains(h));
        if lineage_refs {
            let lineage: HashSet<String> = run_list
                .iter()
                .filter(|r| !runs.contains(&r.id))
                .flat_map(|r| lineage_chunks(&r.lineage))
                .collect();
            chunks.retain(|h| !lineage.contains(h));
        }
        // A delta chunk that stays (committed since the scan too) keeps the
        // base it is decoded against (references.rs).
        keep_delta_bases(&tx, &mut chunks).map_err(sql)?;
        applied.objects += delete_rows(&tx, "objects", &objects).map_err(sql)?;
        let doomed_files = if live.is_empty() {
            delete_chunk_rows(&tx, &chunks, &files, &mut applied).map_err(sql)?
        } else {
            // A live run may reuse any chunk: none goes, each is deferred.
            applied.chunks_deferred += count_rows(&tx, "chunks", &chunks).map_err(sql)?;
            HashSet::new()
        };
        tx.commit().map_err(sql)?;
        remove_doomed_files(&files, &doomed_files, &mut applied, progress)?;
        Ok(applied)
    }

    /// Whether a run is being captured right now (status `running` and its
    /// process alive, or on another host).
    pub fn run_is_live(&self, run_id: &str) -> StoreResult<bool> {
        let runs = run_rows(&self.conn).map_err(self.sql())?;
        Ok(runs.iter().any(|r| r.id == run_id && r.live()))
    }

    /// Plans and applies retention: per run, the snapshots `rules` keep
    /// stay (plus the first and last, and any a resumed run branched
    /// from); the others go; then the sweep. Runs being captured are left
    /// whole. Without any rule, only the sweep runs.
    pub fn gc(
        &mut self,
        rules: &KeepRules,
        dry_run: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<SweepReport> {
        let files = list_chunk_files(&self.dir)?;
        let runs = run_rows(&self.conn).map_err(self.sql())?;
        let scanned = snapshot_keys(&self.conn).map_err(self.sql())?;
        let mut branched: HashSet<SnapKey> = HashSet::new();
        for r in &runs {
            if let (Some(p), Some(s)) = (&r.parent_run, r.parent_seq) {
                branched.insert((p.clone(), s));
            }
        }
        let mut report = SweepReport {
            dry_run,
            ..SweepReport::default()
        };
        let mut remove: BTreeSet<SnapKey> = BTreeSet::new();
        let mut spare_runs = HashSet::new();
        for run in &runs {
            let metas = self.snapshots(&run.id)?;
            if run.live() {
                spare_runs.insert(run.id.clone());
                report.live_runs.push(run.id.clone());
                report.runs.push(RunRetention {
                    run: run.id.clone(),
                    kept: metas.len() as u64,
                    removed: Vec::new(),
                    skipped: Some("being captured".into()),
                });
                continue;
            }
            let n = metas.len();
            let mut removed = Vec::new();
            if rules.any() {
                for (i, m) in metas.iter().enumerate() {
                    let keep = i == 0
                        || i + 1 == n
                        || rules.last.is_some_and(|last| (n - i) as u64 <= last)
                        || rules
                            .every
                            .is_some_and(|k| k > 0 && m.seq.rem_euclid(k as i64) == 0)
                        || (rules.labeled && m.label.is_some() && m.trigger != Trigger::Cell)
                        || branched.contains(&(run.id.clone(), m.seq));
                    if !keep {
                        removed.push(m.seq);
                        remove.insert((run.id.clone(), m.seq));
                    }
                }
            }
            report.runs.push(RunRetention {
                run: run.id.clone(),
                kept: (n - removed.len()) as u64,
                removed,
                skipped: None,
            });
        }
        let deletion = self.plan_sweep(remove, Vec::new(), files, scanned, spare_runs, progress)?;
        self.finish_sweep(deletion, report, progress)
    }

    /// Removes a run whole (its snapshots, entries, metrics, events and
    /// warnings) and sweeps what only it used. A run being captured is
    /// refused unless `force`.
    pub fn remove_run(
        &mut self,
        run_id: &str,
        force: bool,
        dry_run: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<SweepReport> {
        let files = list_chunk_files(&self.dir)?;
        let runs = run_rows(&self.conn).map_err(self.sql())?;
        let scanned = snapshot_keys(&self.conn).map_err(self.sql())?;
        let run = runs
            .iter()
            .find(|r| r.id == run_id)
            .ok_or_else(|| StoreError::UnknownRun(run_id.to_owned()))?;
        if run.live() && !force {
            return Err(StoreError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other(format!(
                    "run {run_id} is still being captured; stop it first, or pass --force"
                )),
            });
        }
        let remove: BTreeSet<SnapKey> = scanned
            .iter()
            .filter(|(r, _)| r == run_id)
            .cloned()
            .collect();
        let report = SweepReport {
            dry_run,
            live_runs: runs
                .iter()
                .filter(|r| r.live() && r.id != run_id)
                .map(|r| r.id.clone())
                .collect(),
            removed_runs: vec![run_id.to_owned()],
            runs: vec![RunRetention {
                run: run_id.to_owned(),
                kept: 0,
                removed: remove.iter().map(|(_, s)| *s).collect(),
                skipped: None,
            }],
            ..SweepReport::default()
        };
        let deletion = self.plan_sweep(
            remove,
            vec![run_id.to_owned()],
            files,
            scanned,
            HashSet::new(),
            progress,
        )?;
        self.finish_sweep(deletion, report, progress)
    }

    /// Works out, from the catalog as it is now, which objects and chunks
    /// nothing will reference once `remove` and `runs` are gone.
    fn plan_sweep(
        &self,
        remove: BTreeSet<SnapKey>,
        runs: Vec<String>,
        files: Vec<ChunkFile>,
        scanned: BTreeSet<SnapKey>,
        spare_runs: HashSet<String>,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<Deletion> {
        let sql = self.sql();
        progress(Progress {
            phase: "reading entries",
            done: 0,
            total: 0,
        });
        let roots = entry_hashes(&self.conn, |run, seq| {
            !remove.contains(&(run.to_owned(), seq)) && !runs.iter().any(|r| r == run)
        })
        .map_err(&sql)?;
        let total = roots.len() as u64;
        let mut reach = Reach::default();
        for (i, root) in roots.into_iter().enumerate() {
            reach.walk(&self.conn, &self.catalog, [root])?;
            if i % 256 == 0 {
                progress(Progress {
                    phase: "walking objects",
                    done: i as u64,
                    total,
                });
            }
        }
        for run in run_rows(&self.conn).map_err(&sql)? {
            if !runs.contains(&run.id) {
                reach.chunks.extend(lineage_chunks(&run.lineage));
            }
        }
        let objects = column(&self.conn, "SELECT hash FROM objects")
            .map_err(&sql)?
            .into_iter()
            .filter(|h| !reach.objects.contains(h))
            .collect();
        let mut chunks = column(&self.conn, "SELECT hash FROM chunks")
            .map_err(&sql)?
            .into_iter()
            .filter(|h| !reach.chunks.contains(h))
            .collect();
        keep_delta_bases(&self.conn, &mut chunks).map_err(&sql)?;
        Ok(Deletion {
            snapshots: remove,
            with_metric_points: false,
            runs,
            objects,
            chunks,
            lineage_refs: true,
            files,
            scanned,
            spare_runs,
        })
    }

    fn finish_sweep(
        &mut self,
        deletion: Deletion,
        mut report: SweepReport,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<SweepReport> {
        if report.dry_run {
            let sql = self.sql();
            let mut sizes: BTreeMap<String, (i64, bool)> = BTreeMap::new();
            {
                let mut stmt = self
                    .conn
                    .prepare("SELECT hash, stored, inline IS NOT NULL FROM chunks")
                    .map_err(&sql)?;
                let mut rows = stmt.query([]).map_err(&sql)?;
                while let Some(r) = rows.next().map_err(&sql)? {
                    let hash: String = r.get(0).map_err(&sql)?;
                    if deletion.chunks.contains(&hash) {
                        sizes.insert(hash, (r.get(1).map_err(&sql)?, r.get(2).map_err(&sql)?));
                    }
                }
            }
            report.snapshots_removed = deletion.snapshots.len() as u64;
            report.objects_removed = deletion.objects.len() as u64;
            report.chunks_removed = sizes.len() as u64;
            report.bytes_freed = sizes
                .values()
                .filter(|(_, inline)| *inline)
                .map(|(s, _)| u64::try_from(*s).unwrap_or(0))
                .sum();
            for file in &deletion.files {
                if file.temp || sizes.contains_key(&file.hash) || !self.has_chunk(&file.hash)? {
                    report.files_removed += 1;
                    report.bytes_freed += file.len;
                }
            }
            if !report.live_runs.is_empty() {
                // As `apply_deletion` would: no chunk goes while a run is live.
                report.chunks_deferred = report.chunks_removed;
                report.chunks_removed = 0;
                report.files_removed = 0;
                report.bytes_freed = 0;
            }
            return Ok(report);
        }
        let applied = self.apply_deletion(deletion, progress)?;
        report.snapshots_removed = applied.snapshots;
        report.objects_removed = applied.objects;
        report.chunks_removed = applied.chunks;
        report.chunks_deferred = applied.chunks_deferred;
        report.files_removed = applied.files;
        report.bytes_freed = applied.bytes;
        for run in applied.live_runs {
            if !report.live_runs.contains(&run) {
                report.live_runs.push(run);
            }
        }
        // The rows deleted left free pages: packing gives them back.
        if report.live_runs.is_empty() {
            progress(Progress {
                phase: "packing the catalog",
                done: 0,
                total: 0,
            });
            let before = self.catalog_bytes()?;
            if self.pack_unless_live(None)? {
                // (Busy readers only delay the file's shrinking.)
                let _ = self
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                report.catalog_bytes_freed = before.saturating_sub(self.catalog_bytes()?);
            }
        }
        Ok(report)
    }
}

/// Deletes whole runs (row, snapshots, entries, metrics, events,
/// warnings); the number of snapshots deleted.
fn delete_runs(conn: &Connection, runs: &[String]) -> rusqlite::Result<u64> {
    let mut snapshots = 0;
    for run in runs {
        for table in ["entries", "snapshots", "metrics", "events", "warnings"] {
            let n = conn.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [run])?;
            if table == "snapshots" {
                snapshots += n as u64;
            }
        }
        conn.execute("DELETE FROM runs WHERE id = ?1", [run])?;
    }
    Ok(snapshots)
}

/// Deletes snapshots (row, entries, and the metric points read from them
/// when asked), except those of `spared` runs; the number deleted.
fn delete_snapshots(
    conn: &Connection,
    snapshots: &BTreeSet<SnapKey>,
    spared: impl Fn(&str) -> bool,
    with_metric_points: bool,
    progress: &mut dyn FnMut(Progress),
) -> rusqlite::Result<u64> {
    let mut del_snapshot = conn.prepare("DELETE FROM snapshots WHERE run_id = ?1 AND seq = ?2")?;
    let mut del_entries = conn.prepare("DELETE FROM entries WHERE run_id = ?1 AND seq = ?2")?;
    let mut del_points = conn.prepare("DELETE FROM metrics WHERE run_id = ?1 AND seq = ?2")?;
    let total = snapshots.len() as u64;
    let mut deleted = 0;
    for (i, (run, seq)) in snapshots.iter().enumerate() {
        if spared(run) {
            continue;
        }
        deleted += del_snapshot.execute(params![run, seq])? as u64;
        del_entries.execute(params![run, seq])?;
        if with_metric_points {
            del_points.execute(params![run, seq])?;
        }
        progress(Progress {
            phase: "removing snapshots",
            done: i as u64 + 1,
            total,
        });
    }
    Ok(deleted)
}

/// What the snapshots committed since the scan (not in `scanned`) reach.
fn reach_since(
    conn: &Connection,
    catalog: &Path,
    scanned: &BTreeSet<SnapKey>,
) -> StoreResult<Reach> {
    let now = snapshot_keys(conn).map_err(|e| classify(catalog, e))?;
    let fresh: HashSet<SnapKey> = now.difference(scanned).cloned().collect();
    let mut reach = Reach::default();
    if !fresh.is_empty() {
        let roots = entry_hashes(conn, |run, seq| fresh.contains(&(run.to_owned(), seq)))
            .map_err(|e| classify(catalog, e))?;
        reach.walk(conn, catalog, roots)?;
    }
    Ok(reach)
}

/// Deletes the rows of `table` keyed by `hash`; the number deleted.
fn delete_rows(conn: &Connection, table: &str, hashes: &HashSet<String>) -> rusqlite::Result<u64> {
    let mut del = conn.prepare(&format!("DELETE FROM {table} WHERE hash = ?1"))?;
    let mut deleted = 0;
    for hash in hashes {
        deleted += del.execute([hash])? as u64;
    }
    Ok(deleted)
}

/// How many of `hashes` have a row in `table`.
fn count_rows(conn: &Connection, table: &str, hashes: &HashSet<String>) -> rusqlite::Result<u64> {
    let mut has_row = conn.prepare(&format!("SELECT 1 FROM {table} WHERE hash = ?1"))?;
    let mut n = 0;
    for hash in hashes {
        if has_row.query_row([hash], |_| Ok(())).optional()?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// With no run live: deletes the chunk rows, and returns the files to
/// remove after the commit: those of the deleted rows (by hash), and the
/// listed orphans and temporary files no row names now (by path).
fn delete_chunk_rows(
    conn: &Connection,
    chunks: &HashSet<String>,
    files: &[ChunkFile],
    applied: &mut Applied,
) -> rusqlite::Result<HashSet<String>> {
    let mut doomed_files: HashSet<String> = HashSet::new();
    let mut row = conn.prepare("SELECT stored, inline IS NOT NULL FROM chunks WHERE hash = ?1")?;
    let mut del_chunk = conn.prepare("DELETE FROM chunks WHERE hash = ?1")?;
    for hash in chunks {
        let found: Option<(i64, bool)> = row
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((stored, inline)) = found {
            del_chunk.execute([hash])?;
            applied.chunks += 1;
            if inline {
                applied.bytes += u64::try_from(stored).unwrap_or(0);
            }
        }
        doomed_files.insert(hash.clone());
    }
    let mut has_row = conn.prepare("SELECT 1 FROM chunks WHERE hash = ?1")?;
    for file in files {
        if doomed_files.contains(&file.hash) && !file.temp {
            continue;
        }
        let named = has_row
            .query_row([&file.hash], |_| Ok(()))
            .optional()?
            .is_some();
        if !named || file.temp {
            doomed_files.insert(file_key(file));
        }
    }
    Ok(doomed_files)
}

/// Removes the listed files `doomed` names (by hash, or a temporary
/// file by path), each only if it is still the file that was listed.
fn remove_doomed_files(
    files: &[ChunkFile],
    doomed: &HashSet<String>,
    applied: &mut Applied,
    progress: &mut dyn FnMut(Progress),
) -> StoreResult<()> {
    let total = files.len() as u64;
    for (i, file) in files.iter().enumerate() {
        let is_doomed = if file.temp {
            doomed.contains(&file_key(file))
        } else {
            doomed.contains(&file.hash) || doomed.contains(&file_key(file))
        };
        if is_doomed && remove_listed(file)? {
            applied.files += 1;
            applied.bytes += file.len;
        }
        progress(Progress {
            phase: "removing files",
            done: i as u64 + 1,
            total,
        });
    }
    Ok(())
}

fn file_key(file: &ChunkFile) -> String {
    file.path.to_string_lossy().into_owned()
}

fn column(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}
