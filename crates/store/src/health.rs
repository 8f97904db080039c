//! `snapline fsck`: checks every chunk and every reference in a store, says
//! which snapshots each problem affects, and repairs by dropping exactly
//! those snapshots (and the damaged rows and files), never a healthy one.
//!
//! The repair goes through the same deletion as gc (`retention.rs`): one
//! `BEGIN IMMEDIATE` transaction re-checked under the lock, then files
//! listed before the scan; chunk rows and files are left alone while a run
//! is being captured.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rusqlite::params;
use serde::Serialize;

use crate::catalog::Store;
use crate::chunks::decode_verified;
use crate::error::StoreResult;
use crate::liveness::process_gone;
use crate::model::ObjectRecord;
use crate::references::{record_children, record_chunks};
use crate::retention::{list_chunk_files, run_rows, snapshot_keys, ChunkFile, Deletion, SnapKey};

/// How far a long operation is, for a progress bar: `done` of `total`
/// steps of `phase` (`total` 0 when unknown).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// What kind of damage a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A chunk row whose file does not exist.
    MissingChunkFile,
    /// A chunk that does not decompress to its declared size and hash.
    DamagedChunk,
    /// An object record names a chunk the catalog has no row for.
    MissingChunkRow,
    /// An entry or a record's child names an object the catalog lacks.
    MissingObject,
    /// An object record that does not parse.
    BadRecord,
}

/// One problem and the snapshots that need what it damaged.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The chunk or object hash.
    pub subject: String,
    pub detail: String,
    /// `RUN@SEQ` of every snapshot that reaches it.
    pub snapshots: Vec<String>,
}

/// What a kill -9 or a crash leaves behind: harmless, reclaimable.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Leftovers {
    /// Chunk files no catalog row names (a snapshot in flight at kill -9).
    pub orphan_chunk_files: Vec<String>,
    /// A writer's temporary files (`chunks/xx/<hash>.tmp-<pid>`).
    pub temp_files: Vec<String>,
    pub orphan_bytes: u64,
    /// Runs still marked `running` whose process is gone.
    pub stale_runs: Vec<String>,
    /// Rows of runs or snapshots that no longer exist (entries, metrics,
    /// events, warnings, snapshots).
    pub orphan_rows: u64,
}

/// The result of `Store::fsck`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FsckReport {
    pub runs: u64,
    pub snapshots: u64,
    pub objects: u64,
    pub chunks: u64,
    pub chunk_bytes: u64,
    pub problems: Vec<Problem>,
    /// Every snapshot at least one problem affects, `RUN@SEQ`.
    pub affected_snapshots: Vec<String>,
    pub leftovers: Leftovers,
    /// Metric points whose `seq` names a snapshot no longer stored (gc
    /// keeps series whole when it thins snapshots): informational.
    pub metric_points_without_snapshot: u64,
    /// Runs being captured right now: their in-flight chunk files are not
    /// counted as orphans.
    pub live_runs: Vec<String>,
}

impl FsckReport {
    /// No damage (left-overs may remain).
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A scan's report plus what a repair needs.
pub struct FsckScan {
    pub report: FsckReport,
    files: Vec<ChunkFile>,
    affected: BTreeSet<SnapKey>,
    bad_objects: HashSet<String>,
    bad_chunks: HashSet<String>,
    scanned: BTreeSet<SnapKey>,
}

/// What `Store::repair` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RepairReport {
    /// `RUN@SEQ` of the snapshots dropped.
    pub dropped_snapshots: Vec<String>,
    /// Affected snapshots left because their run is being captured.
    pub skipped_snapshots: Vec<String>,
    pub objects_removed: u64,
    pub chunks_removed: u64,
    pub files_removed: u64,
    pub bytes_freed: u64,
    /// Damaged chunk rows left in place because a run is being captured.
    pub chunks_deferred: u64,
    pub runs_marked_killed: Vec<String>,
    pub orphan_rows_removed: u64,
    pub live_runs: Vec<String>,
}

impl RepairReport {
    /// Whether anything was left to a later repair.
    pub fn complete(&self) -> bool {
        self.skipped_snapshots.is_empty() && self.chunks_deferred == 0
    }
}

/// The object graph as scanned, and which problems each object reaches.
struct Graph<'a> {
    objects: &'a HashMap<String, Option<Refs>>,
    chunk_rows: &'a HashSet<String>,
    /// Damaged or missing chunks (also chunks with no row, added on the way).
    chunk_problem: HashMap<String, usize>,
    /// Unparseable or missing objects.
    object_problem: HashMap<String, usize>,
    problems: Vec<Problem>,
    reached: HashMap<String, BTreeSet<usize>>,
}

impl Graph<'_> {
    fn missing(&mut self, hash: &str, kind: ProblemKind) -> usize {
        let map = if kind == ProblemKind::MissingChunkRow {
            &mut self.chunk_problem
        } else {
            &mut self.object_problem
        };
        if let Some(&i) = map.get(hash) {
            return i;
        }
        let detail = if kind == ProblemKind::MissingChunkRow {
            "an object record names this chunk but the catalog has no row for it"
        } else {
            "an entry or a record names this object but the catalog has no record of it"
        };
        let i = self.problems.len();
        map.insert(hash.to_owned(), i);
        self.problems.push(Problem {
            kind,
            subject: hash.to_owned(),
            detail: detail.into(),
            snapshots: Vec::new(),
        });
        i
    }

    /// The problems reachable from object `root` (memoized, iterative).
    fn reach(&mut self, root: &str) -> BTreeSet<usize> {
        let mut stack: Vec<(String, bool)> = vec![(root.to_owned(), false)];
        let mut on_path: HashSet<String> = HashSet::new();
        while let Some((hash, expanded)) = stack.pop() {
            if self.reached.contains_key(&hash) {
                continue;
            }
            let objects = self.objects;
            let refs = match objects.get(&hash) {
                None => {
                    let i = self.missing(&hash, ProblemKind::MissingObject);
                    self.reached.insert(hash, BTreeSet::from([i]));
                    continue;
                }
                Some(None) => {
                    let set = self
                        .object_problem
                        .get(&hash)
                        .copied()
                        .into_iter()
                        .collect();
                    self.reached.insert(hash, set);
                    continue;
                }
                Some(Some(refs)) => refs,
            };
            if !expanded {
                if !on_path.insert(hash.clone()) {
                    // Content addressing makes hash cycles impossible;
                    // stop rather than loop on a forged catalog.
                    self.reached.insert(hash, BTreeSet::new());
                    continue;
                }
                stack.push((hash.clone(), true));
                for child in &refs.children {
                    if !self.reached.contains_key(child) && !on_path.contains(child) {
                        stack.push((child.clone(), false));
                    }
                }
                continue;
            }
            let mut set = BTreeSet::new();
            for chunk in &refs.chunks {
                if let Some(&i) = self.chunk_problem.get(chunk) {
                    set.insert(i);
                } else if !self.chunk_rows.contains(chunk) {
                    set.insert(self.missing(chunk, ProblemKind::MissingChunkRow));
                }
            }
            for child in &refs.children {
                if let Some(s) = self.reached.get(child) {
                    set.extend(s.iter().copied());
                }
            }
            on_path.remove(&hash);
            self.reached.insert(hash, set);
        }
        self.reached.get(root).cloned().unwrap_or_default()
    }
}

fn at(key: &SnapKey) -> String {
    format!("{}@{}", key.0, key.1)
}

/// Per-object refs as parsed during the scan.
struct Refs {
    chunks: Vec<String>,
    children: Vec<String>,
}

/// Each object record's refs, or None for a record that does not parse.
type ObjectRefs = HashMap<String, Option<Refs>>;

/// What fsck's chunk phase found.
#[derive(Default)]
struct CheckedChunks {
    /// Every chunk row's hash.
    rows: HashSet<String>,
    /// Raw bytes of the chunks that read back.
    bytes: u64,
    /// Missing and damaged chunks, and where each is in `problems`.
    problems: Vec<Problem>,
    problem_of: HashMap<String, usize>,
}

/// Chunk files no row names, and writers' temporary files.
fn leftover_files(files: &[ChunkFile], chunk_rows: &HashSet<String>, leftovers: &mut Leftovers) {
    for file in files {
        if file.temp {
            leftovers.temp_files.push(file.path.display().to_string());
        } else if !chunk_rows.contains(&file.hash) {
            leftovers.orphan_chunk_files.push(file.hash.clone());
        } else {
            continue;
        }
        leftovers.orphan_bytes += file.len;
    }
}

const ORPHAN_ROWS: &[&str] = &[
    "SELECT COUNT(*) FROM entries e WHERE NOT EXISTS
       (SELECT 1 FROM snapshots s WHERE s.run_id = e.run_id AND s.seq = e.seq)",
    "SELECT COUNT(*) FROM snapshots WHERE run_id NOT IN (SELECT id FROM runs)",
    "SELECT COUNT(*) FROM metrics WHERE run_id NOT IN (SELECT id FROM runs)",
    "SELECT COUNT(*) FROM events WHERE run_id NOT IN (SELECT id FROM runs)",
    "SELECT COUNT(*) FROM warnings WHERE run_id NOT IN (SELECT id FROM runs)",
];

const DELETE_ORPHAN_ROWS: &[&str] = &[
    "DELETE FROM entries WHERE NOT EXISTS
       (SELECT 1 FROM snapshots s WHERE s.run_id = entries.run_id AND s.seq = entries.seq)",
    "DELETE FROM snapshots WHERE run_id NOT IN (SELECT id FROM runs)",
    "DELETE FROM metrics WHERE run_id NOT IN (SELECT id FROM runs)",
    "DELETE FROM events WHERE run_id NOT IN (SELECT id FROM runs)",
    "DELETE FROM warnings WHERE run_id NOT IN (SELECT id FROM runs)",
];

impl Store {
    /// Checks the whole store: every chunk row (its file exists unless
    /// inline, it decompresses to its declared size and hash), every object
    /// record (parses; its chunks and children exist), every entry (its
    /// object exists); chunk files no row names, temporary files, stale
    /// `running` runs and rows of vanished runs. Reads, never writes.
    pub fn fsck(&self, progress: &mut dyn FnMut(Progress)) -> StoreResult<FsckScan> {
        // Files first: anything written after this listing is never deleted.
        let files = list_chunk_files(&self.dir)?;
        let sql = self.sql();
        // One read transaction: every query below sees the same catalog,
        // whatever a capture commits meanwhile.
        let _read = self.conn.unchecked_transaction().map_err(&sql)?;
        let runs = run_rows(&self.conn).map_err(&sql)?;
        let scanned = snapshot_keys(&self.conn).map_err(&sql)?;
        let mut report = FsckReport {
            runs: runs.len() as u64,
            snapshots: scanned.len() as u64,
            ..FsckReport::default()
        };
        for run in &runs {
            if run.live() {
                report.live_runs.push(run.id.clone());
            } else if run.status == crate::model::RunStatus::Running && process_gone(&run.lineage) {
                report.leftovers.stale_runs.push(run.id.clone());
            }
        }
        let chunks = self.check_chunks(progress)?;
        report.chunks = chunks.rows.len() as u64;
        report.chunk_bytes = chunks.bytes;
        // Damaged chunks (the problems found so far).
        let bad_chunks: HashSet<String> = chunks.problem_of.keys().cloned().collect();
        leftover_files(&files, &chunks.rows, &mut report.leftovers);
        let (objects, bad_records) = self.read_object_refs(progress)?;
        report.objects = objects.len() as u64;
        let mut graph = Graph {
            objects: &objects,
            chunk_rows: &chunks.rows,
            chunk_problem: chunks.problem_of,
            object_problem: HashMap::new(),
            problems: chunks.problems,
            reached: HashMap::new(),
        };
        for (hash, detail) in &bad_records {
            let i = graph.problems.len();
            graph.object_problem.insert(hash.clone(), i);
            graph.problems.push(Problem {
                kind: ProblemKind::BadRecord,
                subject: hash.clone(),
                detail: format!("object record does not parse: {detail}"),
                snapshots: Vec::new(),
            });
        }
        let affected = self.affected_snapshots(&mut graph, &scanned, progress)?;
        let Graph {
            mut problems,
            reached,
            ..
        } = graph;
        for (key, set) in &affected {
            for &i in set {
                if let Some(p) = problems.get_mut(i) {
                    p.snapshots.push(at(key));
                }
            }
        }
        let bad_objects: HashSet<String> = reached
            .into_iter()
            .filter(|(h, s)| !s.is_empty() && objects.contains_key(h))
            .map(|(h, _)| h)
            .chain(bad_records.keys().cloned())
            .collect();
        problems.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
        report.problems = problems;
        report.affected_snapshots = affected.keys().map(at).collect();
        self.count_orphan_rows(&mut report)?;

        // While a run is live, its in-flight chunk files look like orphans.
        if !report.live_runs.is_empty() {
            report.leftovers.orphan_chunk_files.clear();
            report.leftovers.temp_files.clear();
            report.leftovers.orphan_bytes = 0;
        }
        Ok(FsckScan {
            report,
            files,
            affected: affected.into_keys().collect(),
            bad_objects,
            bad_chunks,
            scanned,
        })
    }

    /// How many rows `table` has (a progress bar's total).
    fn row_count(&self, table: &str) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(self.sql())?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// fsck's first phase: every chunk row's bytes (inline, or its file
    /// even when the listing missed it: it may have been written and
    /// committed after the listing) decompress to its size and hash.
    fn check_chunks(&self, progress: &mut dyn FnMut(Progress)) -> StoreResult<CheckedChunks> {
        let sql = self.sql();
        let mut out = CheckedChunks::default();
        let total = self.row_count("chunks")?;
        let mut stmt = self
            .conn
            .prepare("SELECT hash, size, inline FROM chunks")
            .map_err(&sql)?;
        let mut rows = stmt.query([]).map_err(&sql)?;
        let mut done = 0u64;
        while let Some(row) = rows.next().map_err(&sql)? {
            let hash: String = row.get(0).map_err(&sql)?;
            let size: i64 = row.get(1).map_err(&sql)?;
            let inline: Option<Vec<u8>> = row.get(2).map_err(&sql)?;
            let size = u64::try_from(size).unwrap_or(0);
            let found = match inline {
                // A delta chunk is decoded through its base: a missing or
                // damaged base makes this chunk damaged, naming the base.
                Some(frame) => decode_verified(&hash, size, &frame, &mut |base| {
                    self.read_chunk_within(base, 1)
                }),
                None => self.chunks.read_file(&hash).and_then(|frame| {
                    decode_verified(&hash, size, &frame, &mut |base| {
                        self.read_chunk_within(base, 1)
                    })
                }),
            };
            let problem = match found {
                Ok(raw) => {
                    out.bytes += raw.len() as u64;
                    None
                }
                Err(crate::StoreError::MissingChunk { .. }) => Some((
                    ProblemKind::MissingChunkFile,
                    format!(
                        "chunk file {} does not exist",
                        self.chunks.path_of(&hash).display()
                    ),
                )),
                Err(crate::StoreError::DamagedChunk { detail, .. }) => {
                    Some((ProblemKind::DamagedChunk, detail))
                }
                Err(e) => return Err(e),
            };
            if let Some((kind, detail)) = problem {
                out.problem_of.insert(hash.clone(), out.problems.len());
                out.problems.push(Problem {
                    kind,
                    subject: hash.clone(),
                    detail,
                    snapshots: Vec::new(),
                });
            }
            out.rows.insert(hash);
            done += 1;
            progress(Progress {
                phase: "checking chunks",
                done,
                total,
            });
        }
        Ok(out)
    }

    /// fsck's object phase: each record's references (`references.rs`),
    /// or None for a record that does not parse (its error in the second map).
    fn read_object_refs(
        &self,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<(ObjectRefs, HashMap<String, String>)> {
        let sql = self.sql();
        let mut objects: ObjectRefs = HashMap::new();
        let mut bad_records: HashMap<String, String> = HashMap::new();
        let total = self.row_count("objects")?;
        let mut stmt = self
            .conn
            .prepare("SELECT hash, record FROM objects")
            .map_err(&sql)?;
        let mut rows = stmt.query([]).map_err(&sql)?;
        let mut done = 0u64;
        while let Some(row) = rows.next().map_err(&sql)? {
            let hash: String = row.get(0).map_err(&sql)?;
            let json: String = row.get(1).unwrap_or_default();
            match serde_json::from_str::<ObjectRecord>(&json) {
                Ok(record) => {
                    let refs = Refs {
                        chunks: record_chunks(&record),
                        children: record_children(&record),
                    };
                    objects.insert(hash, Some(refs));
                }
                Err(e) => {
                    bad_records.insert(hash.clone(), e.to_string());
                    objects.insert(hash, None);
                }
            }
            done += 1;
            progress(Progress {
                phase: "checking objects",
                done,
                total,
            });
        }
        Ok((objects, bad_records))
    }

    /// fsck's snapshot phase: through each snapshot's entries, the
    /// problems it reaches (orphan entries are counted apart).
    fn affected_snapshots(
        &self,
        graph: &mut Graph<'_>,
        scanned: &BTreeSet<SnapKey>,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<BTreeMap<SnapKey, BTreeSet<usize>>> {
        let sql = self.sql();
        let mut affected: BTreeMap<SnapKey, BTreeSet<usize>> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT run_id, seq, hash FROM entries ORDER BY run_id, seq")
            .map_err(&sql)?;
        let mut rows = stmt.query([]).map_err(&sql)?;
        let total = scanned.len() as u64;
        let mut current: Option<SnapKey> = None;
        let mut done = 0u64;
        while let Some(row) = rows.next().map_err(&sql)? {
            let key: SnapKey = (row.get(0).map_err(&sql)?, row.get(1).map_err(&sql)?);
            let hash: String = row.get(2).map_err(&sql)?;
            if current.as_ref() != Some(&key) {
                current = Some(key.clone());
                done += 1;
                progress(Progress {
                    phase: "checking snapshots",
                    done: done.min(total),
                    total,
                });
            }
            if !scanned.contains(&key) {
                continue; // orphan entries: counted by count_orphan_rows
            }
            let set = graph.reach(&hash);
            if !set.is_empty() {
                affected.entry(key).or_default().extend(set);
            }
        }
        Ok(affected)
    }

    /// fsck's last phase: rows of vanished runs or snapshots, and metric
    /// points whose snapshot is gone.
    fn count_orphan_rows(&self, report: &mut FsckReport) -> StoreResult<()> {
        let sql = self.sql();
        for q in ORPHAN_ROWS {
            let n: i64 = self.conn.query_row(q, [], |r| r.get(0)).map_err(&sql)?;
            report.leftovers.orphan_rows += u64::try_from(n).unwrap_or(0);
        }
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM metrics m WHERE seq IS NOT NULL AND NOT EXISTS
                   (SELECT 1 FROM snapshots s WHERE s.run_id = m.run_id AND s.seq = m.seq)",
                [],
                |r| r.get(0),
            )
            .map_err(&sql)?;
        report.metric_points_without_snapshot = u64::try_from(n).unwrap_or(0);
        Ok(())
    }

    /// Repairs what `scan` found: drops the affected snapshots (row,
    /// entries, the metric points read from them) of runs not being
    /// captured, the damaged chunk rows and object records, orphan and
    /// temporary chunk files, rows of vanished runs; records stale
    /// `running` runs as `killed`. Healthy snapshots are never touched.
    pub fn repair(
        &mut self,
        scan: FsckScan,
        progress: &mut dyn FnMut(Progress),
    ) -> StoreResult<RepairReport> {
        let mut report = RepairReport::default();
        let runs = run_rows(&self.conn).map_err(self.sql())?;
        let spare_runs: HashSet<String> = runs
            .iter()
            .filter(|r| r.live())
            .map(|r| r.id.clone())
            .collect();
        for key in &scan.affected {
            if spare_runs.contains(&key.0) {
                report.skipped_snapshots.push(at(key));
            } else {
                report.dropped_snapshots.push(at(key));
            }
        }
        // Files of damaged chunks go with their rows; orphans and temp
        // files when no row names them (re-checked under the lock).
        let orphans: HashSet<&String> = scan.report.leftovers.orphan_chunk_files.iter().collect();
        let files: Vec<ChunkFile> = scan
            .files
            .iter()
            .filter(|f| f.temp || scan.bad_chunks.contains(&f.hash) || orphans.contains(&f.hash))
            .cloned()
            .collect();
        // A damaged snapshot left to a live run may still need the damaged
        // records (its writer reuses what it committed): keep them too.
        let objects = if report.skipped_snapshots.is_empty() {
            scan.bad_objects
        } else {
            HashSet::new()
        };
        let deletion = Deletion {
            snapshots: scan.affected,
            with_metric_points: true,
            runs: Vec::new(),
            objects,
            chunks: scan.bad_chunks,
            lineage_refs: false,
            files,
            scanned: scan.scanned,
            spare_runs,
        };
        let applied = self.apply_deletion(deletion, progress)?;
        report.objects_removed = applied.objects;
        report.chunks_removed = applied.chunks;
        report.files_removed = applied.files;
        report.bytes_freed = applied.bytes;
        report.chunks_deferred = applied.chunks_deferred;
        report.live_runs = applied.live_runs;

        // Rows of vanished runs and stale `running` runs: small, separate.
        let catalog = self.catalog.clone();
        let sql = |e| crate::schema::classify(&catalog, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        for q in DELETE_ORPHAN_ROWS {
            report.orphan_rows_removed += tx.execute(q, []).map_err(sql)? as u64;
        }
        for run in run_rows(&tx).map_err(sql)? {
            if scan.report.leftovers.stale_runs.contains(&run.id)
                && run.status == crate::model::RunStatus::Running
                && process_gone(&run.lineage)
            {
                tx.execute(
                    "UPDATE runs SET status = 'killed', ended_at = COALESCE(
                        (SELECT MAX(time) FROM snapshots WHERE run_id = ?1), started_at)
                     WHERE id = ?1 AND status = 'running'",
                    params![run.id],
                )
                .map_err(sql)?;
                report.runs_marked_killed.push(run.id);
            }
        }
        tx.commit().map_err(sql)?;
        Ok(report)
    }
}
