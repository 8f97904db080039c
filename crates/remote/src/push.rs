//! Push: the chunks the remote lacks (listed by prefix, uploaded in
//! parallel, each checked against its hash first), then each run's
//! manifest, last, so the run appears whole. A live run sends what is
//! committed; pushing again sends only what is new.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use snapline_bundle::Progress;
use snapline_store::{decompress_into, Store, TransferRows};

use crate::client::{Remote, PARALLEL_REQUESTS};
use crate::error::{io_err, RemoteError, RemoteResult};
use crate::layout::MANIFEST_FORMAT;

/// What a push did (the `snapline push --json` shape).
#[derive(Clone, Debug, Serialize)]
pub struct PushSummary {
    pub remote: String,
    pub url: String,
    pub runs: Vec<RunPushed>,
    /// Chunks uploaded (the remote lacked them).
    pub chunks_sent: usize,
    /// Their stored (compressed) bytes.
    pub bytes_sent: u64,
    /// Chunks the runs need that the remote already had.
    pub chunks_skipped: usize,
    /// Bytes of the manifests written.
    pub manifest_bytes: u64,
}

/// One run pushed.
#[derive(Clone, Debug, Serialize)]
pub struct RunPushed {
    pub run: String,
    pub status: String,
    pub snapshots: usize,
    pub chunks: usize,
    /// Stored bytes of every chunk the run needs.
    pub bytes: u64,
}

/// Where a chunk's frame is read from.
enum Frame {
    Inline(Vec<u8>),
    File(PathBuf),
}

/// Pushes the runs `run_ids` of the store at `store_dir` to `remote`.
pub fn push_runs(
    store_dir: &Path,
    remote: &Remote,
    run_ids: &[String],
    progress: &dyn Progress,
) -> RemoteResult<PushSummary> {
    let store = Store::open(store_dir)?;
    let all_rows: Vec<TransferRows> = run_ids
        .iter()
        .map(|id| store.export_rows(id, None))
        .collect::<Result<_, _>>()?;
    let there = remote.chunk_names()?;
    let mut jobs = Vec::new();
    let mut queued = HashSet::new();
    let mut skipped = BTreeSet::new();
    for rows in &all_rows {
        for c in &rows.chunks {
            if there.contains(&c.hash) {
                skipped.insert(c.hash.clone());
                continue;
            }
            if !queued.insert(c.hash.clone()) {
                continue;
            }
            let (size, inline) = store.chunk_location(&c.hash)?;
            let frame = match inline {
                // An inline twist frame needs its base: it leaves decoded.
                Some(frame) => Frame::Inline(store.portable_frame(&c.hash, frame)?),
                // A delta chunk's file needs its base, a shuffled one this
                // version's reader: send it decoded and compressed on its
                // own (as bundles carry it).
                None if store.chunk_base(&c.hash)?.is_some()
                    || !store.chunk_file_is_zstd(&c.hash)? =>
                {
                    Frame::Inline(store.chunk_frame(&c.hash)?)
                }
                None => Frame::File(store.chunk_path(&c.hash)),
            };
            jobs.push((c.hash.clone(), size, c.stored, frame));
        }
    }
    drop(store);
    let total: u64 = jobs.iter().map(|j| j.2).sum();
    progress.start("pushing", total);
    let sent: RemoteResult<Vec<u64>> = remote.block_on(
        futures::stream::iter(jobs.into_iter().map(|(hash, size, _, frame)| async move {
            let frame = match frame {
                Frame::Inline(frame) => frame,
                Frame::File(path) => std::fs::read(&path).map_err(io_err(&path))?,
            };
            // Decompress and hash on the blocking pool (several cores),
            // while other chunks upload.
            let key = remote.chunk_key(&hash);
            let frame = tokio::task::spawn_blocking(move || {
                check_frame(&hash, size, &frame).map(|()| frame)
            })
            .await
            .map_err(|e| RemoteError::Remote {
                url: remote.url_text(),
                detail: format!("the check of a chunk stopped: {e}"),
            })??;
            let len = frame.len() as u64;
            remote.put(&key, frame).await?;
            progress.advance(len);
            Ok::<u64, RemoteError>(len)
        }))
        .buffer_unordered(PARALLEL_REQUESTS)
        .try_collect(),
    );
    progress.finish();
    let sent = sent?;
    // Every chunk is there: now the manifests, each run appearing whole.
    let host = snapline_store::host_name();
    let user = snapline_bundle::user_name();
    let mut manifest_bytes = 0;
    let mut runs = Vec::new();
    for rows in all_rows {
        let manifest = serde_json::json!({
            "format": MANIFEST_FORMAT,
            "pushed_at": crate::now(),
            "host": host,
            "user": user,
            "rows": &rows,
        });
        let bytes = serde_json::to_vec(&manifest).map_err(|e| RemoteError::Remote {
            url: remote.url_text(),
            detail: format!("cannot write the manifest of run {}: {e}", rows.run.id),
        })?;
        manifest_bytes += bytes.len() as u64;
        remote.block_on(remote.put(&remote.run_key(&rows.run.id), bytes))?;
        runs.push(RunPushed {
            run: rows.run.id.clone(),
            status: rows.run.status.clone(),
            snapshots: rows.snapshots.len(),
            chunks: rows.chunks.len(),
            bytes: rows.chunks.iter().map(|c| c.stored).sum(),
        });
    }
    Ok(PushSummary {
        remote: remote.name.clone(),
        url: remote.url_text(),
        runs,
        chunks_sent: sent.len(),
        bytes_sent: sent.iter().sum(),
        chunks_skipped: skipped.len(),
        manifest_bytes,
    })
}

/// Checks that `frame` decompresses to `size` bytes that hash to `hash`.
pub(crate) fn check_frame(hash: &str, size: u64, frame: &[u8]) -> RemoteResult<()> {
    let len = usize::try_from(size.min(snapline_store::MAX_CHUNK_SIZE)).unwrap_or(0);
    if size > snapline_store::MAX_CHUNK_SIZE {
        return Err(snapline_store::StoreError::DamagedChunk {
            hash: hash.to_owned(),
            detail: format!("declares {size} bytes"),
        }
        .into());
    }
    let mut out = vec![0u8; len];
    decompress_into(hash, frame, &mut out)?;
    Ok(())
}
