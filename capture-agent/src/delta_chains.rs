//! Which earlier version a changed float chunk is delta-encoded against
//! (crates/store/src/delta.rs), and that version's bytes.
//!
//! A version is encoded against the previous version of the same chunk
//! (same buffer, same offset): a chain. After `depth_limit` deltas in a row
//! the next version is stored plain and starts a new chain, so reading any
//! chunk decodes at most `depth_limit + 1` frames and a chain never drifts
//! far from its plain start. A delta no smaller than the plain frame is not
//! used either: the chunk is stored plain. `SNAPLINE_DELTA_DEPTH` sets the
//! limit (0: no deltas); bench/RESULTS.md ("Changed weights stored as
//! deltas") has the figures behind the default.
//!
//! The bytes of the versions a later one may be encoded against are kept in
//! memory (a chunk's bytes are moved here from its write job, not copied,
//! and dropped once the next version is written). At most `memory_limit`
//! bytes (`SNAPLINE_DELTA_MEMORY_MB`, default 256): past it the oldest kept
//! go first (a temporary array's chunks never get a next version). A base
//! not kept, or stored by an earlier run, is read back from the store.

use std::collections::{HashMap, VecDeque};

use snapline_array_scan::ChunkHash;
use snapline_store::{encode_delta, Store, MAX_CHAIN};

/// Chain depth limit when `SNAPLINE_DELTA_DEPTH` is unset.
pub const DEFAULT_DEPTH: u32 = 2;

/// Most bytes of base versions kept in memory when
/// `SNAPLINE_DELTA_MEMORY_MB` is unset.
const DEFAULT_MEMORY: usize = 256 << 20;

/// Chunks whose depth is remembered (forgotten past it: the catalog
/// answers for the committed ones).
const REMEMBERED_LINKS: usize = 1 << 20;

pub struct DeltaChains {
    depth_limit: u32,
    memory_limit: usize,
    /// Deltas between a chunk this run wrote (or looked up) and a plain
    /// chunk (0: plain), by hash.
    depths: HashMap<ChunkHash, u32>,
    /// Raw bytes of versions a later one may be encoded against.
    raw: HashMap<ChunkHash, Vec<u8>>,
    raw_bytes: usize,
    /// The kept chunks, oldest first (may name some dropped since).
    raw_order: VecDeque<ChunkHash>,
}

impl Default for DeltaChains {
    fn default() -> Self {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        DeltaChains {
            depth_limit: env("SNAPLINE_DELTA_DEPTH")
                .map_or(DEFAULT_DEPTH, |d| d.min(u64::from(MAX_CHAIN)) as u32),
            memory_limit: env("SNAPLINE_DELTA_MEMORY_MB")
                .map_or(DEFAULT_MEMORY, |mb| (mb as usize).saturating_mul(1 << 20)),
            depths: HashMap::new(),
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
        let delta = target.and_then(|(target, depth)| {
            let frame = match self.raw.get(&target) {
                Some(bytes) => encode_delta(&raw, bytes, target, width).ok()?,
                None => {
                    let bytes = store.read_chunk(&target.to_hex()).ok()?;
                    encode_delta(&raw, &bytes, target, width).ok()?
                }
            };
            (frame.len() < plain.len()).then_some((frame, depth + 1))
        });
        // The next version is encoded against this one, never against the
        // previous one again.
        if let Some(bytes) = previous.and_then(|p| self.raw.remove(&p)) {
            self.raw_bytes -= bytes.len();
        }
        let (frame, depth) = match delta {
            Some((frame, depth)) => (frame, depth),
            None => (plain, 0),
        };
        self.remember(hash, depth);
        if depth < self.depth_limit {
            self.keep(hash, raw);
        }
        frame
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

    /// The previous version and its depth when a delta may be encoded
    /// against it: deltas are on and its chain is shorter than the limit.
    fn target(&mut self, store: &Store, previous: ChunkHash) -> Option<(ChunkHash, u32)> {
        if self.depth_limit == 0 {
            return None;
        }
        let depth = self.depth(store, previous)?;
        (depth < self.depth_limit).then_some((previous, depth))
    }

    fn remember(&mut self, hash: ChunkHash, depth: u32) {
        if self.depths.len() >= REMEMBERED_LINKS {
            self.depths.clear();
        }
        self.depths.insert(hash, depth);
    }

    /// How many deltas `hash` is from a plain chunk: remembered, or read
    /// from the catalog (`None`: a chunk not committed yet, or a chain
    /// deeper than any reader follows).
    fn depth(&mut self, store: &Store, hash: ChunkHash) -> Option<u32> {
        if let Some(depth) = self.depths.get(&hash) {
            return Some(*depth);
        }
        // Stored before this run (or by another): walk the catalog's bases.
        let mut chain = vec![hash];
        loop {
            let last = chain.last()?.to_hex();
            match store.chunk_base(&last).ok()? {
                Some(base) if chain.len() as u32 <= MAX_CHAIN => {
                    chain.push(ChunkHash::from_hex(&base)?);
                }
                Some(_) => return None,
                None => break,
            }
        }
        let depth = chain.len() as u32 - 1;
        self.remember(hash, depth);
        Some(depth)
    }
}
