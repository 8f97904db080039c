//! The local cache behind `--remote` (`runs`, `log`, `show`, `metrics`,
//! `nan`, `plot`): a store of its own under `STORE/remote-cache/NAME/`
//! holding the catalog rows of the remote runs a command looked at, and the
//! chunk files only of what a command needed (content-addressed, so they
//! are fetched once). The normal query code then answers from it. Every
//! chunk row is there; a chunk never needed has no file (reading it says
//! the chunk is missing), so the cache is a partial mirror: never push,
//! export or restore from it.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use snapline_bundle::Progress;
use snapline_store::{record_children, record_chunks, ImportOutcome, ObjectRecord, Store};

use crate::client::{Remote, PARALLEL_REQUESTS};
use crate::error::{RemoteError, RemoteResult};
use crate::layout::Manifest;
use crate::push::check_frame;

/// What a command needs besides the rows.
#[derive(Clone, Debug)]
pub enum CacheNeed {
    /// Rows only (`runs`, `log`, `metrics`, `nan`, `plot`).
    Rows,
    /// The chunks of the objects at `path` (and under it) in snapshot `seq`
    /// of run `run` (`show RUN@SEQ PATH`).
    Objects { run: String, seq: i64, path: String },
}

/// The cache a command reads, and the runs put there.
#[derive(Clone, Debug)]
pub struct CachedRuns {
    pub dir: PathBuf,
    pub runs: Vec<String>,
}

/// Puts the rows of `manifests` (and what `need` names) into the cache of
/// `remote` under the store at `store_dir`.
pub fn fill_cache(
    store_dir: &Path,
    remote: &Remote,
    manifests: &[Manifest],
    need: &CacheNeed,
    progress: &dyn Progress,
) -> RemoteResult<CachedRuns> {
    let dir = store_dir.join("remote-cache").join(&remote.name);
    let mut store = Store::create(&dir)?;
    for m in manifests {
        let all: HashSet<String> = m.rows.chunks.iter().map(|c| c.hash.clone()).collect();
        let origin = serde_json::json!({
            "host": m.host,
            "exporter": m.user,
            "exported_at": m.pushed_at,
            "remote": remote.url_text(),
        });
        if let ImportOutcome::Conflict(_) = store.import_plan(&m.rows)? {
            // The remote's copy changed under the cache: start it again.
            drop(store);
            std::fs::remove_dir_all(&dir).map_err(crate::error::io_err(&dir))?;
            store = Store::create(&dir)?;
        }
        // Every chunk row, no frame: the files come when a command needs them.
        store.import_rows(&m.rows, &origin, &Default::default(), &all)?;
    }
    let wanted = match need {
        CacheNeed::Rows => Vec::new(),
        CacheNeed::Objects { run, seq, path } => {
            let m = manifests
                .iter()
                .find(|m| &m.rows.run.id == run)
                .ok_or_else(|| RemoteError::UnknownRun {
                    url: remote.url_text(),
                    what: format!("run {run}"),
                })?;
            objects_chunks(m, *seq, path)
        }
    };
    let files = store.chunk_files();
    let mut fetch = Vec::new();
    for hash in wanted {
        if !files.exists(&hash)? {
            if let Some(row) = manifests
                .iter()
                .flat_map(|m| m.rows.chunks.iter())
                .find(|c| c.hash == hash)
            {
                fetch.push((row.clone(), manifests[0].rows.run.id.clone()));
            }
        }
    }
    progress.start("fetching", fetch.iter().map(|(c, _)| c.stored).sum());
    let done: RemoteResult<Vec<()>> = remote.block_on(
        futures::stream::iter(fetch.iter().map(|(c, run)| {
            let files = &files;
            async move {
                let frame = remote
                    .get(&remote.chunk_key(&c.hash))
                    .await?
                    .ok_or_else(|| RemoteError::MissingChunk {
                        url: remote.url_text(),
                        run: run.clone(),
                        chunk: c.hash.clone(),
                    })?;
                check_frame(&c.hash, c.size, &frame).map_err(|e| RemoteError::DamagedChunk {
                    url: remote.url_text(),
                    run: run.clone(),
                    chunk: c.hash.clone(),
                    detail: e.to_string(),
                })?;
                let dir = files.write(&c.hash, &frame)?;
                files.sync_dirs(&BTreeSet::from([dir]))?;
                progress.advance(frame.len() as u64);
                Ok(())
            }
        }))
        .buffer_unordered(PARALLEL_REQUESTS)
        .try_collect(),
    );
    progress.finish();
    done?;
    Ok(CachedRuns {
        dir,
        runs: manifests.iter().map(|m| m.rows.run.id.clone()).collect(),
    })
}

/// The chunks of the objects whose entry path is `path`, or a prefix of
/// it, in snapshot `seq`, and of everything under them.
fn objects_chunks(m: &Manifest, seq: i64, path: &str) -> Vec<String> {
    let records: std::collections::HashMap<&str, &str> = m
        .rows
        .objects
        .iter()
        .map(|o| (o.hash.as_str(), o.record.as_str()))
        .collect();
    let mut queue: Vec<String> = m
        .rows
        .entries
        .iter()
        .filter(|e| e.seq == seq && (path.is_empty() || path.starts_with(e.path.as_str())))
        .map(|e| e.hash.clone())
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while let Some(hash) = queue.pop() {
        if !seen.insert(hash.clone()) {
            continue;
        }
        let Some(record) = records
            .get(hash.as_str())
            .and_then(|text| serde_json::from_str::<ObjectRecord>(text).ok())
        else {
            continue;
        };
        queue.extend(record_children(&record));
        out.extend(record_chunks(&record));
    }
    out
}
