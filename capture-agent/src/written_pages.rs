//! Large array buffers whose written pages the kernel tracks between
//! snapshots (`snapline_array_scan::WriteTracker`), so that an unchanged
//! 1 GiB array is not read again: only the chunks holding written pages are
//! hashed. A buffer is tracked from its third scan on, once its second scan
//! found it mostly unchanged (a buffer rewritten at every step, such as a
//! weight, would only pay a page fault per page for nothing); the tracking
//! starts before that scan hashes it in full, so no write is missed.
//! Anything uncertain (the tracker cannot start, the scan fails, another
//! size at that address) means hashing in full.

use std::collections::HashMap;

use snapline_array_scan::{chunks_to_rehash, ChunkHash, WriteTracker, CHUNK_SIZE};

/// Buffers smaller than this are always hashed in full.
pub const TRACK_MIN_BYTES: usize = 64 << 20;

/// At most this many buffers are remembered (cleared past it).
const MAX_BUFFERS: usize = 1024;

struct Tracked {
    nbytes: usize,
    hashes: Vec<ChunkHash>,
    /// The last scan found at least 90% of the chunks unchanged.
    steady: bool,
    /// Tracking could not start here once: not tried again.
    refused: bool,
    tracker: Option<WriteTracker>,
}

/// The tracked buffers of one recorder, by address.
#[derive(Default)]
pub struct WrittenPages {
    buffers: HashMap<usize, Tracked>,
}

impl WrittenPages {
    /// Before scanning the buffer at `address`: per chunk, its hash when
    /// the kernel says none of its pages was written since the last scan
    /// (empty: hash everything). Starts tracking a steady buffer.
    pub fn before_scan(&mut self, address: usize, nbytes: usize) -> Vec<Option<ChunkHash>> {
        let Some(t) = self.buffers.get_mut(&address) else {
            return Vec::new();
        };
        if t.nbytes != nbytes {
            self.buffers.remove(&address);
            return Vec::new();
        }
        if let Some(tracker) = &mut t.tracker {
            let region = tracker.region();
            match tracker.take_written() {
                Ok(written) => {
                    let dirty = chunks_to_rehash(address, nbytes, CHUNK_SIZE, &region, &written);
                    // Taken: a scan that fails before `after_scan` leaves no
                    // hashes, and the next one hashes in full.
                    let hashes = std::mem::take(&mut t.hashes);
                    if dirty.len() == hashes.len() {
                        return dirty
                            .iter()
                            .zip(&hashes)
                            .map(|(d, h)| (!d).then_some(*h))
                            .collect();
                    }
                    t.tracker = None;
                }
                Err(_) => {
                    t.tracker = None;
                    t.refused = true;
                }
            }
            return Vec::new();
        }
        if t.steady && !t.refused {
            match WriteTracker::start(address, nbytes) {
                Ok(tracker) => t.tracker = Some(tracker),
                Err(_) => t.refused = true,
            }
        }
        Vec::new()
    }

    /// After scanning: remembers the buffer's chunk hashes.
    pub fn after_scan(&mut self, address: usize, nbytes: usize, hashes: Vec<ChunkHash>) {
        if self.buffers.len() >= MAX_BUFFERS && !self.buffers.contains_key(&address) {
            self.buffers.clear();
        }
        let t = self.buffers.entry(address).or_insert_with(|| Tracked {
            nbytes,
            hashes: Vec::new(),
            steady: false,
            refused: false,
            tracker: None,
        });
        let same = t.hashes.iter().zip(&hashes).filter(|(a, b)| a == b).count();
        t.steady = t.hashes.len() == hashes.len() && same * 10 >= hashes.len() * 9;
        t.hashes = hashes;
    }

    /// Whether the buffer at `address` is tracked now.
    pub fn is_tracked(&self, address: usize) -> bool {
        self.buffers
            .get(&address)
            .is_some_and(|t| t.tracker.is_some())
    }
}
