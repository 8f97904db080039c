//! Twist frames: the 624 words of a Mersenne Twister (MT19937) state stored
//! as "the words of base chunk B, twisted k times" (issue #16).
//!
//! Python's `random` and numpy's legacy generator keep 624 32-bit words and
//! regenerate all of them at once (the *twist*) every 624 draws. The words
//! after a twist look random and do not compress (2.5 KB per snapshot of a
//! loop that draws), but they are a pure function of the words before: the
//! capture finds how many twists lead from the previous version to the new
//! one (`twists_between`) and stores 25 bytes instead:
//!
//! ```text
//! "SLXT"  version (1: MT19937, 624 little-endian u32 words)  base hash (16 bytes, big-endian)  twists (u32, little-endian)
//! ```
//!
//! The base is a chunk stored whole (the capture names the last whole
//! version, its *keyframe*, and counts the twists from it), so reading one
//! decodes one plain frame and twists at most [`MAX_TWISTS`] times (about a
//! millisecond). The decoded chunk is verified against its own hash like
//! every chunk. Like a delta frame, a twist frame needs its base: the
//! catalog's `base` column names it, and gc, fsck, export and restore follow
//! it the same way (`chunks.rs`'s [`crate::chunks::frame_base`]).

use snapline_array_scan::ChunkHash;

use crate::error::{StoreError, StoreResult};

const MAGIC: &[u8; 4] = b"SLXT";
const VERSION_MT19937: u8 = 1;
/// Bytes of a twist frame (all header: there is no body).
pub const TWIST_FRAME_LEN: usize = 4 + 1 + 16 + 4;
/// Words of an MT19937 state.
const N: usize = 624;
const M: usize = 397;
/// Bytes of an MT19937 state's words (624 little-endian u32).
pub const MT_WORDS_BYTES: usize = N * 4;
/// The most twists a frame may ask of its base: a reader twists at most
/// this many times (a frame that asks more is damage, not data); the
/// capture stores a new keyframe whole before reaching it.
pub const MAX_TWISTS: u32 = 1024;

/// What a twist frame's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TwistHeader {
    /// The chunk whose words are twisted.
    pub base: ChunkHash,
    /// How many times.
    pub twists: u32,
}

/// The header of `frame` when it is a twist frame.
pub fn twist_header(frame: &[u8]) -> Option<TwistHeader> {
    if frame.len() < TWIST_FRAME_LEN || &frame[..4] != MAGIC || frame[4] != VERSION_MT19937 {
        return None;
    }
    let mut base = [0u8; 16];
    base.copy_from_slice(&frame[5..21]);
    let mut twists = [0u8; 4];
    twists.copy_from_slice(&frame[21..25]);
    Some(TwistHeader {
        base: ChunkHash(u128::from_be_bytes(base)),
        twists: u32::from_le_bytes(twists),
    })
}

/// The twist frame of "the words of `base`, twisted `twists` times".
pub fn encode_twist(base: ChunkHash, twists: u32) -> Vec<u8> {
    let mut frame = Vec::with_capacity(TWIST_FRAME_LEN);
    frame.extend_from_slice(MAGIC);
    frame.push(VERSION_MT19937);
    frame.extend_from_slice(&base.0.to_be_bytes());
    frame.extend_from_slice(&twists.to_le_bytes());
    frame
}

/// The standard MT19937 regeneration of all 624 words (CPython's
/// `genrand_uint32`, numpy's `mt19937_gen`).
fn twist(mt: &mut [u32; N]) {
    const UPPER: u32 = 0x8000_0000;
    const LOWER: u32 = 0x7fff_ffff;
    const MATRIX_A: u32 = 0x9908_b0df;
    let mix = |hi: u32, lo: u32, far: u32| {
        let y = (hi & UPPER) | (lo & LOWER);
        far ^ (y >> 1) ^ (if y & 1 == 1 { MATRIX_A } else { 0 })
    };
    for k in 0..N - M {
        mt[k] = mix(mt[k], mt[k + 1], mt[k + M]);
    }
    for k in N - M..N - 1 {
        mt[k] = mix(mt[k], mt[k + 1], mt[k + M - N]);
    }
    mt[N - 1] = mix(mt[N - 1], mt[0], mt[M - 1]);
}

/// The words of `raw` (exactly [`MT_WORDS_BYTES`]), or `None`.
fn words_of(raw: &[u8]) -> Option<[u32; N]> {
    if raw.len() != MT_WORDS_BYTES {
        return None;
    }
    let mut mt = [0u32; N];
    for (w, b) in mt.iter_mut().zip(raw.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Some(mt)
}

/// How many twists (1 to `most`) turn the words `before` into the words
/// `after` (both 624 little-endian u32); `None` when none does (a reseed,
/// another generator, or not MT19937 words at all).
pub fn twists_between(before: &[u8], after: &[u8], most: u32) -> Option<u32> {
    let mut mt = words_of(before)?;
    let want = words_of(after)?;
    for k in 1..=most {
        twist(&mut mt);
        if mt == want {
            return Some(k);
        }
    }
    None
}

/// Turns `current`, which holds the raw words of twist `frame`'s base, into
/// the raw words of chunk `hash`, in place. The caller checks the content
/// hash.
pub fn apply_twist_in_place(hash: &str, frame: &[u8], current: &mut [u8]) -> StoreResult<()> {
    let damaged = |detail: String| StoreError::DamagedChunk {
        hash: hash.to_owned(),
        detail,
    };
    let header = twist_header(frame).ok_or_else(|| damaged("not a twist frame".into()))?;
    if header.twists > MAX_TWISTS {
        return Err(damaged(format!(
            "its twist frame asks for {} twists (at most {MAX_TWISTS}): the chunk is damaged",
            header.twists
        )));
    }
    let mut mt = words_of(current).ok_or_else(|| {
        damaged(format!(
            "its twist base {} holds {} bytes, not the {MT_WORDS_BYTES} of a Mersenne Twister \
             state: the base or this chunk's row is damaged",
            header.base,
            current.len()
        ))
    })?;
    for _ in 0..header.twists {
        twist(&mut mt);
    }
    for (b, w) in current.chunks_exact_mut(4).zip(mt) {
        b.copy_from_slice(&w.to_le_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MT19937 seeded by `init_genrand(seed)`, as its words (pos 624).
    fn seeded(seed: u32) -> [u32; N] {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        mt
    }

    fn bytes(mt: &[u32; N]) -> Vec<u8> {
        mt.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// The first output of the reference MT19937 after seeding with 5489
    /// is 3499211612: the twist here is the standard one.
    #[test]
    fn the_twist_is_the_reference_mt19937() {
        let mut mt = seeded(5489);
        twist(&mut mt);
        let mut y = mt[0];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        assert_eq!(y, 3_499_211_612);
    }

    #[test]
    fn twists_are_found_and_applied_once_and_many_times() {
        let start = bytes(&seeded(42));
        for k in [1u32, 2, 7, 64] {
            let mut mt = seeded(42);
            for _ in 0..k {
                twist(&mut mt);
            }
            let after = bytes(&mt);
            assert_eq!(twists_between(&start, &after, 64), Some(k));
            let base = snapline_array_scan::hash_bytes(&start);
            let frame = encode_twist(base, k);
            assert_eq!(frame.len(), TWIST_FRAME_LEN);
            assert_eq!(twist_header(&frame), Some(TwistHeader { base, twists: k }));
            let mut out = start.clone();
            apply_twist_in_place("x", &frame, &mut out).unwrap();
            assert_eq!(out, after, "{k} twists");
        }
    }

    #[test]
    fn other_words_are_not_twists() {
        let start = bytes(&seeded(1));
        let reseeded = bytes(&seeded(2));
        assert_eq!(twists_between(&start, &reseeded, 64), None);
        assert_eq!(twists_between(&start, &start, 64), None);
        assert_eq!(twists_between(&start[4..], &reseeded, 64), None);
        let mut mt = seeded(1);
        for _ in 0..65 {
            twist(&mut mt);
        }
        assert_eq!(
            twists_between(&start, &bytes(&mt), 64),
            None,
            "past the limit"
        );
    }

    #[test]
    fn a_damaged_frame_or_base_is_refused_clearly() {
        let start = bytes(&seeded(3));
        let base = snapline_array_scan::hash_bytes(&start);
        let mut out = start.clone();
        let err = apply_twist_in_place("abc", &encode_twist(base, MAX_TWISTS + 1), &mut out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("abc") && err.contains("twists"), "{err}");
        let mut short = start[..100].to_vec();
        let err = apply_twist_in_place("abc", &encode_twist(base, 1), &mut short)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Mersenne Twister"), "{err}");
        assert_eq!(twist_header(&encode_twist(base, 1)[..24]), None);
    }
}
