//! Bounded memo of per-chunk statistics.

use std::collections::{HashMap, VecDeque};

use crate::{ChunkHash, DType, PartialStats};

/// Remembers the [`PartialStats`] of chunks already seen, keyed by (chunk hash, dtype), so that
/// re-scanning an unchanged buffer only hashes it.
///
/// Bounded: holds at most `capacity` entries; when full, the oldest entry (first inserted) is
/// evicted. A capacity of 0 stores nothing. Entries are small (~100 bytes), so a capacity of
/// 100 000 covers ~100 GiB of chunks for ~10 MB of memory.
#[derive(Clone, Debug, Default)]
pub struct StatsCache {
    map: HashMap<(ChunkHash, DType), PartialStats>,
    order: VecDeque<(ChunkHash, DType)>,
    capacity: usize,
}

impl StatsCache {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        StatsCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The maximum number of entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The cached statistics of the chunk with this hash, read as `dtype`.
    pub fn get(&self, hash: ChunkHash, dtype: DType) -> Option<PartialStats> {
        self.map.get(&(hash, dtype)).copied()
    }

    /// Records the statistics of a chunk, evicting the oldest entries if the cache is full.
    pub fn insert(&mut self, hash: ChunkHash, dtype: DType, stats: PartialStats) {
        if self.capacity == 0 {
            return;
        }
        let key = (hash, dtype);
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = stats;
            return;
        }
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.map.insert(key, stats);
        self.order.push_back(key);
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}
