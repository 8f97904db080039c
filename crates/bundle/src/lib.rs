//! Snapline bundles: one self-contained file holding a run (every snapshot)
//! or one snapshot of it, with the chunks its objects need (each once, as
//! the store's zstd frames), its catalog rows and a manifest hashing every
//! part. `export` writes one from a store; `import` verifies all of it
//! before writing anything into another store, then commits it in one
//! transaction. The format: docs/bundle-format.md.

mod error;
mod format;
mod import;
mod progress;
mod read;
mod write;

pub use error::{BundleError, BundleResult};
pub use format::{
    check_layout, footer, max_frame_len, part_hash, ChunkPart, Manifest, PartRef, FOOTER_LEN,
    HEADER, HEADER_LEN, MAX_CATALOG, MAX_CHUNKS, MAX_CHUNK_RAW, MAX_MANIFEST, MAX_ROWS,
};
pub use import::{import_bundle, ImportSummary};
pub use progress::{NoProgress, Progress};
pub use read::{parse_catalog, verify_bytes, BundleReader, FileSource, Source, Verified};
pub use write::{export_bundle, ExportSummary, Scope};

/// Threads that decompress and hash chunks during verification.
pub const VERIFY_THREADS: usize = 2;

/// The user running this process.
pub fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Unix seconds now.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
