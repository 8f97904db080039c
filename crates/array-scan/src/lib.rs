//! Snapline's array scanner.
//!
//! Splits a raw typed numeric buffer (the bytes of a numpy array or torch tensor) into
//! [`CHUNK_SIZE`] chunks, hashes each chunk (xxh3-128) and computes the buffer's statistics in
//! the same pass. The capture agent uses the chunk hashes to detect what changed and to store
//! chunks; the statistics are shown by the query layer.
//!
//! ```
//! use snapline_array_scan::{scan, DType, StatsCache};
//!
//! let data: Vec<u8> = [1.0f32, 2.0, f32::NAN].iter().flat_map(|x| x.to_ne_bytes()).collect();
//! let mut cache = StatsCache::new(1024);
//! let s = scan(&data, DType::F32, Some(&mut cache), 2);
//! assert_eq!(s.chunks.len(), 1);
//! assert_eq!(s.stats.count, 3);
//! assert_eq!(s.stats.nan, 1);
//! assert_eq!(s.stats.mean, Some(1.5));
//! ```

mod cache;
mod content_chunks;
mod dtype;
mod hash;
mod stats;
mod streaming_copy;
pub mod write_tracking;

pub use cache::StatsCache;
pub use content_chunks::{content_chunks, CONTENT_CHUNK_MAX, CONTENT_CHUNK_MIN};
pub use dtype::{DType, UnknownDType};
pub use hash::{hash_bytes, ChunkHash};
pub use stats::{stats_of, PartialStats, Stats};
pub use streaming_copy::{copy_streaming, copy_streaming_into};
pub use write_tracking::{chunks_to_rehash, TrackingError, WriteTracker};

/// Chunk size: 1 MiB, so one changed element stores at most ~1 MiB new. A multiple of every
/// dtype size, so chunks never split an element.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Less than this to hash is done on the calling thread: a scan that
/// spawns a helper waits for it to be scheduled, milliseconds on a busy
/// machine, for about 0.1 ms of hashing per MiB saved (issue #16: tracked
/// 4 MiB weights took 2.5 ms of wall time for 0.12 ms of CPU).
pub const PARALLEL_MIN_BYTES: usize = 8 * CHUNK_SIZE;

/// One chunk of a scanned buffer: `bytes[offset..offset + len]` hashes to `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChunkInfo {
    pub hash: ChunkHash,
    pub offset: usize,
    pub len: usize,
}

/// The result of [`scan`].
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The chunks, in buffer order.
    pub chunks: Vec<ChunkInfo>,
    /// Statistics of the whole buffer.
    pub stats: Stats,
    /// Number of bytes hashed (the whole buffer).
    pub bytes_hashed: usize,
    /// Number of chunks whose statistics came from the cache (no stats pass).
    pub chunks_from_cache: usize,
}

/// What a scan keeps of each chunk it hashed: called with the chunk's hash
/// and bytes right after they were read (still in the CPU's cache), it
/// returns the caller's copy of the chunk, or `None`. See [`scan_keeping`].
pub type Keep<'a> = &'a (dyn Fn(ChunkHash, &[u8]) -> Option<Vec<u8>> + Sync);

/// Per-chunk result of a worker.
struct ChunkOut {
    hash: ChunkHash,
    partial: PartialStats,
    from_cache: bool,
    kept: Option<Vec<u8>>,
}

fn scan_range(
    bytes: &[u8],
    dtype: DType,
    cache: Option<&StatsCache>,
    chunks: std::ops::Range<usize>,
    known: &[Option<ChunkHash>],
    keep: Keep<'_>,
) -> Vec<ChunkOut> {
    chunks
        .map(|i| {
            let start = i * CHUNK_SIZE;
            let end = bytes.len().min(start + CHUNK_SIZE);
            let chunk = &bytes[start..end];
            let (hash, hashed) = match known.get(i).copied().flatten() {
                Some(hash) => (hash, false),
                None => (hash_bytes(chunk), true),
            };
            let (partial, from_cache) = match cache.and_then(|c| c.get(hash, dtype)) {
                Some(partial) => (partial, true),
                None => (stats_of(chunk, dtype), false),
            };
            ChunkOut {
                hash,
                partial,
                from_cache,
                kept: if hashed { keep(hash, chunk) } else { None },
            }
        })
        .collect()
}

/// Chunks `bytes` at [`CHUNK_SIZE`] (the last chunk may be shorter), hashes every chunk and
/// computes the statistics of the whole buffer (native-endian elements of `dtype`; a trailing
/// partial element is ignored).
///
/// Chunks whose `(hash, dtype)` is in `cache` skip the stats pass; the others are added to it.
/// Uses up to `threads` OS threads, each on a contiguous range of chunks (`threads <= 1`, or
/// less than [`PARALLEL_MIN_BYTES`] to read: the calling thread only). The result does not depend on `threads`: partial statistics are
/// merged in chunk order.
pub fn scan(bytes: &[u8], dtype: DType, cache: Option<&mut StatsCache>, threads: usize) -> Scan {
    scan_keeping(bytes, dtype, cache, threads, &[], &|_, _| None).0
}

/// [`scan`], where `known[i]` (when given) is chunk `i`'s hash, known not to
/// have changed (the written-page tracking of `write_tracking.rs` says so):
/// it is not hashed again, and its stats come from the cache. Also returns,
/// per chunk, what `keep` made of it (called, on the thread that hashed it,
/// for every chunk hashed, not for the chunks `known` gives): a caller that
/// stores the new chunks copies them there, while they are in cache,
/// instead of reading them again.
pub fn scan_keeping(
    bytes: &[u8],
    dtype: DType,
    cache: Option<&mut StatsCache>,
    threads: usize,
    known: &[Option<ChunkHash>],
    keep: Keep<'_>,
) -> (Scan, Vec<Option<Vec<u8>>>) {
    let n = bytes.len().div_ceil(CHUNK_SIZE);
    let to_read = (0..n)
        .filter(|&i| known.get(i).copied().flatten().is_none())
        .count()
        * CHUNK_SIZE;
    let threads = if to_read < PARALLEL_MIN_BYTES {
        1
    } else {
        threads.clamp(1, n.max(1))
    };
    let mut outs: Vec<ChunkOut> = {
        let shared: Option<&StatsCache> = cache.as_deref();
        if threads == 1 {
            scan_range(bytes, dtype, shared, 0..n, known, keep)
        } else {
            // Contiguous ranges; the first `n % threads` ranges get one extra chunk.
            let per = n / threads;
            let extra = n % threads;
            let mut ranges = Vec::with_capacity(threads);
            let mut start = 0;
            for t in 0..threads {
                let len = per + usize::from(t < extra);
                ranges.push(start..start + len);
                start += len;
            }
            std::thread::scope(|s| {
                let mut ranges = ranges.into_iter();
                let first = ranges.next().unwrap_or(0..0);
                let handles: Vec<_> = ranges
                    .map(|r| s.spawn(move || scan_range(bytes, dtype, shared, r, known, keep)))
                    .collect();
                let mut outs = scan_range(bytes, dtype, shared, first, known, keep);
                for h in handles {
                    match h.join() {
                        Ok(part) => outs.extend(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                outs
            })
        }
    };

    let kept: Vec<Option<Vec<u8>>> = outs.iter_mut().map(|o| o.kept.take()).collect();
    let mut total = PartialStats::default();
    let mut chunks = Vec::with_capacity(n);
    let mut chunks_from_cache = 0;
    for (i, out) in outs.iter().enumerate() {
        total.merge(&out.partial);
        let offset = i * CHUNK_SIZE;
        chunks.push(ChunkInfo {
            hash: out.hash,
            offset,
            len: bytes.len().min(offset + CHUNK_SIZE) - offset,
        });
        chunks_from_cache += usize::from(out.from_cache);
    }
    if let Some(cache) = cache {
        for out in outs.iter().filter(|o| !o.from_cache) {
            cache.insert(out.hash, dtype, out.partial);
        }
    }
    let bytes_hashed = chunks
        .iter()
        .enumerate()
        .filter(|(i, _)| known.get(*i).copied().flatten().is_none())
        .map(|(_, c)| c.len)
        .sum();
    let scan = Scan {
        chunks,
        stats: total.finish(),
        bytes_hashed,
        chunks_from_cache,
    };
    (scan, kept)
}
