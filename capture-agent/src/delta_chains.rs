//! Which earlier version a changed float chunk is delta-encoded against
//! (crates/store/src/delta.rs), and that version's bytes.
//!
//! Two shapes, for the versions of one chunk (same buffer, same offset):
//!
//! - **star** (the default): each version is a delta of the last version
//!   stored plain (its *keyframe*), up to `limit` deltas per keyframe
//!   (`SNAPLINE_DELTA_STAR`); the next version is then stored plain and
//!   becomes the next keyframe. Reading any chunk applies at most one
//!   delta, so restore stays near plain speed;
//! - **chain** (when `SNAPLINE_DELTA_DEPTH` is set, as before): each version
//!   is a delta of the previous one, up to `limit` deltas in a row, so
//!   reading one decodes up to `limit + 1` frames.
//!
//! A delta no smaller than the plain frame is not used either: the chunk is
//! stored plain (and is a new keyframe). None is tried against a
//! near-constant version (`CONSTANT_RATIO`: zeros before an array is
//! filled), where it would be about the plain frame. `limit` 0: no deltas.
//! bench/RESULTS.md ("Changed weights stored as deltas") has the figures
//! behind the default shape and limit.
//!
//! The bytes of the versions a later one may be encoded against are kept in
//! memory (a chunk's bytes are moved here from its write job, not copied,
//! and dropped once no later version can use them). At most `memory_limit`
//! bytes (`SNAPLINE_DELTA_MEMORY_MB`, default 256): past it the oldest kept
//! go first (a temporary array's chunks never get a next version). A base
//! not kept, or stored by an earlier run, is read back from the store.

use std::collections::{HashMap, VecDeque};

use snapline_array_scan::ChunkHash;
use snapline_store::{encode_delta, Store, MAX_CHAIN};

/// Deltas per keyframe when neither `SNAPLINE_DELTA_STAR` nor
/// `SNAPLINE_DELTA_DEPTH` is set.
pub const DEFAULT_STAR: u32 = 2;

/// Most bytes of base versions kept in memory when
/// `SNAPLINE_DELTA_MEMORY_MB` is unset.
const DEFAULT_MEMORY: usize = 256 << 20;

/// A plain frame this many times smaller than its chunk marks a
/// near-constant chunk, which later versions are not delta-encoded against.
const CONSTANT_RATIO: usize = 64;

/// Chunks whose depth is remembered (forgotten past it: the catalog
/// answers for the committed ones).
const REMEMBERED_LINKS: usize = 1 << 20;

pub struct DeltaChains {
    /// Star (deltas of the keyframe) or chain (deltas of the previous version).
    star: bool,
    /// Most deltas per keyframe (star) or in a row (chain).
    limit: u32,
    memory_limit: usize,
    /// For a chunk this run wrote (or looked up), by hash: what its next
    /// version would be encoded against, and how many deltas that would make
    /// (in a row, or on that keyframe).
    next: HashMap<ChunkHash, (ChunkHash, u32)>,
    /// Raw bytes of versions a later one may be encoded against.
    raw: HashMap<ChunkHash, Vec<u8>>,
    raw_bytes: usize,
    /// The kept chunks, oldest first (may name some dropped since).
    raw_order: VecDeque<ChunkHash>,
}

impl Default for DeltaChains {
    fn default() -> Self {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let bounded = |n: u64| n.min(u64::from(MAX_CHAIN)) as u32;
        let (star, limit) = match env("SNAPLINE_DELTA_DEPTH") {
            Some(depth) => (false, bounded(depth)),
            None => (
                true,
                env("SNAPLINE_DELTA_STAR").map_or(DEFAULT_STAR, bounded),
            ),
        };
        DeltaChains {
            star,
            limit,
            memory_limit: env("SNAPLINE_DELTA_MEMORY_MB")
                .map_or(DEFAULT_MEMORY, |mb| (mb as usize).saturating_mul(1 << 20)),
            next: HashMap::new(),
            raw: HashMap::new(),
            raw_bytes: 0,
            raw_order: VecDeque::new(),
        }
    }
}

impl DeltaChains {
    /// The frame to store for float chunk `hash` (`raw`, whose previous
    /// version was `previous`), given its plain frame: a delta frame when
    /// one is smaller, else `plain`. Anything uncertain (a base the store
    /// lacks, a different size) gives the plain frame. Keeps `raw` when a
    /// later version may be encoded against it.
    pub fn encode(
        &mut self,
        store: &Store,
        hash: ChunkHash,
        raw: Vec<u8>,
        previous: Option<ChunkHash>,
        width: usize,
        plain: Vec<u8>,
    ) -> Vec<u8> {
        let target = previous.and_then(|p| self.target(store, p));
        let delta = target.and_then(|(target, count)| {
            let frame = match self.raw.get(&target) {
                Some(bytes) => encode_delta(&raw, bytes, target, width).ok()?,
                None => {
                    let bytes = store.read_chunk(&target.to_hex()).ok()?;
                    encode_delta(&raw, &bytes, target, width).ok()?
                }
            };
            (frame.len() < plain.len()).then_some((frame, target, count))
        });
        // What this version's successor is encoded against, and whether
        // the bytes of the chunk it was encoded against are still needed.
        let (frame, next, keep_target) = match delta {
            Some((frame, target, count)) if self.star => {
                (frame, (target, count + 1), count < self.limit)
            }
            Some((frame, _, count)) => (frame, (hash, count + 1), false),
            // A near-constant chunk (the zeros of an array allocated, then
            // filled) is no base worth a delta: one of the filled chunk
            // against it is about its plain frame, encoded twice. Its next
            // version is stored plain without trying (count past the limit).
            None if plain.len().saturating_mul(CONSTANT_RATIO) < raw.len() => {
                (plain, (hash, self.limit.saturating_add(1)), false)
            }
            None => (plain, (hash, 1), false),
        };
        // The previous version's bytes (chain), or its keyframe's (star, once
        // full or replaced by this plain version), are a base of nothing later.
        if !keep_target {
            if let Some(p) = previous {
                self.drop_raw(p);
            }
            if let Some((t, _)) = target {
                self.drop_raw(t);
            }
        }
        self.remember(hash, next);
        // This version is a base of the next when the next is encoded
        // against it and may still be a delta.
        if next.0 == hash && next.1 <= self.limit {
            self.keep(hash, raw);
        }
        frame
    }

    fn drop_raw(&mut self, hash: ChunkHash) {
        if let Some(bytes) = self.raw.remove(&hash) {
            self.raw_bytes -= bytes.len();
        }
    }

    /// Keeps `raw` as the bytes of `hash`, dropping the oldest kept bytes
    /// while more than the memory limit would be kept.
    fn keep(&mut self, hash: ChunkHash, raw: Vec<u8>) {
        if raw.len() > self.memory_limit {
            return;
        }
        while self.raw_bytes + raw.len() > self.memory_limit {
            let Some(oldest) = self.raw_order.pop_front() else {
                break;
            };
            if let Some(bytes) = self.raw.remove(&oldest) {
                self.raw_bytes -= bytes.len();
            }
        }
        self.raw_bytes += raw.len();
        if let Some(old) = self.raw.insert(hash, raw) {
            self.raw_bytes -= old.len();
        }
        self.raw_order.push_back(hash);
        // Names of chunks dropped since (by `encode`) pile up here; compact
        // them away once they outnumber the kept ones.
        if self.raw_order.len() > 2 * self.raw.len() + 64 {
            let raw = &self.raw;
            self.raw_order.retain(|h| raw.contains_key(h));
        }
    }

    /// What the version after `previous` may be encoded against, and how
    /// many deltas that makes: deltas are on and the limit is not reached.
    fn target(&mut self, store: &Store, previous: ChunkHash) -> Option<(ChunkHash, u32)> {
        if self.limit == 0 {
            return None;
        }
        let (target, count) = self.next_of(store, previous)?;
        (count <= self.limit).then_some((target, count))
    }

    fn remember(&mut self, hash: ChunkHash, next: (ChunkHash, u32)) {
        if self.next.len() >= REMEMBERED_LINKS {
            self.next.clear();
        }
        self.next.insert(hash, next);
    }

    /// What the version after `hash` would be encoded against and how many
    /// deltas that makes: remembered, or read from the catalog (`None`: a
    /// chunk not committed yet, a chain deeper than any reader follows, or,
    /// for a star, a delta stored before this run, whose keyframe's count
    /// is not known: the next version is stored plain).
    fn next_of(&mut self, store: &Store, hash: ChunkHash) -> Option<(ChunkHash, u32)> {
        if let Some(next) = self.next.get(&hash) {
            return Some(*next);
        }
        // Stored before this run (or by another): walk the catalog's bases.
        let mut chain = vec![hash];
        loop {
            let last = chain.last()?.to_hex();
            match store.chunk_base(&last).ok()? {
                Some(_) if self.star => return None,
                Some(base) if chain.len() as u32 <= MAX_CHAIN => {
                    chain.push(ChunkHash::from_hex(&base)?);
                }
                Some(_) => return None,
                None => break,
            }
        }
        let next = (hash, chain.len() as u32);
        self.remember(hash, next);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapline_array_scan::hash_bytes;

    fn chains() -> DeltaChains {
        DeltaChains {
            star: true,
            limit: 2,
            memory_limit: DEFAULT_MEMORY,
            next: HashMap::new(),
            raw: HashMap::new(),
            raw_bytes: 0,
            raw_order: VecDeque::new(),
        }
    }

    fn floats(seed: u64, n: usize) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .flat_map(|i| ((i as f64).sin() + rng.u64(..1000) as f64 / 1e6).to_le_bytes())
            .collect()
    }

    /// `encode`, where the plain frame handed in is the raw bytes (as large
    /// as a frame gets): any delta tried is smaller, so taken.
    fn encode(
        chains: &mut DeltaChains,
        store: &Store,
        raw: &[u8],
        previous: Option<&[u8]>,
    ) -> Vec<u8> {
        let plain = if raw.iter().all(|b| *b == 0) {
            snapline_store::compress(raw).unwrap_or_default()
        } else {
            raw.to_vec()
        };
        chains.encode(
            store,
            hash_bytes(raw),
            raw.to_vec(),
            previous.map(hash_bytes),
            8,
            plain,
        )
    }

    fn is_delta(frame: &[u8]) -> bool {
        frame.starts_with(b"SLXD")
    }

    #[test]
    fn no_delta_is_tried_against_a_near_constant_version() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Store::create(dir.path()).expect("a store");
        let mut chains = chains();
        let zeros = vec![0u8; 1 << 20];
        let filled = floats(7, (1 << 20) / 8);
        assert!(!is_delta(&encode(&mut chains, &store, &zeros, None)));
        // The filled version of a chunk that was zeros: stored plain, and a
        // keyframe the next version is a delta of.
        assert!(!is_delta(&encode(
            &mut chains,
            &store,
            &filled,
            Some(&zeros)
        )));
        let mut changed = filled.clone();
        changed[..8000].copy_from_slice(&floats(9, 1000));
        assert!(is_delta(&encode(
            &mut chains,
            &store,
            &changed,
            Some(&filled)
        )));
    }
}
