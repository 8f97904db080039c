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
//! A plain chunk frame is a zstd frame (magic `28 b5 2f fd`), so the two
//! never look alike. The chunk's content hash stays the hash of its decoded
//! bytes: every chunk is verified the same way, whichever way it is stored.
//! A base may itself be a delta (a chain: each version against the one
//! before); the capture bounds a chain's depth (`SNAPLINE_DELTA_DEPTH`,
//! capture-agent/src/delta_chains.rs) and readers refuse one deeper than
//! [`MAX_CHAIN`].

use snapline_array_scan::ChunkHash;

use crate::error::{io_err, StoreError, StoreResult};

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
    let body = zstd::bulk::compress(&shuffled, 1).map_err(io_err("<zstd compress>"))?;
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Decodes delta `frame` (of chunk `hash`) against the base's raw bytes
/// into `out` (the chunk's exact size). The caller checks the content hash.
pub fn decode_delta_into(hash: &str, frame: &[u8], base: &[u8], out: &mut [u8]) -> StoreResult<()> {
    let damaged = |detail: String| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail,
    };
    let header = delta_header(frame).ok_or_else(|| damaged("not a delta frame".into()))?;
    if !matches!(header.width, 2 | 4 | 8) {
        return Err(damaged(format!("delta element width {}", header.width)));
    }
    if base.len() != out.len() {
        return Err(damaged(format!(
            "its delta base {} holds {} bytes where the chunk holds {}",
            header.base,
            base.len(),
            out.len()
        )));
    }
    with_scratch(out.len(), |shuffled| {
        let written = zstd::bulk::decompress_to_buffer(&frame[HEADER_LEN..], shuffled)
            .map_err(|e| damaged(e.to_string()))?;
        if written != out.len() {
            return Err(damaged(format!(
                "delta decodes to {written} bytes where the catalog says {}",
                out.len()
            )));
        }
        if header.difference {
            unshuffle_diff(shuffled, base, header.width, out);
        } else {
            unshuffle_xor(shuffled, base, header.width, out);
        }
        Ok(())
    })
}

thread_local! {
    /// Reused decode buffers: a fresh 1 MiB allocation per chunk costs page
    /// faults comparable to the decode itself.
    static SCRATCH: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
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

/// Element `W` bytes wide as a little-endian integer.
#[inline(always)]
fn word<const W: usize>(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..W].copy_from_slice(&bytes[..W]);
    u64::from_le_bytes(buf)
}

/// All ones in the low `W` bytes.
#[inline(always)]
fn mask<const W: usize>() -> u64 {
    1u64.checked_shl((W * 8) as u32)
        .map_or(u64::MAX, |bit| bit - 1)
}

/// `out` = byte planes of the zigzag difference `raw - base` of each
/// element's bit pattern (`W`-byte integers, wrapping): byte `b` of element
/// `i` goes to `out[b * n + i]`; the tail (fewer bytes than one element) is
/// XORed in place.
fn diff_shuffle(raw: &[u8], base: &[u8], width: usize, out: &mut [u8]) {
    match width {
        2 => diff_shuffle_by::<2>(raw, base, out),
        4 => diff_shuffle_by::<4>(raw, base, out),
        _ => diff_shuffle_by::<8>(raw, base, out),
    }
}

fn diff_shuffle_by<const W: usize>(raw: &[u8], base: &[u8], out: &mut [u8]) {
    let n = raw.len() / W;
    let body = n * W;
    let m = mask::<W>();
    let top = W * 8 - 1;
    let (planes, tail) = out.split_at_mut(body);
    let mut planes: Vec<&mut [u8]> = planes.chunks_exact_mut(n.max(1)).collect();
    if n > 0 {
        for (i, (r, b)) in raw[..body]
            .chunks_exact(W)
            .zip(base[..body].chunks_exact(W))
            .enumerate()
        {
            let d = word::<W>(r).wrapping_sub(word::<W>(b)) & m;
            let negative = (d >> top) & 1;
            let z = ((d << 1) ^ 0u64.wrapping_sub(negative)) & m;
            let bytes = z.to_le_bytes();
            for k in 0..W {
                planes[k][i] = bytes[k];
            }
        }
    }
    for ((o, r), b) in tail.iter_mut().zip(&raw[body..]).zip(&base[body..]) {
        *o = r ^ b;
    }
}

/// The inverse of [`diff_shuffle`].
fn unshuffle_diff(shuffled: &[u8], base: &[u8], width: usize, out: &mut [u8]) {
    match width {
        2 => unshuffle_diff_by::<2>(shuffled, base, out),
        4 => unshuffle_diff_by::<4>(shuffled, base, out),
        _ => unshuffle_diff_by::<8>(shuffled, base, out),
    }
}

fn unshuffle_diff_by<const W: usize>(shuffled: &[u8], base: &[u8], out: &mut [u8]) {
    let n = out.len() / W;
    let body = n * W;
    let m = mask::<W>();
    let (planes, tail) = shuffled.split_at(body);
    if n > 0 {
        let planes: Vec<&[u8]> = planes.chunks_exact(n).collect();
        // Blocks of 64 elements: each plane is read in order and the
        // element loop has no bounds checks.
        let block = 64;
        let mut start = 0;
        for (o, b) in out[..body]
            .chunks_mut(block * W)
            .zip(base[..body].chunks(block * W))
        {
            let count = o.len() / W;
            let mut gathered = [[0u8; 8]; 64];
            for (k, plane) in planes.iter().enumerate() {
                for (g, v) in gathered[..count]
                    .iter_mut()
                    .zip(&plane[start..start + count])
                {
                    g[k] = *v;
                }
            }
            for ((oe, be), g) in o
                .chunks_exact_mut(W)
                .zip(b.chunks_exact(W))
                .zip(&gathered[..count])
            {
                let z = u64::from_le_bytes(*g);
                let d = (z >> 1) ^ 0u64.wrapping_sub(z & 1);
                let v = word::<W>(be).wrapping_add(d) & m;
                oe.copy_from_slice(&v.to_le_bytes()[..W]);
            }
            start += count;
        }
    }
    for ((o, s), b) in out[body..].iter_mut().zip(tail).zip(&base[body..]) {
        *o = s ^ b;
    }
}

/// The inverse of [`xor_shuffle`] (version 1 frames).
fn unshuffle_xor(shuffled: &[u8], base: &[u8], width: usize, out: &mut [u8]) {
    match width {
        2 => unshuffle_xor_by::<2>(shuffled, base, out),
        4 => unshuffle_xor_by::<4>(shuffled, base, out),
        _ => unshuffle_xor_by::<8>(shuffled, base, out),
    }
}

fn unshuffle_xor_by<const W: usize>(shuffled: &[u8], base: &[u8], out: &mut [u8]) {
    let n = out.len() / W;
    let body = n * W;
    let (planes, tail) = shuffled.split_at(body);
    if n > 0 {
        let planes: Vec<&[u8]> = planes.chunks_exact(n).collect();
        // Blocks of 64 elements: each plane is read in order and the
        // element loop has no bounds checks.
        let block = 64;
        let mut start = 0;
        for (o, b) in out[..body]
            .chunks_mut(block * W)
            .zip(base[..body].chunks(block * W))
        {
            let m = o.len() / W;
            let mut gathered = [[0u8; W]; 64];
            for (k, plane) in planes.iter().enumerate() {
                for (g, v) in gathered[..m].iter_mut().zip(&plane[start..start + m]) {
                    g[k] = *v;
                }
            }
            for ((oe, be), g) in o
                .chunks_exact_mut(W)
                .zip(b.chunks_exact(W))
                .zip(&gathered[..m])
            {
                for k in 0..W {
                    oe[k] = g[k] ^ be[k];
                }
            }
            start += m;
        }
    }
    for ((o, s), b) in out[body..].iter_mut().zip(tail).zip(&base[body..]) {
        *o = s ^ b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapline_array_scan::hash_bytes;

    /// xorshift64*: deterministic pseudo-random bits for property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

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
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..200 {
            let width = [2usize, 4, 8][case % 3];
            let len = (rng.next() % 5000) as usize;
            let base: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let raw: Vec<u8> = if case % 2 == 0 {
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                // A few low bits flipped: what an optimizer step does.
                base.iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if i % width == 0 {
                            b ^ (rng.next() as u8 & 7)
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
        let mut rng = Rng(7);
        let base: Vec<f32> = (0..262_144)
            .map(|_| (rng.next() % 20_000) as f32 / 10_000.0 - 1.0)
            .collect();
        let raw: Vec<f32> = base
            .iter()
            .map(|w| w - 1e-4 * ((rng.next() % 200) as f32 / 100.0 - 1.0))
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
        let mut rng = Rng(11);
        for width in [2usize, 4, 8] {
            let base: Vec<u8> = (0..4099).map(|_| rng.next() as u8).collect();
            let raw: Vec<u8> = base.iter().map(|b| b ^ (rng.next() as u8 & 3)).collect();
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
