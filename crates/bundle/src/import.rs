//! Import: all or nothing. The catalog part is checked before anything is
//! written; each chunk frame is then read once, checked and, when the store
//! lacks it, written; the files are made durable together and the catalog
//! rows committed in one transaction. When any part is damaged, or anything
//! fails after the first chunk file, the files this import created are
//! removed, so a refused import leaves the store as it was.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use snapline_store::{ChunkFiles, ImportOutcome, Store, WrittenFile, INLINE_LIMIT};

use crate::error::{BundleError, BundleResult};
use crate::format::ChunkPart;
use crate::progress::Progress;
use crate::read::BundleReader;

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

/// How many times an import writes again the chunks a concurrent `gc` or
/// `rm` swept from under it before it gives up.
const ATTEMPTS: usize = 3;

/// Threads checking and writing chunks: two decompress and hash on the two
/// cores while the others wait on the page cache.
const IMPORT_THREADS: usize = 4;

/// Imports `bundle` into the store at `store_dir` (created if needed), all
/// or nothing. The catalog part is checked first; then each chunk frame is
/// read once, checked (frame hash, bounded decompression, content hash) and,
/// when the store lacks it, written as a chunk file without fsync; one
/// `syncfs` makes the files durable; one transaction commits the rows. A
/// damaged part anywhere removes the files this import wrote, so the store
/// is as it was. A bundle the store already holds is still checked whole.
pub fn import_bundle(
    store_dir: &Path,
    bundle: &Path,
    progress: &dyn Progress,
) -> BundleResult<ImportSummary> {
    let reader = BundleReader::open_file(bundle)?;
    let rows = reader.checked_catalog()?;
    let manifest = &reader.manifest;
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
    let all: Vec<&ChunkPart> = manifest.chunks.iter().collect();
    match store.import_plan(&rows)? {
        ImportOutcome::AlreadyImported => {
            // Nothing to write, but a damaged copy is still called damaged.
            reader.each_checked_frame(
                &all,
                crate::VERIFY_THREADS,
                "verifying",
                progress,
                |_, _| Ok(()),
            )?;
            if let Ok(run) = store.run(&rows.run.id) {
                summary.origin = run.origin.unwrap_or(serde_json::Value::Null);
            }
            return Ok(summary);
        }
        ImportOutcome::Conflict(why) => return Err(BundleError::Conflict(why)),
        ImportOutcome::New | ImportOutcome::AddSnapshots(_) | ImportOutcome::ChunksGone(_) => {}
    }
    // What each chunk needs besides its check: small chunks live in the
    // catalog (their frames go in the transaction), others in files.
    let files = store.chunk_files();
    let mut needs = HashMap::with_capacity(all.len());
    for c in &all {
        let need = if c.size <= INLINE_LIMIT as u64 {
            if store.has_chunk(&c.chunk)? {
                Need::Check
            } else {
                Need::Inline
            }
        } else if store.has_chunk(&c.chunk)? && files.exists(&c.chunk)? {
            Need::Check
        } else {
            // Only a committed chunk's file is trusted; an orphan file (a
            // crash before some commit) is written again.
            Need::File
        };
        needs.insert(c.chunk.as_str(), need);
    }
    let written = Written::new(&files, &all, &needs);
    let inline = Mutex::new(HashMap::new());
    let pass =
        reader.each_checked_frame(&all, IMPORT_THREADS, "importing", progress, |c, frame| {
            match needs.get(c.chunk.as_str()) {
                Some(Need::File) => written.write(&c.chunk, frame),
                Some(Need::Inline) => {
                    if let Ok(mut map) = inline.lock() {
                        map.insert(c.chunk.clone(), frame.to_vec());
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        });
    if let Err(e) = pass.and_then(|()| written.sync()) {
        written.undo(&mut store);
        return Err(e);
    }
    let inline = inline.into_inner().unwrap_or_default();
    let mut attempt = 1;
    let outcome = loop {
        let done = store.import_rows(&rows, &origin, &inline, &written.names());
        match done {
            Ok(ImportOutcome::ChunksGone(gone)) if attempt < ATTEMPTS => {
                // A gc or rm swept chunks this import found in the store:
                // write them from the bundle too, and commit again.
                attempt += 1;
                let parts: HashSet<&str> = gone.iter().map(String::as_str).collect();
                let redo: Vec<&ChunkPart> = all
                    .iter()
                    .copied()
                    .filter(|c| parts.contains(c.chunk.as_str()))
                    .collect();
                let rewrite = reader
                    .each_checked_frame(&redo, IMPORT_THREADS, "importing", progress, |c, f| {
                        written.write(&c.chunk, f)
                    })
                    .and_then(|()| written.sync());
                if let Err(e) = rewrite {
                    written.undo(&mut store);
                    return Err(e);
                }
            }
            Ok(ImportOutcome::ChunksGone(gone)) => {
                written.undo(&mut store);
                return Err(BundleError::Conflict(format!(
                    "chunks this import needs kept vanishing from the store ({} of them, \
                     e.g. {}): a gc or rm is running; import again when it is done",
                    gone.len(),
                    gone.first().map(String::as_str).unwrap_or("?")
                )));
            }
            Ok(outcome) => break outcome,
            Err(e) => {
                written.undo(&mut store);
                return Err(e.into());
            }
        }
    };
    summary.chunk_files_written = written.count();
    match outcome {
        ImportOutcome::New => {
            summary.outcome = "imported".into();
            summary.seqs = rows.snapshots.iter().map(|s| s.seq).collect();
        }
        ImportOutcome::AddSnapshots(seqs) => {
            summary.outcome = "added snapshots".into();
            summary.seqs = seqs;
        }
        ImportOutcome::AlreadyImported | ImportOutcome::ChunksGone(_) => {
            // Another import of the same bundle committed first.
            written.undo(&mut store);
            summary.chunk_files_written = 0;
        }
        ImportOutcome::Conflict(why) => {
            written.undo(&mut store);
            return Err(BundleError::Conflict(why));
        }
    }
    Ok(summary)
}

/// What an import does with a chunk once its frame is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// The store holds it: nothing.
    Check,
    /// A small chunk the store lacks: its frame goes in the transaction.
    Inline,
    /// A chunk the store lacks, or whose file is missing: write the file.
    File,
}

/// The chunk files one import wrote: written without fsync, made durable
/// together, taken back together when the import is refused.
struct Written<'a> {
    files: &'a ChunkFiles,
    created: Mutex<Vec<WrittenFile>>,
    /// Chunk directories that did not exist before: removed on undo when
    /// empty (a capture may have put its own file there meanwhile).
    new_dirs: BTreeSet<PathBuf>,
}

impl<'a> Written<'a> {
    fn new(files: &'a ChunkFiles, all: &[&ChunkPart], needs: &HashMap<&str, Need>) -> Self {
        let new_dirs = all
            .iter()
            .filter(|c| needs.get(c.chunk.as_str()) == Some(&Need::File))
            .filter_map(|c| {
                files
                    .path_of(&c.chunk)
                    .ok()?
                    .parent()
                    .map(Path::to_path_buf)
            })
            .filter(|d| !d.exists())
            .collect();
        Written {
            files,
            created: Mutex::new(Vec::new()),
            new_dirs,
        }
    }

    fn write(&self, hash: &str, frame: &[u8]) -> BundleResult<()> {
        let file = self.files.write_unsynced(hash, frame)?;
        if let Ok(mut c) = self.created.lock() {
            c.push(file);
        }
        Ok(())
    }

    fn list(&self) -> Vec<WrittenFile> {
        self.created.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn names(&self) -> HashSet<String> {
        self.list().into_iter().map(|f| f.hash).collect()
    }

    fn count(&self) -> usize {
        self.created.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Makes the files written so far durable, with their directories.
    fn sync(&self) -> BundleResult<()> {
        let created = self.list();
        let dirs: BTreeSet<PathBuf> = created.iter().map(|f| f.dir.clone()).collect();
        let synced = if sync_filesystem(self.files.store_dir()) {
            self.files.sync_dirs(&dirs)
        } else {
            let hashes: Vec<String> = created.into_iter().map(|f| f.hash).collect();
            self.files.sync_files(&hashes, &dirs, SYNC_THREADS)
        };
        synced.map_err(BundleError::from)
    }

    /// Takes back the files written (those no committed row names and no
    /// one has replaced since), and the directories this import created.
    fn undo(&self, store: &mut Store) {
        let _ = store.remove_import_leftovers(&self.list());
        for dir in &self.new_dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Threads fsyncing the written chunk files when `syncfs` is not there:
/// concurrent fsyncs share the file system's journal commits (one after
/// another, 1,000 files cost seconds).
const SYNC_THREADS: usize = 16;

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
