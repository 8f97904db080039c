//! Content-addressed chunk files: `chunks/<first two hex>/<hash>.zst`.
//! A file is written to a temporary name, fsynced and renamed into place, so
//! a chunk file either holds the whole compressed chunk or does not exist.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use snapline_array_scan::{hash_bytes, ChunkHash};

use crate::delta::{apply_delta_in_place, decode_delta_into, delta_header};
use crate::error::{io_err, StoreError, StoreResult};
use crate::twist::{apply_twist_in_place, twist_header, TWIST_FRAME_LEN};

/// The chunk a frame is decoded against: a delta frame's base
/// ([`crate::delta`]) or a twist frame's ([`crate::twist`]); `None` for a
/// frame that stands alone (zstd or shuffled).
pub fn frame_base(frame: &[u8]) -> Option<ChunkHash> {
    delta_header(frame)
        .map(|h| h.base)
        .or_else(|| twist_header(frame).map(|h| h.base))
}

/// Turns `current`, which holds the raw bytes of `frame`'s base, into the
/// raw bytes of chunk `hash`, in place: a delta added back or a Mersenne
/// Twister state twisted. The caller checks the content hash.
pub fn apply_frame_in_place(hash: &str, frame: &[u8], current: &mut [u8]) -> StoreResult<()> {
    if twist_header(frame).is_some() {
        apply_twist_in_place(hash, frame, current)
    } else {
        apply_delta_in_place(hash, frame, current)
    }
}

/// Chunks whose raw size is at most this many bytes live inline in the
/// catalog instead of in their own file.
pub const INLINE_LIMIT: usize = 64 * 1024;

/// The largest raw size a chunk may declare. Captures write 1 MiB chunks
/// (and source files whole); a catalog or bundle row above this is damaged
/// or hostile, and is refused before anything is allocated for it.
pub const MAX_CHUNK_SIZE: u64 = 64 * 1024 * 1024;

/// The most bytes one read of several chunks may assemble in memory: the
/// machine's physical memory (a record listing one chunk many times, or
/// many chunks, can declare far more than any real object). 16 GiB where
/// the memory size cannot be read.
pub fn read_ceiling() -> u64 {
    // SAFETY: sysconf only reads system configuration values.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    match (u64::try_from(pages), u64::try_from(page)) {
        (Ok(pages), Ok(page)) if pages > 0 && page > 0 => pages.saturating_mul(page),
        _ => 16 << 30,
    }
}

/// Refuses a declared chunk size above [`MAX_CHUNK_SIZE`].
pub(crate) fn check_chunk_size(hash: &str, size: u64) -> StoreResult<()> {
    if size > MAX_CHUNK_SIZE {
        return Err(StoreError::DamagedChunk {
            hash: hash.to_owned(),
            detail: format!("declares {size} raw bytes (a chunk holds at most {MAX_CHUNK_SIZE})"),
        });
    }
    Ok(())
}

pub(crate) struct ChunkDir {
    root: PathBuf,
}

impl ChunkDir {
    pub(crate) fn new(store_dir: &Path) -> Self {
        ChunkDir {
            root: store_dir.join("chunks"),
        }
    }

    pub(crate) fn path_of(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("00");
        self.root.join(prefix).join(format!("{hash}.zst"))
    }

    /// Creates the directory of chunk `hash` (`chunks/<xx>/`) if needed and
    /// returns it, refusing one that is (or sits under) a symbolic link:
    /// nothing is ever written outside the store through a planted link.
    pub(crate) fn make_dir_of(&self, hash: &str) -> StoreResult<PathBuf> {
        let path = self.path_of(hash);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for level in [&self.root, &dir] {
            match fs::symlink_metadata(level) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(symlink_refused(level));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::create_dir(level)
                        .or_else(|e| match e.kind() {
                            std::io::ErrorKind::AlreadyExists => Ok(()),
                            _ => Err(e),
                        })
                        .map_err(io_err(level))?;
                }
                Err(e) => return Err(io_err(level)(e)),
            }
        }
        // Re-checked after creating: a link swapped in meanwhile is refused too.
        for level in [&self.root, &dir] {
            if fs::symlink_metadata(level)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
            {
                return Err(symlink_refused(level));
            }
        }
        Ok(dir)
    }

    /// Writes one compressed chunk durably under its final name (the
    /// directory entry is made durable by `sync_dirs`). Returns the stored size.
    pub(crate) fn write(&self, hash: &str, compressed: &[u8]) -> StoreResult<PathBuf> {
        let path = self.path_of(hash);
        let dir = self.make_dir_of(hash)?;
        let tmp = dir.join(format!("{hash}.tmp-{}", std::process::id()));
        let written = File::create(&tmp).and_then(|mut file| {
            file.write_all(compressed)?;
            file.sync_all()
        });
        if let Err(e) = written {
            // A full disk must not also keep the half-written file.
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::Io {
                path: tmp,
                source: e,
            });
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(dir)
    }

    /// fsyncs the directories that received new chunk files.
    pub(crate) fn sync_dirs(&self, dirs: &BTreeSet<PathBuf>) -> StoreResult<()> {
        for dir in dirs {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(dir))?;
        }
        Ok(())
    }

    /// The base named by the delta or twist header of chunk `hash`'s file;
    /// `None` for a plain chunk (a frame shorter than a header is plain).
    pub(crate) fn delta_base_of_file(&self, hash: &str) -> StoreResult<Option<String>> {
        use std::io::Read;
        let path = self.path_of(hash);
        let mut head = Vec::with_capacity(TWIST_FRAME_LEN.max(crate::delta::HEADER_LEN));
        let limit = head.capacity() as u64;
        match File::open(&path).and_then(|f| f.take(limit).read_to_end(&mut head)) {
            Ok(_) => Ok(frame_base(&head).map(|h| h.to_hex())),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Whether chunk `hash`'s file starts with the zstd frame magic (not a
    /// delta or shuffled frame).
    pub(crate) fn file_is_zstd(&self, hash: &str) -> StoreResult<bool> {
        use std::io::Read;
        let path = self.path_of(hash);
        let mut head = [0u8; 4];
        match File::open(&path).and_then(|mut f| f.read_exact(&mut head)) {
            Ok(()) => Ok(head == [0x28, 0xb5, 0x2f, 0xfd]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::MissingChunk {
                hash: hash.to_owned(),
            }),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    pub(crate) fn read_file(&self, hash: &str) -> StoreResult<Vec<u8>> {
        let path = self.path_of(hash);
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::MissingChunk {
                hash: hash.to_owned(),
            },
            _ => StoreError::Io { path, source: e },
        })
    }
}

/// The error for a chunk directory that is a symbolic link.
pub(crate) fn symlink_refused(path: &Path) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(
            "is a symbolic link: the store never follows links out of itself (remove the link)",
        ),
    }
}

/// zstd-compresses a chunk. Level 1: capture speed matters more than the
/// last few percent of size (float weights barely compress anyway). One
/// compression context per thread, reused: a fresh one per call cost more
/// than compressing a 1.5 KB chunk of a container's JSON (15-25 against
/// 5-10 µs; the writer compresses thousands of those per large list).
pub fn compress(raw: &[u8]) -> StoreResult<Vec<u8>> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(compressor) => compressor,
            None => slot.insert(zstd::bulk::Compressor::new(1).map_err(io_err("<zstd compress>"))?),
        };
        compressor.compress(raw).map_err(io_err("<zstd compress>"))
    })
}

/// Decompresses a chunk and checks it against its hash and declared size.
pub(crate) fn decompress_verified(hash: &str, size: u64, frame: &[u8]) -> StoreResult<Vec<u8>> {
    let damaged = |detail: String| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail,
    };
    check_chunk_size(hash, size)?;
    let limit = usize::try_from(size).map_err(|_| damaged("declared size too large".into()))?;
    let mut raw = vec![0u8; limit];
    let written = crate::delta::decode_plain_to(frame, &mut raw).map_err(damaged)?;
    if written as u64 != size {
        return Err(damaged(format!(
            "{written} bytes where the catalog says {size}"
        )));
    }
    let actual = hash_bytes(&raw).to_hex();
    if actual != hash {
        return Err(damaged(format!("content hashes to {actual}")));
    }
    Ok(raw)
}

/// Decodes a chunk's frame, plain or delta ([`crate::delta`]), and checks
/// it against its hash and declared size. `base_of` reads a delta's base
/// chunk (its raw bytes); a missing or unreadable base makes this chunk
/// damaged, naming the base.
pub(crate) fn decode_verified(
    hash: &str,
    size: u64,
    frame: &[u8],
    base_of: &mut dyn FnMut(&str) -> StoreResult<Vec<u8>>,
) -> StoreResult<Vec<u8>> {
    let Some(base_hash) = frame_base(frame) else {
        return decompress_verified(hash, size, frame);
    };
    check_chunk_size(hash, size)?;
    let base = read_base(hash, &base_hash.to_hex(), base_of)?;
    let len = usize::try_from(size).map_err(|_| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail: "declared size too large".into(),
    })?;
    let mut raw = vec![0u8; len];
    decode_into(hash, frame, Some(&base), &mut raw)?;
    Ok(raw)
}

/// A delta's base through `base_of`, its errors said as this chunk's.
pub(crate) fn read_base(
    hash: &str,
    base: &str,
    base_of: &mut dyn FnMut(&str) -> StoreResult<Vec<u8>>,
) -> StoreResult<Vec<u8>> {
    base_of(base).map_err(|e| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail: match e {
            StoreError::MissingChunk { .. } => format!(
                "it is stored as a delta of chunk {base}, which is missing \
                 (restore that chunk from a copy of the store, or drop the snapshots that need it \
                 with `snapline fsck --repair`)"
            ),
            other => {
                format!("it is stored as a delta of chunk {base}, which is unreadable: {other}")
            }
        },
    })
}

/// Decodes a chunk's frame into `out` (exactly its declared size) and
/// checks it against its hash. A delta or twist frame needs its base's raw
/// bytes (`base`; see [`frame_base`] for which chunk that is).
pub fn decode_into(
    hash: &str,
    frame: &[u8],
    base: Option<&[u8]>,
    out: &mut [u8],
) -> StoreResult<()> {
    let Some(base_hash) = frame_base(frame) else {
        return decompress_into(hash, frame, out);
    };
    let base = base.ok_or_else(|| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail: "is a delta or twist frame read without its base".into(),
    })?;
    if twist_header(frame).is_some() {
        if base.len() != out.len() {
            return Err(StoreError::DamagedChunk {
                hash: hash.to_owned(),
                detail: format!(
                    "its twist base {base_hash} holds {} bytes where the chunk holds {}",
                    base.len(),
                    out.len()
                ),
            });
        }
        out.copy_from_slice(base);
        apply_twist_in_place(hash, frame, out)?;
    } else {
        decode_delta_into(hash, frame, base, out)?;
    }
    let actual = hash_bytes(out).to_hex();
    if actual != hash {
        return Err(StoreError::DamagedChunk {
            hash: hash.to_owned(),
            detail: format!(
                "content decoded from a delta or twist of chunk {base_hash} hashes to \
                 {actual}: this chunk or a base it is decoded through is damaged \
                 (`snapline fsck` names which)"
            ),
        });
    }
    Ok(())
}

/// Decodes a chunk stored as a chain of deltas into `out` (exactly its
/// declared size) and checks it against its hash. `chain[0]` is the chunk's
/// own (hash, frame), `chain[1]` its base's, and so on down to a plain
/// frame. The plain frame is decompressed straight into `out` and each
/// delta above it is added in place (a twist frame twists the words in
/// place), from the bottom up; the bases are not
/// hashed on the way: the chunk's own hash check covers them (a damaged base
/// cannot decode to it). Restore reads this way.
pub fn decode_chain_into(chain: &[(&str, &[u8])], out: &mut [u8]) -> StoreResult<()> {
    let Some(((hash, frame), bases)) = chain.split_first() else {
        return Ok(());
    };
    let Some(((plain_hash, plain), deltas)) = bases.split_last() else {
        return decode_into(hash, frame, None, out);
    };
    let len = out.len();
    let named = |detail: String| StoreError::DamagedChunk {
        hash: (*hash).to_owned(),
        detail,
    };
    if chain.len() as u64 > u64::from(crate::delta::MAX_CHAIN) + 1 {
        return Err(named(format!(
            "its chain of deltas is {} deep (more than {}): the catalog is damaged",
            chain.len() - 1,
            crate::delta::MAX_CHAIN
        )));
    }
    match crate::delta::decode_plain_to(plain, out) {
        Ok(n) if n == len => {}
        Ok(n) => {
            return Err(named(format!(
                "its delta base {plain_hash} holds {n} bytes where it holds {len}"
            )))
        }
        Err(e) => {
            return Err(named(format!(
                "its delta base {plain_hash} does not decompress: {e}"
            )))
        }
    }
    for (base_hash, base_frame) in deltas.iter().rev() {
        apply_frame_in_place(base_hash, base_frame, out)
            .map_err(|e| named(format!("its delta base {base_hash} does not decode: {e}")))?;
    }
    apply_frame_in_place(hash, frame, out)?;
    let actual = hash_bytes(out).to_hex();
    if actual != *hash {
        return Err(named(format!(
            "content decoded from a delta of chunk {} hashes to {actual}: \
             this chunk or a base it is decoded through is damaged \
             (`snapline fsck` names which)",
            bases[0].0
        )));
    }
    Ok(())
}

/// Decompresses a chunk (a zstd or shuffled frame) into `out` (exactly its
/// declared size) and checks it against its hash: restore fills array
/// buffers this way, with no copy.
pub fn decompress_into(hash: &str, frame: &[u8], out: &mut [u8]) -> StoreResult<()> {
    let damaged = |detail: String| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail,
    };
    let written = crate::delta::decode_plain_to(frame, out).map_err(damaged)?;
    if written != out.len() {
        return Err(damaged(format!(
            "{written} bytes where the catalog says {}",
            out.len()
        )));
    }
    let actual = hash_bytes(out).to_hex();
    if actual != hash {
        return Err(damaged(format!("content hashes to {actual}")));
    }
    Ok(())
}

/// The hex content hash of a raw chunk.
pub fn chunk_hash(raw: &[u8]) -> String {
    ChunkHash::to_hex(&hash_bytes(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::encode_delta;

    /// Four versions of a float32 chunk, each a small step from the last:
    /// v0 plain, v1..v3 each a delta of the one before.
    fn chain() -> (Vec<Vec<u8>>, Vec<String>, Vec<Vec<u8>>) {
        let mut versions = Vec::new();
        let mut w: Vec<f32> = (0..70_000).map(|i| (i as f32 * 0.37).sin()).collect();
        w[5] = f32::from_bits(0x7fc0_1234);
        w[6] = -0.0;
        for step in 0..4 {
            versions.push(w.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
            for (i, v) in w.iter_mut().enumerate().skip(7) {
                *v -= 1e-4 * ((i + step) % 7) as f32;
            }
        }
        let hashes: Vec<String> = versions.iter().map(|v| chunk_hash(v)).collect();
        let mut frames = vec![compress(&versions[0]).unwrap()];
        for k in 1..versions.len() {
            let base = hash_bytes(&versions[k - 1]);
            frames.push(encode_delta(&versions[k], &versions[k - 1], base, 4).unwrap());
        }
        (versions, hashes, frames)
    }

    #[test]
    fn a_chain_of_deltas_decodes_bit_for_bit() {
        let (versions, hashes, frames) = chain();
        for (top, version) in versions.iter().enumerate() {
            let links: Vec<(&str, &[u8])> = (0..=top)
                .rev()
                .map(|k| (hashes[k].as_str(), frames[k].as_slice()))
                .collect();
            let mut out = vec![0u8; version.len()];
            decode_chain_into(&links, &mut out).unwrap();
            assert_eq!(&out, version, "version {top}");
        }
    }

    #[test]
    fn a_chain_from_a_shuffled_frame_decodes_bit_for_bit() {
        let (versions, hashes, mut frames) = chain();
        frames[0] = crate::delta::encode_shuffled(&versions[0], 4).unwrap();
        let mut out = vec![0u8; versions[0].len()];
        decompress_into(&hashes[0], &frames[0], &mut out).unwrap();
        assert_eq!(out, versions[0]);
        let raw = decompress_verified(&hashes[0], out.len() as u64, &frames[0]).unwrap();
        assert_eq!(raw, versions[0]);
        let links: Vec<(&str, &[u8])> = (0..3)
            .rev()
            .map(|k| (hashes[k].as_str(), frames[k].as_slice()))
            .collect();
        decode_chain_into(&links, &mut out).unwrap();
        assert_eq!(out, versions[2]);
    }

    #[test]
    fn a_damaged_base_in_a_chain_is_named() {
        let (versions, hashes, mut frames) = chain();
        // The middle delta (v1) loses a byte of its body.
        let end = frames[1].len() - 1;
        frames[1][end] ^= 0xff;
        let links: Vec<(&str, &[u8])> = (0..4)
            .rev()
            .map(|k| (hashes[k].as_str(), frames[k].as_slice()))
            .collect();
        let mut out = vec![0u8; versions[3].len()];
        let err = decode_chain_into(&links, &mut out).unwrap_err().to_string();
        assert!(err.contains(&hashes[3]), "{err}");
        assert!(err.contains("damaged"), "{err}");
    }
}
