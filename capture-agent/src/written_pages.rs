//! Large array buffers whose written pages the kernel tracks between
//! snapshots (`snapline_array_scan::WriteTracker`), so that an unchanged
//! 1 GiB array is not read again: only the chunks holding written pages are
//! hashed. Tracking starts before a buffer's second scan hashes it in full
//! (so no write is missed) and is kept if that scan finds it mostly
//! unchanged, so its third scan reads only written chunks; a buffer
//! rewritten at every step (a weight being trained) is not tracked (it
//! would pay a page fault per page for nothing), nor kept tracked once most
//! of it is rewritten, until a full scan finds it steady again.
//! Anything uncertain (the tracker cannot start, the scan fails, another
//! size at that address) means hashing in full. The tracked region is every
//! page holding a byte of the buffer (its neighbours' writes on the first
//! and last page count as the buffer's), so no chunk is left out of it.

use std::collections::HashMap;

use snapline_array_scan::{chunks_to_rehash, ChunkHash, WriteTracker, CHUNK_SIZE};

/// Buffers smaller than this are always hashed in full. A tracked scan
/// costs two ioctls and a page-table walk (tens of microseconds; the
/// mapping check no longer reads `/proc/self/maps`), hashing 1 MiB about
/// 0.1-0.2 ms: tracking wins from about here (bench/RESULTS.md, #16).
pub const TRACK_MIN_BYTES: usize = 1 << 20;

/// A buffer stays tracked (or is tracked again) while at most one part in
/// this many of its chunks is written between two scans: each written page
/// costs the program a write-protect fault (measured: a 32 MB array filled
/// block by block between loop snapshots ran 37 ms slower tracked than
/// hashed, bench/RESULTS.md, #16).
const STEADY_PARTS: usize = 16;

/// At most this many buffers are remembered (cleared past it).
const MAX_BUFFERS: usize = 1024;

/// At most this many buffers are tracked at once (each holds two file
/// descriptors; the program's own must not run out).
const MAX_TRACKERS: usize = 64;

struct Tracked {
    nbytes: usize,
    hashes: Vec<ChunkHash>,
    /// The last scan found at least 15 of every 16 chunks unchanged.
    steady: bool,
    /// Tracking could not start here once: not tried again.
    refused: bool,
    /// Scanned once only: its second scan starts tracking on trial.
    fresh: bool,
    /// The tracker started before this scan: kept only if the scan finds
    /// the buffer steady.
    trial: bool,
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
    /// (empty: hash everything). Starts tracking (on trial, see
    /// `after_scan`) a buffer at its second scan, or a steady one.
    pub fn before_scan(&mut self, address: usize, nbytes: usize) -> Vec<Option<ChunkHash>> {
        let trackers = self
            .buffers
            .values()
            .filter(|t| t.tracker.is_some())
            .count();
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
                        let written = dirty.iter().filter(|d| **d).count();
                        if written * STEADY_PARTS > dirty.len() {
                            // More than a sixteenth rewritten (a weight being
                            // trained, an array being filled): the program's
                            // page fault per written page (about 4.5 us, 1.1 ms
                            // per MiB) would cost more than hashing all of it
                            // (about 0.1 ms per MiB). Tracked again once a full
                            // scan finds it steady.
                            t.tracker = None;
                        }
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
        if (t.steady || t.fresh) && !t.refused && trackers < MAX_TRACKERS {
            // The pages the buffer shares with its neighbours are tracked
            // too: their writes mean hashing again, never a missed write.
            match WriteTracker::start_covering(address, nbytes) {
                Ok(tracker) => {
                    t.tracker = Some(tracker);
                    t.trial = true;
                }
                Err(_) => t.refused = true,
            }
        }
        t.fresh = false;
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
            fresh: true,
            trial: false,
            tracker: None,
        });
        let same = t.hashes.iter().zip(&hashes).filter(|(a, b)| a == b).count();
        t.steady = t.hashes.len() == hashes.len()
            && same * STEADY_PARTS >= hashes.len() * (STEADY_PARTS - 1);
        if std::mem::take(&mut t.trial) && !t.steady {
            t.tracker = None; // changed since the scan before: not worth its faults
        }
        t.hashes = hashes;
    }

    /// Whether the buffer at `address` is tracked now.
    pub fn is_tracked(&self, address: usize) -> bool {
        self.buffers
            .get(&address)
            .is_some_and(|t| t.tracker.is_some())
    }
}
