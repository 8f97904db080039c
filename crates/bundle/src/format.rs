//! The bundle layout (docs/bundle-format.md):
//!
//! ```text
//! header    16 bytes  b"SNAPLINE-BUNDLE" + version byte (1)
//! chunks    the stored zstd frames, each once, in manifest order
//! catalog   JSON: the run, snapshots, entries, objects, chunk rows, metrics, events
//! manifest  JSON: who exported what, and offset/length/hash of every part
//! footer    48 bytes  b"SLBFOOT\0", manifest offset u64 LE, manifest length
//!           u64 LE, manifest xxh3-128 (u128 LE), b"SLBEND\0\n"
//! ```
//!
//! Parts tile the file exactly (no gap, no overlap), so any truncation or
//! insertion shows up as a layout error before anything is decompressed.

use serde::{Deserialize, Serialize};

use crate::error::{chunk_part, damaged, BundleResult};

pub const HEADER: &[u8; 16] = b"SNAPLINE-BUNDLE\x01";
pub const HEADER_LEN: u64 = 16;
pub const FOOTER_MAGIC: &[u8; 8] = b"SLBFOOT\0";
pub const FOOTER_END: &[u8; 8] = b"SLBEND\0\n";
pub const FOOTER_LEN: u64 = 48;
pub const FORMAT_NAME: &str = "snapline-bundle";
pub const FORMAT_VERSION: u32 = 1;

/// Largest raw chunk a bundle may declare (chunks are 1 MiB; blobs such as
/// a script's source may be bigger, up to the agent's 4 MiB module limit).
pub const MAX_CHUNK_RAW: u64 = 64 * 1024 * 1024;
/// Largest manifest read into memory.
pub const MAX_MANIFEST: u64 = 64 * 1024 * 1024;
/// Largest catalog part read into memory.
pub const MAX_CATALOG: u64 = 512 * 1024 * 1024;
/// Most chunk parts a bundle may list.
pub const MAX_CHUNKS: usize = 1_000_000;
/// Most rows of any one kind the catalog part may hold.
pub const MAX_ROWS: usize = 20_000_000;

/// Where a part lies in the file and the xxh3-128 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRef {
    pub offset: u64,
    pub length: u64,
    /// xxh3-128 of the part's bytes, 32 lowercase hex digits.
    pub hash: String,
}

/// One chunk part: the chunk's content hash and raw size, and where its
/// stored zstd frame lies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPart {
    /// The chunk's name: xxh3-128 of its raw bytes.
    pub chunk: String,
    /// Raw (decompressed) bytes.
    pub size: u64,
    #[serde(flatten)]
    pub part: PartRef,
}

/// The manifest: what the bundle holds and the hash of every part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The catalog schema of the exporting store.
    pub schema: i64,
    /// The Snapline version that wrote the bundle.
    pub snapline: String,
    pub host: String,
    pub exporter: String,
    pub exported_at: f64,
    pub run: String,
    /// `run` (every snapshot) or `snapshot` (the snapshots in `seqs`).
    pub scope: String,
    pub seqs: Vec<i64>,
    pub catalog: PartRef,
    pub chunks: Vec<ChunkPart>,
}

/// zstd's worst-case frame size for `raw` bytes, plus slack: a frame larger
/// than this for its declared size is not one the store wrote.
pub fn max_frame_len(raw: u64) -> u64 {
    raw + raw / 128 + 64 * 1024
}

/// The hex xxh3-128 of `bytes`.
pub fn part_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Checks the manifest against the file's length: known format, bounded
/// counts and sizes, chunk names that are names (never paths), and parts
/// that tile `[HEADER_LEN, manifest_offset)` exactly: chunks in order, then
/// the catalog.
pub fn check_layout(manifest: &Manifest, manifest_offset: u64) -> BundleResult<()> {
    if manifest.format != FORMAT_NAME {
        return Err(damaged(
            "manifest",
            format!("format is {:?}", manifest.format),
        ));
    }
    if manifest.version != FORMAT_VERSION {
        return Err(crate::BundleError::TooNew {
            detail: format!(
                "bundle format {}, this build reads {FORMAT_VERSION}",
                manifest.version
            ),
        });
    }
    if manifest.schema > snapline_store::SCHEMA_VERSION {
        return Err(crate::BundleError::TooNew {
            detail: format!(
                "catalog schema {}, this build reads up to {}",
                manifest.schema,
                snapline_store::SCHEMA_VERSION
            ),
        });
    }
    if manifest.chunks.len() > MAX_CHUNKS {
        return Err(damaged(
            "manifest",
            format!("{} chunks (at most {MAX_CHUNKS})", manifest.chunks.len()),
        ));
    }
    if !is_hex32(&manifest.catalog.hash) {
        return Err(damaged(
            "manifest",
            "the catalog's hash is not 32 hex digits",
        ));
    }
    let mut at = HEADER_LEN;
    let mut prev = String::from("header");
    let mut seen = std::collections::HashSet::with_capacity(manifest.chunks.len());
    for c in &manifest.chunks {
        let part = chunk_part(&c.chunk);
        if !snapline_store::is_chunk_name(&c.chunk) {
            return Err(damaged(part, "not a chunk name (32 lowercase hex digits)"));
        }
        if !seen.insert(c.chunk.as_str()) {
            return Err(damaged(part, "listed twice"));
        }
        if !is_hex32(&c.part.hash) {
            return Err(damaged(part, "its part hash is not 32 hex digits"));
        }
        if c.size > MAX_CHUNK_RAW {
            return Err(damaged(
                part,
                format!("declares {} raw bytes (at most {MAX_CHUNK_RAW})", c.size),
            ));
        }
        if c.part.length == 0 || c.part.length > max_frame_len(c.size) {
            return Err(damaged(
                part,
                format!("a {}-byte frame for {} raw bytes", c.part.length, c.size),
            ));
        }
        if c.part.offset != at {
            return Err(damaged(
                part,
                format!(
                    "starts at byte {} where the previous part ({prev}) ends at {at}",
                    c.part.offset
                ),
            ));
        }
        prev = chunk_part(&c.chunk);
        at = at.saturating_add(c.part.length);
    }
    let catalog = &manifest.catalog;
    if catalog.offset != at {
        return Err(damaged(
            "catalog",
            format!(
                "starts at byte {} where the chunks end at {at}",
                catalog.offset
            ),
        ));
    }
    if catalog.length > MAX_CATALOG {
        return Err(damaged(
            "catalog",
            format!("{} bytes (at most {MAX_CATALOG})", catalog.length),
        ));
    }
    if catalog.offset.saturating_add(catalog.length) != manifest_offset {
        return Err(damaged(
            "catalog",
            format!(
                "ends at byte {} where the manifest starts at {manifest_offset}",
                catalog.offset.saturating_add(catalog.length)
            ),
        ));
    }
    Ok(())
}

pub(crate) fn is_hex32(s: &str) -> bool {
    snapline_store::is_chunk_name(s)
}

/// The 48-byte footer.
pub fn footer(manifest_offset: u64, manifest: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    out[..8].copy_from_slice(FOOTER_MAGIC);
    out[8..16].copy_from_slice(&manifest_offset.to_le_bytes());
    out[16..24].copy_from_slice(&(manifest.len() as u64).to_le_bytes());
    out[24..40].copy_from_slice(&xxhash_rust::xxh3::xxh3_128(manifest).to_le_bytes());
    out[40..48].copy_from_slice(FOOTER_END);
    out
}

/// Parsed footer: (manifest offset, manifest length, manifest hash).
pub fn parse_footer(bytes: &[u8; 48]) -> Option<(u64, u64, u128)> {
    if &bytes[..8] != FOOTER_MAGIC || &bytes[40..48] != FOOTER_END {
        return None;
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let mut h = [0u8; 16];
    h.copy_from_slice(&bytes[24..40]);
    Some((u64_at(8), u64_at(16), u128::from_le_bytes(h)))
}
