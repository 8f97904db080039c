//! Import: all or nothing. Every part of the bundle is verified before
//! anything is written; then the chunk files the store lacks are written
//! durably, then the catalog rows are committed in one transaction. When
//! anything fails after the first chunk file, the files this import created
//! are removed, so a refused import leaves the store as it was.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use snapline_store::{ChunkFiles, ImportOutcome, Store, INLINE_LIMIT};

use crate::error::{BundleError, BundleResult};
use crate::format::ChunkPart;
use crate::progress::Progress;
use crate::read::{BundleReader, FileSource};

/// What an import did (the `snapline import --json` shape).
#[derive(Clone, Debug, Serialize)]
pub struct ImportSummary {
    pub path: PathBuf,
    pub run: String,
    /// `imported`, `added snapshots` or `already imported`.
    pub outcome: String,
    /// The snapshots added (none when already imported).
    pub seqs: Vec<i64>,
    pub objects: usize,
    pub chunks: usize,
    /// Chunk files written (chunks the store already had are not).
    pub chunk_files_written: usize,
    pub metrics: usize,
    /// Where the run came from, as stored with it.
    pub origin: serde_json::Value,
}

/// Verifies `bundle` whole, then imports it into the store at `store_dir`
/// (created if needed).
pub fn import_bundle(
    store_dir: &Path,
    bundle: &Path,
    progress: &dyn Progress,
) -> BundleResult<ImportSummary> {
    let reader = BundleReader::open_file(bundle)?;
    let verified = reader.verify(crate::VERIFY_THREADS, progress)?;
    let rows = &verified.rows;
    let manifest = &verified.manifest;
    let origin = serde_json::json!({
        "host": manifest.host,
        "exporter": manifest.exporter,
        "exported_at": manifest.exported_at,
        "imported_at": crate::now(),
        "bundle": bundle.file_name().map(|n| n.to_string_lossy().into_owned()),
    });
    let mut summary = ImportSummary {
        path: bundle.to_path_buf(),
        run: rows.run.id.clone(),
        outcome: "already imported".into(),
        seqs: Vec::new(),
        objects: rows.objects.len(),
        chunks: rows.chunks.len(),
        chunk_files_written: 0,
        metrics: rows.metrics.len(),
        origin: origin.clone(),
    };
    let mut store = Store::create(store_dir)?;
    match store.import_plan(rows)? {
        ImportOutcome::AlreadyImported => {
            if let Ok(run) = store.run(&rows.run.id) {
                summary.origin = run.origin.unwrap_or(serde_json::Value::Null);
            }
            return Ok(summary);
        }
        ImportOutcome::Conflict(why) => return Err(BundleError::Conflict(why)),
        ImportOutcome::New | ImportOutcome::AddSnapshots(_) => {}
    }
    let parts: HashMap<&str, &ChunkPart> = manifest
        .chunks
        .iter()
        .map(|c| (c.chunk.as_str(), c))
        .collect();
    // Small chunks live in the catalog: their frames go in the transaction.
    let mut inline = HashMap::new();
    let mut to_write = Vec::new();
    let files = store.chunk_files();
    for c in &manifest.chunks {
        if c.size <= INLINE_LIMIT as u64 {
            if !store.has_chunk(&c.chunk)? {
                inline.insert(c.chunk.clone(), reader.frame(c)?);
            }
        } else if !(store.has_chunk(&c.chunk)? && files.exists(&c.chunk)?) {
            // Only a committed chunk's file is trusted; an orphan file (a
            // crash before some commit) is rewritten.
            to_write.push(*parts.get(c.chunk.as_str()).unwrap_or(&c));
        }
    }
    // Chunk directories this import creates go too when it is undone.
    let new_dirs: BTreeSet<PathBuf> = to_write
        .iter()
        .filter_map(|c| {
            files
                .path_of(&c.chunk)
                .ok()?
                .parent()
                .map(Path::to_path_buf)
        })
        .filter(|d| !d.exists())
        .collect();
    let undo = |created: &[String]| {
        remove_all(&files, created);
        for dir in &new_dirs {
            // Only when empty: a capture may have put its own file there.
            let _ = std::fs::remove_dir(dir);
        }
    };
    let created = write_chunks(&reader, &files, &to_write, progress);
    let created = match created {
        Ok(created) => created,
        Err((created, e)) => {
            undo(&created);
            return Err(e);
        }
    };
    summary.chunk_files_written = created.len();
    match store.import_rows(rows, &origin, &inline) {
        Ok(ImportOutcome::New) => {
            summary.outcome = "imported".into();
            summary.seqs = rows.snapshots.iter().map(|s| s.seq).collect();
        }
        Ok(ImportOutcome::AddSnapshots(seqs)) => {
            summary.outcome = "added snapshots".into();
            summary.seqs = seqs;
        }
        Ok(ImportOutcome::AlreadyImported) => {
            // Another import of the same bundle committed first.
            undo(&created);
            summary.chunk_files_written = 0;
        }
        Ok(ImportOutcome::Conflict(why)) => {
            undo(&created);
            return Err(BundleError::Conflict(why));
        }
        Err(e) => {
            undo(&created);
            return Err(e.into());
        }
    }
    Ok(summary)
}

fn remove_all(files: &ChunkFiles, created: &[String]) {
    for hash in created {
        let _ = files.remove(hash);
    }
}

type Created = Vec<String>;

/// Threads writing chunk files (mostly waiting on the page cache).
const WRITE_THREADS: usize = 4;

/// Threads fsyncing the written chunk files: concurrent fsyncs share the
/// file system's journal commits (one after another, 1,000 files cost
/// seconds).
const SYNC_THREADS: usize = 16;

/// Writes the frames of `chunks` as chunk files on `WRITE_THREADS` threads (each frame
/// read again and checked against its part hash: the bundle may have
/// changed since it was verified), then fsyncs them and their directories. Returns
/// the chunks whose files it created, also on failure.
fn write_chunks(
    reader: &BundleReader<FileSource>,
    files: &ChunkFiles,
    chunks: &[&ChunkPart],
    progress: &dyn Progress,
) -> Result<Created, (Created, BundleError)> {
    let total: u64 = chunks.iter().map(|c| c.part.length).sum();
    progress.start("writing", total);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let created: Mutex<Created> = Mutex::new(Vec::new());
    let dirs: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let error: Mutex<Option<BundleError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..WRITE_THREADS {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else { break };
                    let result = reader.frame(chunk).and_then(|frame| {
                        files
                            .write_unsynced(&chunk.chunk, &frame)
                            .map_err(BundleError::from)
                    });
                    match result {
                        Ok(dir) => {
                            if let Ok(mut c) = created.lock() {
                                c.push(chunk.chunk.clone());
                            }
                            if let Ok(mut d) = dirs.lock() {
                                d.insert(dir);
                            }
                            progress.advance(chunk.part.length);
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    progress.finish();
    let created = created.into_inner().unwrap_or_default();
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err((created, e));
    }
    let dirs = dirs.into_inner().unwrap_or_default();
    let synced = if sync_filesystem(files.store_dir()) {
        files.sync_dirs(&dirs)
    } else {
        files.sync_files(&created, &dirs, SYNC_THREADS)
    };
    if let Err(e) = synced {
        return Err((created, e.into()));
    }
    Ok(created)
}

/// Flushes the whole file system holding `dir` with one `syncfs` (Linux):
/// one journal commit for every chunk file written, where an fsync per file
/// costs one each. False when it is not available or fails (the caller then
/// fsyncs file by file).
fn sync_filesystem(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let Ok(handle) = std::fs::File::open(dir) else {
            return false;
        };
        // SAFETY: syncfs takes an open file descriptor, which `handle` owns
        // for the duration of the call.
        unsafe { libc::syncfs(handle.as_raw_fd()) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}
