//! Bundle errors. Each names the part of the bundle (header, footer,
//! manifest, catalog, `chunk <hash>`) or the file, and says what to do.

use std::path::PathBuf;

use snapline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{path} is not a Snapline bundle ({detail}); export one with `snapline export RUN -o FILE`"
    )]
    NotABundle { path: String, detail: String },

    #[error("the bundle's {part} is damaged: {detail} (the file is truncated, corrupted or was altered: copy or export it again); nothing was imported")]
    Damaged { part: String, detail: String },

    #[error(
        "the bundle was written by a newer Snapline ({detail}); upgrade Snapline to import it"
    )]
    TooNew { detail: String },

    #[error("{0}; nothing was imported (import into another store with --store DIR)")]
    Conflict(String),

    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source} (check the directory exists and is writable, and the disk has room)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type BundleResult<T> = Result<T, BundleError>;

/// A `Damaged` error for one part.
pub(crate) fn damaged(part: impl Into<String>, detail: impl Into<String>) -> BundleError {
    BundleError::Damaged {
        part: part.into(),
        detail: detail.into(),
    }
}

/// How a chunk part is named in messages; a hostile name is shown escaped
/// and cut short, never used.
pub(crate) fn chunk_part(hash: &str) -> String {
    let shown: String = hash.escape_debug().take(80).collect();
    format!("chunk {shown}")
}
