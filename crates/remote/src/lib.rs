//! The team remote: runs pushed to and pulled from S3-compatible object
//! storage (S3, MinIO, SeaweedFS, R2, GCS's S3 endpoint).
//!
//! Layout under `s3://bucket/prefix/`: `chunks/<hash>` (the store's zstd
//! frames, content-addressed, so a chunk is uploaded once for every run that
//! shares it) and `runs/<run id>.json` (one manifest per run: the run's
//! catalog rows exactly as a bundle carries them), written last so a run
//! appears on the remote whole. This crate moves chunks and manifests; it
//! knows nothing of what they mean (`snapline-store` says what references
//! what, `snapline-bundle` checks the rows).

mod cache;
mod client;
mod error;
mod layout;
mod pull;
mod push;
mod remotes;
mod select;

pub use cache::{fill_cache, CacheNeed, CachedRuns};
pub use client::Remote;
pub use error::{RemoteError, RemoteResult};
pub use layout::{chunk_key, parse_manifest, run_key, Manifest, RemoteUrl, MANIFEST_FORMAT};
pub use pull::{pull_runs, PullSummary};
pub use push::{push_runs, PushSummary};
pub use remotes::{RemoteSpec, Remotes, REMOTES_FILE};
pub use select::group_id;
pub use snapline_bundle::{NoProgress, Progress};

/// Unix seconds now.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
