//! Pull: a run's manifest, then the chunks this store lacks (in parallel,
//! each checked against its hash), then one transaction. Nothing reaches
//! the catalog before every chunk is fetched and checked; chunk files
//! written before a failure are taken back, so a refused pull leaves the
//! store as it was. Pulled runs are foreign (they carry an origin), so
//! `restore` treats them as it treats imported bundles.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use snapline_bundle::Progress;
use snapline_store::{ImportOutcome, Store, WrittenFile, INLINE_LIMIT};

use crate::client::{Remote, PARALLEL_REQUESTS};
use crate::error::{RemoteError, RemoteResult};
use crate::layout::Manifest;
use crate::push::check_frame;

/// What a pull did (the `snapline pull --json` shape).
#[derive(Clone, Debug, Serialize)]
pub struct PullSummary {
    pub remote: String,
    pub url: String,
    pub runs: Vec<RunPulled>,
}

/// One run pulled.
#[derive(Clone, Debug, Serialize)]
pub struct RunPulled {
    pub run: String,
    /// `pulled`, `added snapshots` or `already here`.
    pub outcome: String,
    /// The snapshots added.
    pub seqs: Vec<i64>,
    pub chunks: usize,
    /// Chunks fetched (those this store lacked).
    pub chunks_fetched: usize,
    pub bytes_fetched: u64,
    pub origin: serde_json::Value,
}

/// A test hook: when set to a path, a pull waits (up to a minute) after
/// reading the manifests until that file exists, so a test can delete the
/// run on the remote in between.
const PAUSE_ENV: &str = "SNAPLINE_REMOTE_TEST_PAUSE";

/// Pulls the runs of `manifests` from `remote` into the store at
/// `store_dir` (created if needed), one run at a time, each all or nothing.
pub fn pull_runs(
    store_dir: &Path,
    remote: &Remote,
    manifests: &[Manifest],
    progress: &dyn Progress,
) -> RemoteResult<PullSummary> {
    if let Some(flag) = std::env::var_os(PAUSE_ENV) {
        let flag = PathBuf::from(flag);
        for _ in 0..600 {
            if flag.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let fresh = !store_dir.join("catalog.sqlite").exists();
    let mut store = Store::create(store_dir)?;
    let mut runs = Vec::new();
    for manifest in manifests {
        match pull_one(&mut store, remote, manifest, progress) {
            Ok(done) => runs.push(done),
            Err(e) => {
                // A store this pull created, still empty, goes too.
                if fresh && runs.is_empty() {
                    drop(store);
                    for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
                        let _ = std::fs::remove_file(store_dir.join(name));
                    }
                    let _ = std::fs::remove_dir(store_dir.join("chunks"));
                }
                return Err(e);
            }
        }
    }
    Ok(PullSummary {
        remote: remote.name.clone(),
        url: remote.url_text(),
        runs,
    })
}

fn pull_one(
    store: &mut Store,
    remote: &Remote,
    manifest: &Manifest,
    progress: &dyn Progress,
) -> RemoteResult<RunPulled> {
    let rows = &manifest.rows;
    let run = rows.run.id.clone();
    let origin = serde_json::json!({
        "host": manifest.host,
        "exporter": manifest.user,
        "exported_at": manifest.pushed_at,
        "imported_at": crate::now(),
        "remote": remote.url_text(),
    });
    let mut summary = RunPulled {
        run: run.clone(),
        outcome: "already here".into(),
        seqs: Vec::new(),
        chunks: rows.chunks.len(),
        chunks_fetched: 0,
        bytes_fetched: 0,
        origin: origin.clone(),
    };
    let conflict = |detail: String| RemoteError::Conflict {
        run: run.clone(),
        detail,
    };
    match store.import_plan(rows)? {
        ImportOutcome::AlreadyImported => {
            if let Ok(here) = store.run(&run) {
                summary.origin = here.origin.unwrap_or(serde_json::Value::Null);
            }
            return Ok(summary);
        }
        ImportOutcome::Conflict(why) => return Err(conflict(why)),
        ImportOutcome::New | ImportOutcome::AddSnapshots(_) | ImportOutcome::ChunksGone(_) => {}
    }
    // What this store lacks: small chunks go in the transaction, others
    // become files (an orphan file, not committed, is fetched again).
    let files = store.chunk_files();
    let mut wanted = Vec::new();
    for c in &rows.chunks {
        let have = store.has_chunk(&c.hash)?
            && (c.size <= INLINE_LIMIT as u64 || files.exists(&c.hash)?);
        if !have {
            wanted.push(c.clone());
        }
    }
    let inline: Mutex<HashMap<String, Vec<u8>>> = Mutex::new(HashMap::new());
    let written: Mutex<Vec<WrittenFile>> = Mutex::new(Vec::new());
    let total: u64 = wanted.iter().map(|c| c.stored).sum();
    progress.start("pulling", total);
    let fetched: RemoteResult<Vec<u64>> = remote.block_on(
        futures::stream::iter(wanted.iter().map(|c| {
            let (files, inline, written, run) = (&files, &inline, &written, &run);
            async move {
                let Some(frame) = remote.get(&remote.chunk_key(&c.hash)).await? else {
                    return Err(if remote.exists(&remote.run_key(run)).await? {
                        RemoteError::MissingChunk {
                            url: remote.url_text(),
                            run: run.clone(),
                            chunk: c.hash.clone(),
                        }
                    } else {
                        RemoteError::RunGone {
                            url: remote.url_text(),
                            run: run.clone(),
                        }
                    });
                };
                // Decompress and hash on the blocking pool: the checks of
                // several chunks run on several cores while others download.
                let (hash, size) = (c.hash.clone(), c.size);
                let checked = tokio::task::spawn_blocking(move || {
                    check_frame(&hash, size, &frame).map(|()| frame)
                })
                .await;
                let damaged = |detail: String| RemoteError::DamagedChunk {
                    url: remote.url_text(),
                    run: run.clone(),
                    chunk: c.hash.clone(),
                    detail,
                };
                let frame = match checked {
                    Ok(Ok(frame)) => frame,
                    Ok(Err(e)) => return Err(damaged(e.to_string())),
                    Err(e) => return Err(damaged(format!("its check stopped: {e}"))),
                };
                let len = frame.len() as u64;
                if c.size <= INLINE_LIMIT as u64 {
                    if let Ok(mut map) = inline.lock() {
                        map.insert(c.hash.clone(), frame);
                    }
                } else {
                    let file = files.write_unsynced(&c.hash, &frame)?;
                    if let Ok(mut list) = written.lock() {
                        list.push(file);
                    }
                }
                progress.advance(len);
                Ok(len)
            }
        }))
        .buffer_unordered(PARALLEL_REQUESTS)
        .try_collect(),
    );
    progress.finish();
    let written = written.into_inner().unwrap_or_default();
    let undo = |store: &mut Store| {
        let _ = store.remove_import_leftovers(&written);
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            undo(store);
            return Err(e);
        }
    };
    // The run must still be there: deleted meanwhile, it is not pulled.
    match remote.block_on(remote.exists(&remote.run_key(&run))) {
        Ok(true) => {}
        Ok(false) => {
            undo(store);
            return Err(RemoteError::RunGone {
                url: remote.url_text(),
                run,
            });
        }
        Err(e) => {
            undo(store);
            return Err(e);
        }
    }
    let names: HashSet<String> = written.iter().map(|f| f.hash.clone()).collect();
    let dirs: BTreeSet<PathBuf> = written.iter().map(|f| f.dir.clone()).collect();
    let hashes: Vec<String> = names.iter().cloned().collect();
    if let Err(e) = files.sync_files(&hashes, &dirs, 16) {
        undo(store);
        return Err(e.into());
    }
    let inline = inline.into_inner().unwrap_or_default();
    let outcome = match store.import_rows(rows, &origin, &inline, &names) {
        Ok(o) => o,
        Err(e) => {
            undo(store);
            return Err(e.into());
        }
    };
    summary.chunks_fetched = fetched.len();
    summary.bytes_fetched = fetched.iter().sum();
    match outcome {
        ImportOutcome::New => {
            summary.outcome = "pulled".into();
            summary.seqs = rows.snapshots.iter().map(|s| s.seq).collect();
        }
        ImportOutcome::AddSnapshots(seqs) => {
            summary.outcome = "added snapshots".into();
            summary.seqs = seqs;
        }
        ImportOutcome::AlreadyImported => undo(store),
        ImportOutcome::ChunksGone(gone) => {
            undo(store);
            return Err(conflict(format!(
                "{} chunk(s) it needs vanished from this store meanwhile (a gc or rm ran); pull again",
                gone.len()
            )));
        }
        ImportOutcome::Conflict(why) => {
            undo(store);
            return Err(conflict(why));
        }
    }
    Ok(summary)
}
