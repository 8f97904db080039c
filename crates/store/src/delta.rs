//! Delta frames: a changed float chunk stored against an earlier chunk of
//! the same size (its *base*), losslessly. Each element's bit pattern, read
//! as an unsigned integer, minus the base's, zigzag-mapped (a weight that
//! moved a little either way gives a small number, mostly zero high bits),
//! byte-shuffled by element width (all first bytes, then all second
//! bytes...) and zstd-compressed. Version 1 frames (written before) XOR the
//! bit patterns instead; they still decode. `bench/delta_encodings.py`
//! measured the choice: the difference is 3 to 13% smaller than the XOR on real
//! weights (bench/RESULTS.md).
//!
//! A delta frame names its base in its header, so it is self-describing:
//!
//! ```text
//! "SLXD"  version (1: XOR, 2: difference)  width (1: 2, 4 or 8)  base hash (16 bytes, big-endian)  zstd frame
//! ```
//!
//! A plain chunk frame is a zstd frame (magic `28 b5 2f fd`) or a shuffled
//! frame (`"SLXS"`, below: a float chunk on its own), so none look alike.
//! The chunk's content hash stays the hash of its decoded bytes: every
//! chunk is verified the same way, whichever way it is stored.
//! A base may itself be a delta (a chain: each version against the one
//! before, written with `SNAPLINE_DELTA_DEPTH`; by default the capture
//! encodes against a plain keyframe, capture-agent/src/delta_chains.rs) and
//! readers refuse one deeper than [`MAX_CHAIN`].

use snapline_array_scan::ChunkHash;

use crate::error::{StoreError, StoreResult};

const MAGIC: &[u8; 4] = b"SLXD";
/// Frames that XOR the bit patterns (read, no longer written).
const VERSION_XOR: u8 = 1;
/// Frames that store the zigzag difference of the bit patterns.
const VERSION_DIFF: u8 = 2;
/// The deepest chain of deltas a reader follows: far beyond what a capture
/// writes, so a deeper one (or a cycle) is damage, not data.
pub const MAX_CHAIN: u32 = 64;
/// Bytes before the zstd frame.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 16;

/// What a delta frame's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeltaHeader {
    /// Element width in bytes (2: float16/bfloat16, 4: float32, 8: float64).
    pub width: usize,
    /// The chunk this one is encoded against.
    pub base: ChunkHash,
    /// How the elements are told from the base's: XOR (version 1) or the
    /// zigzag difference (version 2).
    pub difference: bool,
}

/// The header of `frame` when it is a delta frame; `None` for a plain
/// zstd frame (or anything else, which then fails as zstd).
pub fn delta_header(frame: &[u8]) -> Option<DeltaHeader> {
    if frame.len() < HEADER_LEN
        || &frame[..4] != MAGIC
        || !matches!(frame[4], VERSION_XOR | VERSION_DIFF)
    {
        return None;
    }
    let width = usize::from(frame[5]);
    let mut base = [0u8; 16];
    base.copy_from_slice(&frame[6..HEADER_LEN]);
    Some(DeltaHeader {
        width,
        base: ChunkHash(u128::from_be_bytes(base)),
        difference: frame[4] == VERSION_DIFF,
    })
}

/// Whether chunks of this numpy/torch dtype are delta-encoded (floats).
pub fn delta_width(dtype: &str) -> Option<usize> {
    match dtype {
        "float16" | "bfloat16" => Some(2),
        "float32" => Some(4),
        "float64" => Some(8),
        _ => None,
    }
}

/// Encodes `raw` against `base` (same length; `width` 2, 4 or 8): the
/// delta frame, header included. `base_hash` is the base's content hash.
pub fn encode_delta(
    raw: &[u8],
    base: &[u8],
    base_hash: ChunkHash,
    width: usize,
) -> StoreResult<Vec<u8>> {
    if raw.len() != base.len() || !matches!(width, 2 | 4 | 8) {
        return Err(StoreError::DamagedChunk {
            hash: base_hash.to_hex(),
            detail: format!(
                "cannot be a delta base: {} bytes for a {}-byte chunk of {width}-byte elements \
                 (the capture stores the chunk plain instead)",
                base.len(),
                raw.len()
            ),
        });
    }
    let mut shuffled = vec![0u8; raw.len()];
    diff_shuffle(raw, base, width, &mut shuffled);
    let mut frame = Vec::with_capacity(HEADER_LEN + raw.len() / 4);
    frame.extend_from_slice(MAGIC);
    frame.push(VERSION_DIFF);
    frame.push(width as u8);
    frame.extend_from_slice(&base_hash.0.to_be_bytes());
    let body = crate::chunks::compress(&shuffled)?;
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Magic of a shuffled frame: a float chunk stored on its own (no base),
/// byte-shuffled by element width, then zstd. Shuffled float bytes
/// compress better than interleaved ones (the sign/exponent bytes sit
/// together) and decompress several times faster (the noisy mantissa
/// planes are stored raw, not Huffman-coded); the capture stores a float
/// chunk this way where it would otherwise be a plain zstd frame, so the
/// first version of a chain reads fast.
///
/// ```text
/// "SLXS"  version (1)  width (1: 2, 4 or 8)  zstd frame of the shuffled bytes
/// ```
const SHUFFLED_MAGIC: &[u8; 4] = b"SLXS";
/// Bytes before the zstd frame of a shuffled frame.
const SHUFFLED_HEADER_LEN: usize = 4 + 1 + 1;

/// The element width of `frame` when it is a shuffled frame.
pub fn shuffled_width(frame: &[u8]) -> Option<usize> {
    (frame.len() >= SHUFFLED_HEADER_LEN
        && &frame[..4] == SHUFFLED_MAGIC
        && frame[4] == 1
        && matches!(frame[5], 2 | 4 | 8))
    .then_some(usize::from(frame[5]))
}

/// Stores float chunk `raw` (elements `width` bytes wide: 2, 4 or 8) on its
/// own as a shuffled frame, header included.
pub fn encode_shuffled(raw: &[u8], width: usize) -> StoreResult<Vec<u8>> {
    let width = if matches!(width, 2 | 4 | 8) { width } else { 4 };
    with_scratch(raw.len(), |shuffled| {
        let body = raw.len() / width * width;
        match width {
            2 => shuffle_u16(&raw[..body], &mut shuffled[..body]),
            4 => shuffle_u32(&raw[..body], &mut shuffled[..body]),
            _ => shuffle_u64(&raw[..body], &mut shuffled[..body]),
        }
        shuffled[body..].copy_from_slice(&raw[body..]);
        let mut frame = Vec::with_capacity(SHUFFLED_HEADER_LEN + raw.len());
        frame.extend_from_slice(SHUFFLED_MAGIC);
        frame.push(1);
        frame.push(width as u8);
        let body = crate::chunks::compress(shuffled)?;
        frame.extend_from_slice(&body);
        Ok(frame)
    })
}

// Block `b` of `z` (64 integers) into the byte planes: byte `k` of `z[i]`
// goes to `planes[k][b * 64 + i]`. Fixed-size, no bounds checks in the
// loop, so that the compiler vectorises it (`shuffle!`, `diff_shuffle!`).
macro_rules! scatter_block {
    ($planes:ident, $b:ident, $z:ident) => {
        for (k, plane) in $planes.iter_mut().enumerate() {
            let dst: &mut [u8; BLOCK] = match (&mut plane[$b * BLOCK..($b + 1) * BLOCK]).try_into()
            {
                Ok(dst) => dst,
                Err(_) => continue,
            };
            for (d, zi) in dst.iter_mut().zip(&$z) {
                *d = (zi >> (8 * k)) as u8;
            }
        }
    };
}

// Byte-shuffling whole elements: byte `k` of element `i` of `raw` goes to
// `out[k * n + i]`, by blocks of 64 elements (fixed-size, no bounds checks
// in the loop, so that the compiler vectorises it).
macro_rules! shuffle {
    ($name:ident, $int:ty) => {
        fn $name(raw: &[u8], out: &mut [u8]) {
            const W: usize = std::mem::size_of::<$int>();
            const BLOCK: usize = 64;
            let n = raw.len() / W;
            if n == 0 {
                return;
            }
            let mut planes: Vec<&mut [u8]> = out.chunks_exact_mut(n).collect();
            let first = n / BLOCK * BLOCK;
            for (b, block) in raw[..first * W].chunks_exact(BLOCK * W).enumerate() {
                let mut z = [0 as $int; BLOCK];
                for (zi, e) in z.iter_mut().zip(block.chunks_exact(W)) {
                    let mut bytes = [0u8; W];
                    bytes.copy_from_slice(e);
                    *zi = <$int>::from_le_bytes(bytes);
                }
                scatter_block!(planes, b, z);
            }
            for (j, e) in raw[first * W..].chunks_exact(W).enumerate() {
                for (k, plane) in planes.iter_mut().enumerate() {
                    plane[first + j] = e[k];
                }
            }
        }
    };
}

shuffle!(shuffle_u16, u16);
shuffle!(shuffle_u32, u32);
shuffle!(shuffle_u64, u64);

/// Decodes a plain frame, zstd or shuffled, into `out` (exactly the chunk's
/// size), unverified: the number of bytes it held, or what is wrong.
pub(crate) fn decode_plain_to(frame: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let Some(width) = shuffled_width(frame) else {
        return decompress_to(frame, out).map_err(|e| e.to_string());
    };
    with_scratch(out.len(), |shuffled| {
        let written =
            decompress_to(&frame[SHUFFLED_HEADER_LEN..], shuffled).map_err(|e| e.to_string())?;
        if written != out.len() {
            return Ok(written);
        }
        let n = out.len() / width;
        let body = n * width;
        match width {
            2 => unshuffled_u16(&shuffled[..body], &mut out[..body]),
            4 => unshuffled_u32(&shuffled[..body], &mut out[..body]),
            _ => unshuffled_u64(&shuffled[..body], &mut out[..body]),
        }
        out[body..].copy_from_slice(&shuffled[body..]);
        Ok(written)
    })
}

/// Decodes delta `frame` (of chunk `hash`) against the base's raw bytes
/// into `out` (the chunk's exact size). The caller checks the content hash.
pub fn decode_delta_into(hash: &str, frame: &[u8], base: &[u8], out: &mut [u8]) -> StoreResult<()> {
    if base.len() != out.len() {
        let base_hash = delta_header(frame).map_or_else(String::new, |h| h.base.to_hex());
        return Err(StoreError::DamagedChunk {
            hash: hash.to_owned(),
            detail: format!(
                "its delta base {base_hash} holds {} bytes where the chunk holds {}",
                base.len(),
                out.len()
            ),
        });
    }
    out.copy_from_slice(base);
    apply_delta_in_place(hash, frame, out)
}

/// Turns `current`, which holds the raw bytes of delta `frame`'s base, into
/// the raw bytes of chunk `hash` (same size), in place: the frame's body is
/// decompressed into a reused buffer and added back in one pass. The caller
/// checks the content hash. Restore decodes a chain this way, from its
/// plain chunk up, in the output buffer itself.
pub fn apply_delta_in_place(hash: &str, frame: &[u8], current: &mut [u8]) -> StoreResult<()> {
    let damaged = |detail: String| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail,
    };
    let header = delta_header(frame).ok_or_else(|| damaged("not a delta frame".into()))?;
    if !matches!(header.width, 2 | 4 | 8) {
        return Err(damaged(format!("delta element width {}", header.width)));
    }
    with_scratch(current.len(), |shuffled| {
        let written =
            decompress_to(&frame[HEADER_LEN..], shuffled).map_err(|e| damaged(e.to_string()))?;
        if written != current.len() {
            return Err(damaged(format!(
                "delta decodes to {written} bytes where the catalog says {}",
                current.len()
            )));
        }
        if header.difference {
            match header.width {
                2 => add_unshuffled_u16(shuffled, current),
                4 => add_unshuffled_u32(shuffled, current),
                _ => add_unshuffled_u64(shuffled, current),
            }
        } else {
            xor_unshuffled(shuffled, header.width, current);
        }
        Ok(())
    })
}

thread_local! {
    /// Reused decode buffers: a fresh 1 MiB allocation per chunk costs page
    /// faults comparable to the decode itself.
    static SCRATCH: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// A reused zstd decompression context per thread (a fresh one is
    /// allocated and initialised on every `zstd::bulk::decompress`).
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decompresses zstd `frame` into `out` with this thread's reused context;
/// the number of bytes written.
pub(crate) fn decompress_to(frame: &[u8], out: &mut [u8]) -> std::io::Result<usize> {
    DECOMPRESSOR.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            // Re-entered (not done today): a context of its own.
            return zstd::bulk::decompress_to_buffer(frame, out);
        };
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor.decompress_to_buffer(frame, out),
            None => zstd::bulk::decompress_to_buffer(frame, out),
        }
    })
}

/// Runs `f` on a zeroed-or-stale scratch buffer of `len` bytes (its content
/// is overwritten by the caller), reused across calls on this thread.
pub(crate) fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    let mut buf = SCRATCH.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let result = f(&mut buf[..len]);
    if buf.len() <= 64 << 20 {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 4 {
                s.push(buf);
            }
        });
    }
    result
}

/// `out` = byte planes of `raw ^ base`: byte `b` of element `i` goes to
/// `out[b * n + i]`; the tail (fewer bytes than one element) stays in place.
/// Version 1 frames were written this way (tests make them).
#[cfg(test)]
fn xor_shuffle(raw: &[u8], base: &[u8], width: usize, out: &mut [u8]) {
    match width {
        2 => xor_shuffle_by::<2>(raw, base, out),
        4 => xor_shuffle_by::<4>(raw, base, out),
        _ => xor_shuffle_by::<8>(raw, base, out),
    }
}

#[cfg(test)]
fn xor_shuffle_by<const W: usize>(raw: &[u8], base: &[u8], out: &mut [u8]) {
    let n = raw.len() / W;
    let body = n * W;
    let (planes, tail) = out.split_at_mut(body);
    let mut planes: Vec<&mut [u8]> = planes.chunks_exact_mut(n.max(1)).collect();
    if n > 0 {
        for (i, (r, b)) in raw[..body]
            .chunks_exact(W)
            .zip(base[..body].chunks_exact(W))
            .enumerate()
        {
            for k in 0..W {
                planes[k][i] = r[k] ^ b[k];
            }
        }
    }
    for ((o, r), b) in tail.iter_mut().zip(&raw[body..]).zip(&base[body..]) {
        *o = r ^ b;
    }
}

/// `out` = byte planes of the zigzag difference `raw - base` of each
/// element's bit pattern (`W`-byte integers, wrapping): byte `b` of element
/// `i` goes to `out[b * n + i]`; the tail (fewer bytes than one element) is
/// XORed in place.
fn diff_shuffle(raw: &[u8], base: &[u8], width: usize, out: &mut [u8]) {
    let width = if matches!(width, 2 | 4) { width } else { 8 };
    let body = raw.len() / width * width;
    let (planes, tail) = out.split_at_mut(body);
    match width {
        2 => diff_shuffle_u16(&raw[..body], &base[..body], planes),
        4 => diff_shuffle_u32(&raw[..body], &base[..body], planes),
        _ => diff_shuffle_u64(&raw[..body], &base[..body], planes),
    }
    for ((o, r), b) in tail.iter_mut().zip(&raw[body..]).zip(&base[body..]) {
        *o = r ^ b;
    }
}

// The zigzag difference of whole elements into byte planes, by blocks of
// 64 elements in the element's own integer type (no bounds checks in the
// loops, so that the compiler vectorises them), as `shuffle!` does: `d` =
// `raw - base` wrapping, `z` = `(d << 1) ^ -(d >> top)` (small steps either
// way become small numbers).
macro_rules! diff_shuffle {
    ($name:ident, $int:ty) => {
        fn $name(raw: &[u8], base: &[u8], out: &mut [u8]) {
            const W: usize = std::mem::size_of::<$int>();
            const BLOCK: usize = 64;
            const TOP: u32 = <$int>::BITS - 1;
            let n = raw.len() / W;
            if n == 0 {
                return;
            }
            let element = |e: &[u8]| {
                let mut bytes = [0u8; W];
                bytes.copy_from_slice(e);
                <$int>::from_le_bytes(bytes)
            };
            let zigzag = |r: &[u8], s: &[u8]| {
                let d = element(r).wrapping_sub(element(s));
                (d << 1) ^ (d >> TOP).wrapping_neg()
            };
            let mut planes: Vec<&mut [u8]> = out.chunks_exact_mut(n).collect();
            let first = n / BLOCK * BLOCK;
            let blocks = raw[..first * W]
                .chunks_exact(BLOCK * W)
                .zip(base[..first * W].chunks_exact(BLOCK * W));
            for (b, (r, s)) in blocks.enumerate() {
                let mut z = [0 as $int; BLOCK];
                for ((zi, r), s) in z.iter_mut().zip(r.chunks_exact(W)).zip(s.chunks_exact(W)) {
                    *zi = zigzag(r, s);
                }
                scatter_block!(planes, b, z);
            }
            let rest = raw[first * W..]
                .chunks_exact(W)
                .zip(base[first * W..].chunks_exact(W));
            for (j, (r, s)) in rest.enumerate() {
                let bytes = zigzag(r, s).to_le_bytes();
                for (k, plane) in planes.iter_mut().enumerate() {
                    plane[first + j] = bytes[k];
                }
            }
        }
    };
}

diff_shuffle!(diff_shuffle_u16, u16);
diff_shuffle!(diff_shuffle_u32, u32);
diff_shuffle!(diff_shuffle_u64, u64);

// Un-shuffling in place: element `i` of `current` becomes
// `combine(element i, z)`, `z` being the integer whose byte `k` is
// `shuffled[k * n + i]` (for delta frames the base plus the un-zigzagged
// `z`, wrapping: the inverse of `diff_shuffle`); the tail (fewer bytes than
// one element) is XORed. One pass per element width, written so that the compiler
// vectorises it (fixed-size blocks, no bounds checks in the loop; see
// `benches/delta_decode.rs`).
macro_rules! add_unshuffled {
    ($name:ident, $int:ty, $combine:expr) => {
        fn $name(shuffled: &[u8], current: &mut [u8]) {
            const W: usize = std::mem::size_of::<$int>();
            const BLOCK: usize = 64;
            let combine: fn($int, $int) -> $int = $combine;
            let n = current.len() / W;
            let body = n * W;
            let (planes, tail) = shuffled.split_at(body);
            let planes: [&[u8]; W] = std::array::from_fn(|k| &planes[k * n..(k + 1) * n]);
            let (whole, rest) = current[..body].split_at_mut(n / BLOCK * BLOCK * W);
            for (b, block) in whole.chunks_exact_mut(BLOCK * W).enumerate() {
                let mut z = [0 as $int; BLOCK];
                for (k, plane) in planes.iter().enumerate() {
                    let bytes: &[u8; BLOCK] = plane[b * BLOCK..(b + 1) * BLOCK]
                        .try_into()
                        .unwrap_or(&[0u8; BLOCK]);
                    for (zi, v) in z.iter_mut().zip(bytes) {
                        *zi |= <$int>::from(*v) << (8 * k);
                    }
                }
                for (e, zi) in block.chunks_exact_mut(W).zip(z) {
                    let mut bytes = [0u8; W];
                    bytes.copy_from_slice(e);
                    e.copy_from_slice(&combine(<$int>::from_le_bytes(bytes), zi).to_le_bytes());
                }
            }
            let first = n / BLOCK * BLOCK;
            for (j, e) in rest.chunks_exact_mut(W).enumerate() {
                let mut zi: $int = 0;
                for (k, plane) in planes.iter().enumerate() {
                    zi |= <$int>::from(plane[first + j]) << (8 * k);
                }
                let mut bytes = [0u8; W];
                bytes.copy_from_slice(e);
                e.copy_from_slice(&combine(<$int>::from_le_bytes(bytes), zi).to_le_bytes());
            }
            for (o, s) in current[body..].iter_mut().zip(tail) {
                *o ^= s;
            }
        }
    };
}

// Delta frames (version 2): the base plus the un-zigzagged difference.
add_unshuffled!(add_unshuffled_u16, u16, |base, z| base
    .wrapping_add((z >> 1) ^ 0u16.wrapping_sub(z & 1)));
add_unshuffled!(add_unshuffled_u32, u32, |base, z| base
    .wrapping_add((z >> 1) ^ 0u32.wrapping_sub(z & 1)));
add_unshuffled!(add_unshuffled_u64, u64, |base, z| base
    .wrapping_add((z >> 1) ^ 0u64.wrapping_sub(z & 1)));
// Shuffled frames: the elements themselves (whole elements only: the
// caller copies the tail).
add_unshuffled!(unshuffled_u16, u16, |_, z| z);
add_unshuffled!(unshuffled_u32, u32, |_, z| z);
add_unshuffled!(unshuffled_u64, u64, |_, z| z);

/// The inverse of `xor_shuffle` (version 1 frames), XORed into the base in
/// place.
fn xor_unshuffled(shuffled: &[u8], width: usize, current: &mut [u8]) {
    let n = current.len() / width;
    let body = n * width;
    let (planes, tail) = shuffled.split_at(body);
    for (k, plane) in planes.chunks_exact(n.max(1)).take(width).enumerate() {
        for (e, v) in current[..body].chunks_exact_mut(width).zip(plane) {
            e[k] ^= v;
        }
    }
    for (o, s) in current[body..].iter_mut().zip(tail) {
        *o ^= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapline_array_scan::hash_bytes;

    fn round_trip(raw: &[u8], base: &[u8], width: usize) {
        let frame = encode_delta(raw, base, hash_bytes(base), width).unwrap();
        let header = delta_header(&frame).unwrap();
        assert_eq!(header.width, width);
        assert_eq!(header.base, hash_bytes(base));
        assert!(header.difference);
        let mut out = vec![0u8; raw.len()];
        decode_delta_into("x", &frame, base, &mut out).unwrap();
        assert_eq!(out, raw, "width {width}, {} bytes", raw.len());
    }

    fn bytes_of<T: Copy, const N: usize>(values: &[T], to: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|v| to(*v)).collect()
    }

    #[test]
    fn float32_and_float64_round_trip_bit_for_bit_with_nan_payloads_and_signed_zero() {
        let specials32 = [
            0.0f32,
            -0.0,
            f32::NAN,
            f32::from_bits(0x7fc0_1234), // quiet NaN with a payload
            f32::from_bits(0xff80_0001), // signalling NaN, sign set
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE / 3.0, // subnormal
            f32::MAX,
            1.5,
        ];
        let moved: Vec<f32> = specials32.iter().rev().copied().collect();
        round_trip(
            &bytes_of(&specials32, f32::to_le_bytes),
            &bytes_of(&moved, f32::to_le_bytes),
            4,
        );
        let specials64 = [
            0.0f64,
            -0.0,
            f64::from_bits(0x7ff8_0000_dead_beef),
            f64::from_bits(0xfff0_0000_0000_0001),
            f64::INFINITY,
            f64::MIN_POSITIVE / 7.0,
            -1e300,
        ];
        let zeros = vec![0u8; specials64.len() * 8];
        round_trip(&bytes_of(&specials64, f64::to_le_bytes), &zeros, 8);
    }

    #[test]
    fn half_widths_round_trip_with_an_odd_tail() {
        // float16 / bfloat16 bit patterns: NaN payloads, -0.0, inf; 7 bytes
        // after the last whole element would be a tail for width 8.
        let halves: [u16; 6] = [0x8000, 0x7e01, 0xfc00, 0x7f81, 0xffff, 0x3c00];
        let raw = bytes_of(&halves, u16::to_le_bytes);
        let base = bytes_of(&[0u16, 1, 2, 3, 4, 5], u16::to_le_bytes);
        round_trip(&raw, &base, 2);
        let odd: Vec<u8> = (0u8..23).collect();
        let odd_base: Vec<u8> = (0u8..23).map(|b| b.wrapping_mul(7)).collect();
        for width in [2, 4, 8] {
            round_trip(&odd, &odd_base, width);
        }
    }

    #[test]
    fn random_bit_patterns_and_nudged_weights_round_trip() {
        let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
        for case in 0..200 {
            let width = [2usize, 4, 8][case % 3];
            let len = (rng.u64(..) % 5000) as usize;
            let base: Vec<u8> = (0..len).map(|_| rng.u64(..) as u8).collect();
            let raw: Vec<u8> = if case % 2 == 0 {
                (0..len).map(|_| rng.u64(..) as u8).collect()
            } else {
                // A few low bits flipped: what an optimizer step does.
                base.iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if i % width == 0 {
                            b ^ (rng.u64(..) as u8 & 7)
                        } else {
                            *b
                        }
                    })
                    .collect()
            };
            round_trip(&raw, &base, width);
        }
    }

    #[test]
    fn a_small_step_encodes_smaller_than_plain() {
        let mut rng = fastrand::Rng::with_seed(7);
        let base: Vec<f32> = (0..262_144)
            .map(|_| (rng.u64(..) % 20_000) as f32 / 10_000.0 - 1.0)
            .collect();
        let raw: Vec<f32> = base
            .iter()
            .map(|w| w - 1e-4 * ((rng.u64(..) % 200) as f32 / 100.0 - 1.0))
            .collect();
        let (raw, base) = (
            bytes_of(&raw, f32::to_le_bytes),
            bytes_of(&base, f32::to_le_bytes),
        );
        let plain = zstd::bulk::compress(&raw, 1).unwrap().len();
        let delta = encode_delta(&raw, &base, hash_bytes(&base), 4)
            .unwrap()
            .len();
        assert!(delta * 3 < plain * 2, "delta {delta} vs plain {plain}");
    }

    #[test]
    fn version_1_xor_frames_still_decode() {
        let mut rng = fastrand::Rng::with_seed(11);
        for width in [2usize, 4, 8] {
            let base: Vec<u8> = (0..4099).map(|_| rng.u64(..) as u8).collect();
            let raw: Vec<u8> = base.iter().map(|b| b ^ (rng.u64(..) as u8 & 3)).collect();
            let mut shuffled = vec![0u8; raw.len()];
            xor_shuffle(&raw, &base, width, &mut shuffled);
            let mut frame = MAGIC.to_vec();
            frame.push(VERSION_XOR);
            frame.push(width as u8);
            frame.extend_from_slice(&hash_bytes(&base).0.to_be_bytes());
            frame.extend_from_slice(&zstd::bulk::compress(&shuffled, 1).unwrap());
            assert!(!delta_header(&frame).unwrap().difference);
            let mut out = vec![0u8; raw.len()];
            decode_delta_into("x", &frame, &base, &mut out).unwrap();
            assert_eq!(out, raw);
        }
    }

    #[test]
    fn differences_wrap_across_the_sign_bit_and_extremes() {
        // Moves from the largest to the smallest pattern and across zero,
        // both ways: the wrapping difference and its zigzag map lose nothing.
        let edges32 = [0u32, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x8000_0001];
        let raw = bytes_of(&edges32, u32::to_le_bytes);
        let rev: Vec<u32> = edges32.iter().rev().copied().collect();
        round_trip(&raw, &bytes_of(&rev, u32::to_le_bytes), 4);
        let edges64 = [0u64, u64::MAX, 1 << 63, (1 << 63) - 1, 3];
        let rev: Vec<u64> = edges64.iter().rev().copied().collect();
        round_trip(
            &bytes_of(&edges64, u64::to_le_bytes),
            &bytes_of(&rev, u64::to_le_bytes),
            8,
        );
        let edges16 = [0u16, 0xffff, 0x8000, 0x7fff, 0x0001];
        let rev: Vec<u16> = edges16.iter().rev().copied().collect();
        round_trip(
            &bytes_of(&edges16, u16::to_le_bytes),
            &bytes_of(&rev, u16::to_le_bytes),
            2,
        );
    }

    #[test]
    fn shuffled_frames_round_trip_every_width_and_odd_tails() {
        let mut rng = fastrand::Rng::with_seed(23);
        for width in [2usize, 4, 8] {
            for len in [0usize, 1, 7, 64 * width, 64 * width + 3, 70_001] {
                let raw: Vec<u8> = (0..len).map(|_| rng.u64(..) as u8).collect();
                let frame = encode_shuffled(&raw, width).unwrap();
                assert_eq!(shuffled_width(&frame), Some(width));
                assert_eq!(delta_header(&frame), None);
                let mut out = vec![0xaau8; len];
                assert_eq!(decode_plain_to(&frame, &mut out), Ok(len));
                assert_eq!(out, raw, "width {width}, {len} bytes");
            }
        }
        let plain = zstd::bulk::compress(b"plain", 1).unwrap();
        assert_eq!(shuffled_width(&plain), None);
        let mut out = [0u8; 5];
        assert_eq!(decode_plain_to(&plain, &mut out), Ok(5));
        assert_eq!(&out, b"plain");
    }

    #[test]
    fn plain_frames_and_damaged_deltas_are_told_apart() {
        let plain = zstd::bulk::compress(b"some bytes", 1).unwrap();
        assert_eq!(delta_header(&plain), None);
        let base = vec![1u8; 64];
        let mut frame = encode_delta(&[2u8; 64], &base, hash_bytes(&base), 4).unwrap();
        let mut out = vec![0u8; 64];
        assert!(decode_delta_into("x", &frame, &base[..32], &mut out[..32]).is_err());
        frame.truncate(HEADER_LEN + 3);
        let err = decode_delta_into("x", &frame, &base, &mut out).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert!(encode_delta(&[0u8; 8], &[0u8; 4], hash_bytes(&[]), 4).is_err());
    }
}
