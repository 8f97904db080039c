//! `Recorder`: the Python-facing handle of one captured run.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use serde::Deserialize;
use snapline_array_scan::{
    content_chunks, copy_streaming, hash_bytes, scan_keeping, ChunkHash, DType, StatsCache,
    CHUNK_SIZE, PARALLEL_MIN_BYTES,
};
use snapline_store::{
    delta_width, EntryRow, Event, MetricPoint, ObjectRecord, RunInfo, RunStatus, SnapshotCommit,
    SnapshotMeta, Store,
};

use crate::rng_words::{RngWords, WordsFrame};
use crate::writer::{DeltaBase, Job, Writer};
use crate::written_pages::{WrittenPages, TRACK_MIN_BYTES};

/// Stats of chunks already seen, so an unchanged buffer is only hashed.
const STATS_CACHE_ENTRIES: usize = 1 << 16;

/// What Python sends to commit a snapshot.
#[derive(Deserialize)]
struct SnapshotIn {
    meta: SnapshotMeta,
    objects: Vec<(String, ObjectRecord)>,
    entries: Vec<(String, i64, String)>,
    #[serde(default)]
    metrics: Vec<MetricPoint>,
}

/// (count, nan, posinf, neginf, min, max, mean, l2)
type StatsTuple = (
    u64,
    u64,
    u64,
    u64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

#[derive(Default)]
struct Counters {
    bytes_new: u64,
    bytes_reused: u64,
}

/// One run being captured into a store.
#[pyclass(module = "snapline._native")]
pub struct Recorder {
    run_id: String,
    owner_pid: u32,
    lookup: Mutex<Store>,
    writer: Mutex<Writer>,
    known: Mutex<HashSet<ChunkHash>>,
    cache: Mutex<StatsCache>,
    counters: Mutex<Counters>,
    threads: usize,
    /// The last chunk hashes seen per float buffer (by key: its address
    /// unless Python names it), the bases of delta frames.
    previous: Mutex<HashMap<usize, Vec<ChunkHash>>>,
    /// Whether changed float chunks may be stored as deltas
    /// (`SNAPLINE_DELTA=0` turns it off, to compare).
    delta: bool,
    /// Large buffers whose written pages the kernel tracks.
    written_pages: Mutex<WrittenPages>,
    /// Each Mersenne Twister's last words, for twist frames.
    rng_words: Mutex<RngWords>,
    /// Whether new Mersenne Twister words may be stored as twist frames
    /// (`SNAPLINE_TWIST=0` turns it off, to compare).
    twist: bool,
}

/// Buffers whose previous chunk hashes are remembered (cleared past it).
const PREVIOUS_BUFFERS: usize = 1 << 16;

fn os_err(e: impl ToString) -> PyErr {
    PyOSError::new_err(e.to_string())
}

fn poisoned<T>(_: T) -> PyErr {
    PyOSError::new_err("snapline recorder state poisoned")
}

impl Recorder {
    /// Queues metric points for the writer (`ScalarTracker` batches).
    pub(crate) fn send_metrics(&self, points: Vec<MetricPoint>) -> PyResult<()> {
        self.check_owner()?;
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.send(Job::Metrics(points)).map_err(os_err)
    }

    /// Remembers a float buffer's chunk hashes under `key`; returns, per
    /// chunk, the previous scan's hash at the same offset when it differs.
    fn previous_versions(
        &self,
        key: usize,
        hashes: &[(ChunkHash, usize, usize)],
        width: usize,
    ) -> PyResult<Vec<Option<DeltaBase>>> {
        let now: Vec<ChunkHash> = hashes.iter().map(|(h, _, _)| *h).collect();
        let mut previous = self.previous.lock().map_err(poisoned)?;
        if previous.len() >= PREVIOUS_BUFFERS && !previous.contains_key(&key) {
            previous.clear();
        }
        let before = previous.insert(key, now.clone()).unwrap_or_default();
        Ok(now
            .iter()
            .enumerate()
            .map(|(i, hash)| {
                Some(DeltaBase {
                    previous: before.get(i).filter(|old| *old != hash).copied(),
                    width,
                    delta: true,
                })
            })
            .collect())
    }

    /// The scan's copy of a chunk it just hashed, when this run has not
    /// stored the chunk yet and `budget` (bytes) allows: copied while the
    /// chunk is still in cache, it costs less than reading it again later
    /// (issue #16: on the DCGAN every weight, gradient and optimizer state
    /// is new at every snapshot). `claim` decides later whether the store
    /// wants it; a copy of a chunk the store already had is dropped. The
    /// copy is written with streaming stores (`copy_streaming`): the writer
    /// reads it much later, and it does not evict the program's cache.
    fn keep_new(&self, budget: &AtomicUsize, hash: ChunkHash, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.known.lock().ok()?.contains(&hash) {
            return None;
        }
        budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(chunk.len())
            })
            .ok()?;
        Some(copy_streaming(chunk))
    }

    fn check_owner(&self) -> PyResult<()> {
        if std::process::id() != self.owner_pid {
            return Err(PyOSError::new_err(
                "snapline recorder used from a forked child process",
            ));
        }
        Ok(())
    }

    /// Per chunk (hash, raw length), whether it is new to this run and the
    /// store, so the caller writes it; counts its bytes as new or reused. A
    /// repeat within `chunks` counts once; one store lookup for all of them.
    fn claim(&self, chunks: &[(ChunkHash, usize)]) -> PyResult<Vec<bool>> {
        let mut known = self.known.lock().map_err(poisoned)?;
        let lookup = self.lookup.lock().map_err(poisoned)?;
        let mut counters = self.counters.lock().map_err(poisoned)?;
        let mut claimed = vec![false; chunks.len()];
        let mut unseen = Vec::new();
        for (i, &(hash, len)) in chunks.iter().enumerate() {
            if known.insert(hash) {
                unseen.push(i);
            } else {
                counters.bytes_reused += len as u64;
            }
        }
        let names: Vec<String> = unseen.iter().map(|&i| chunks[i].0.to_hex()).collect();
        let stored = lookup.has_chunks(&names).map_err(os_err)?;
        for (i, stored) in unseen.into_iter().zip(stored) {
            let len = chunks[i].1 as u64;
            if stored {
                counters.bytes_reused += len;
            } else {
                counters.bytes_new += len;
                claimed[i] = true;
            }
        }
        Ok(claimed)
    }

    /// Queues the chunks not yet in the store; returns nothing, counts bytes.
    fn store_chunks(&self, data: &[u8], hashes: &[(ChunkHash, usize, usize)]) -> PyResult<()> {
        self.store_chunks_against(data, hashes, &[], Vec::new())
    }

    /// `store_chunks`, where `bases[i]` (given for float chunks) holds the
    /// previous version of chunk `i` (if any), which a changed float chunk
    /// may be delta-encoded against, and `kept[i]` (where given) is chunk
    /// `i`'s copy, made by the scan that hashed it (`keep_new`).
    fn store_chunks_against(
        &self,
        data: &[u8],
        hashes: &[(ChunkHash, usize, usize)],
        bases: &[Option<DeltaBase>],
        mut kept: Vec<Option<Vec<u8>>>,
    ) -> PyResult<()> {
        let lengths: Vec<(ChunkHash, usize)> = hashes.iter().map(|&(h, _, len)| (h, len)).collect();
        let claimed = self.claim(&lengths)?;
        let fresh: Vec<_> = hashes
            .iter()
            .zip(claimed)
            .enumerate()
            .filter(|(_, (_, new))| *new)
            .map(|(i, (&(hash, offset, len), _))| {
                let copy = kept.get_mut(i).and_then(Option::take);
                (
                    hash,
                    offset..offset + len,
                    bases.get(i).copied().flatten(),
                    copy,
                )
            })
            .collect();
        drop(kept); // copies of chunks the store already had
        let total: usize = fresh
            .iter()
            .filter(|(_, _, _, copy)| copy.is_none())
            .map(|(_, range, _, _)| range.len())
            .sum();
        let threads = if total >= PARALLEL_MIN_BYTES {
            self.threads
        } else {
            1
        };
        let writer = self.writer.lock().map_err(poisoned)?;
        let mut fresh = fresh.into_iter().peekable();
        while fresh.peek().is_some() {
            let batch: Vec<_> = fresh.by_ref().take(COPY_BATCH).collect();
            let ranges: Vec<_> = batch
                .iter()
                .filter(|(_, _, _, copy)| copy.is_none())
                .map(|(_, range, _, _)| range.clone())
                .collect();
            let mut copies = copy_out(data, &ranges, threads).into_iter();
            for (hash, _, base, copy) in batch {
                let raw = match copy {
                    Some(raw) => raw,
                    None => copies.next().unwrap_or_default(),
                };
                writer
                    .send(Job::Chunk {
                        hash: hash.to_hex(),
                        raw,
                        base,
                    })
                    .map_err(os_err)?;
            }
        }
        Ok(())
    }
}

/// A scan copies at most this much of the chunks it finds new while they
/// are in cache (`Recorder::keep_new`); the rest of a larger buffer's new
/// chunks are copied afterwards, `COPY_BATCH` at a time, so that what waits
/// to be queued stays bounded whatever the buffer's size.
const KEEP_MAX_BYTES: usize = COPY_BATCH * CHUNK_SIZE;

/// New chunks are copied (and then queued) this many at a time: the
/// writer's backpressure bounds what is queued, and a batch adds at most
/// this many chunks to it.
const COPY_BATCH: usize = 32;

/// Copies of `data[range]` for each range, made by `threads` threads
/// (contiguous shares; the calling thread copies the first): the new chunks
/// no scan kept (past `KEEP_MAX_BYTES` of a buffer, and blobs'), which the
/// program waits for.
fn copy_out(data: &[u8], ranges: &[Range<usize>], threads: usize) -> Vec<Vec<u8>> {
    let copy = |ranges: &[Range<usize>]| -> Vec<Vec<u8>> {
        ranges
            .iter()
            .map(|r| data.get(r.clone()).map(copy_streaming).unwrap_or_default())
            .collect()
    };
    let threads = threads.clamp(1, ranges.len().max(1));
    if threads == 1 {
        return copy(ranges);
    }
    let per = ranges.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut shares = ranges.chunks(per);
        let first = shares.next().unwrap_or_default();
        let helpers: Vec<_> = shares.map(|share| s.spawn(move || copy(share))).collect();
        let mut raws = copy(first);
        for helper in helpers {
            match helper.join() {
                Ok(part) => raws.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        raws
    })
}

#[pymethods]
impl Recorder {
    /// Opens (or creates) the store at `store_dir` and registers a new run.
    /// `run_info_json` is a serialized `RunInfo`.
    #[new]
    #[pyo3(signature = (store_dir, run_info_json, max_in_flight = 256 << 20))]
    fn new(
        py: Python<'_>,
        store_dir: &str,
        run_info_json: &str,
        max_in_flight: usize,
    ) -> PyResult<Self> {
        let info: RunInfo = serde_json::from_str(run_info_json)
            .map_err(|e| PyValueError::new_err(format!("bad run info: {e}")))?;
        // Without the GIL: opening a store waits on fsyncs, which `snapline
        // run` overlaps with importing the agent (runner.RecorderOpening).
        let (run_id, lookup, writer) = py.detach(|| -> PyResult<(String, Store, Writer)> {
            let mut store = Store::create(store_dir).map_err(os_err)?;
            let run_id = store.begin_run(&info).map_err(os_err)?;
            let lookup = Store::open(store_dir).map_err(os_err)?;
            let writer = Writer::start(store, run_id.clone(), max_in_flight).map_err(os_err)?;
            Ok((run_id, lookup, writer))
        })?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(2))
            .unwrap_or(1);
        Ok(Recorder {
            run_id,
            owner_pid: std::process::id(),
            lookup: Mutex::new(lookup),
            writer: Mutex::new(writer),
            known: Mutex::new(HashSet::new()),
            cache: Mutex::new(StatsCache::new(STATS_CACHE_ENTRIES)),
            counters: Mutex::new(Counters::default()),
            threads,
            previous: Mutex::new(HashMap::new()),
            delta: std::env::var("SNAPLINE_DELTA").map_or(true, |v| v != "0"),
            written_pages: Mutex::new(WrittenPages::default()),
            rng_words: Mutex::new(RngWords::default()),
            twist: std::env::var("SNAPLINE_TWIST").map_or(true, |v| v != "0"),
        })
    }

    #[getter]
    fn run_id(&self) -> String {
        self.run_id.clone()
    }

    /// Hashes, scans and stores the buffer at `address` (`nbytes` long, of
    /// `dtype`). Returns (chunk hashes, stats tuple). A changed chunk of a
    /// float buffer is stored as a delta of the same buffer's chunk at the
    /// same offset in the previous scan when that is smaller; `key` names
    /// the buffer across scans (default: its address).
    ///
    /// The caller must hold a reference to the array owning the buffer for
    /// the whole call; the GIL is released while scanning.
    ///
    /// `trackable`: the buffer is the array's own private memory (not a
    /// temporary copy, not pinned for device DMA), so a large one may have
    /// its written pages tracked by the kernel between scans
    /// (`written_pages.rs`): then only the chunks holding written pages are
    /// hashed again.
    #[pyo3(signature = (address, nbytes, dtype, key = None, trackable = false))]
    fn scan_array(
        &self,
        py: Python<'_>,
        address: usize,
        nbytes: usize,
        dtype: &str,
        key: Option<usize>,
        trackable: bool,
    ) -> PyResult<(Vec<String>, StatsTuple)> {
        self.check_owner()?;
        let width = delta_width(dtype).filter(|_| self.delta);
        let dtype = DType::from_name(dtype)
            .ok_or_else(|| PyValueError::new_err(format!("unsupported dtype {dtype}")))?;
        if nbytes > 0 && address == 0 {
            return Err(PyValueError::new_err("null buffer address"));
        }
        py.detach(|| {
            let data: &[u8] = if nbytes == 0 {
                &[]
            } else {
                // SAFETY: the caller holds the array that owns these bytes for
                // the duration of the call (see the method's contract).
                unsafe { std::slice::from_raw_parts(address as *const u8, nbytes) }
            };
            let tracked = trackable && key.is_none() && nbytes >= TRACK_MIN_BYTES;
            let known = if tracked {
                let mut pages = self.written_pages.lock().map_err(poisoned)?;
                pages.before_scan(address, nbytes)
            } else {
                Vec::new()
            };
            let budget = AtomicUsize::new(KEEP_MAX_BYTES);
            let keep = |hash: ChunkHash, chunk: &[u8]| self.keep_new(&budget, hash, chunk);
            let (result, kept) = {
                let mut cache = self.cache.lock().map_err(poisoned)?;
                scan_keeping(data, dtype, Some(&mut cache), self.threads, &known, &keep)
            };
            if tracked {
                let mut pages = self.written_pages.lock().map_err(poisoned)?;
                pages.after_scan(
                    address,
                    nbytes,
                    result.chunks.iter().map(|c| c.hash).collect(),
                );
            }
            let hashes: Vec<_> = result
                .chunks
                .iter()
                .map(|c| (c.hash, c.offset, c.len))
                .collect();
            let bases = match width {
                Some(width) => self.previous_versions(key.unwrap_or(address), &hashes, width)?,
                // Integers of 2, 4 or 8 bytes: shuffled by the writer, no delta.
                None if !dtype.is_float() && matches!(dtype.size(), 2 | 4 | 8) => {
                    let shuffled = DeltaBase {
                        previous: None,
                        width: dtype.size(),
                        delta: false,
                    };
                    vec![Some(shuffled); hashes.len()]
                }
                None => Vec::new(),
            };
            self.store_chunks_against(data, &hashes, &bases, kept)?;
            let s = result.stats;
            Ok((
                hashes.iter().map(|(h, _, _)| h.to_hex()).collect(),
                (
                    s.count, s.nan, s.posinf, s.neginf, s.min, s.max, s.mean, s.l2,
                ),
            ))
        })
    }

    /// Whether the kernel tracks the written pages of the buffer at
    /// `address` now (tests and benchmarks).
    fn written_pages_tracked(&self, address: usize) -> PyResult<bool> {
        Ok(self
            .written_pages
            .lock()
            .map_err(poisoned)?
            .is_tracked(address))
    }

    /// Stores an opaque blob (pickle bytes, a large value) in chunks;
    /// returns the chunk hashes.
    fn put_blob(&self, py: Python<'_>, data: &[u8]) -> PyResult<Vec<String>> {
        self.check_owner()?;
        py.detach(|| {
            let hashes: Vec<_> = data
                .chunks(CHUNK_SIZE)
                .enumerate()
                .map(|(i, c)| (hash_bytes(c), i * CHUNK_SIZE, c.len()))
                .collect();
            self.store_chunks(data, &hashes)?;
            Ok(hashes.iter().map(|(h, _, _)| h.to_hex()).collect())
        })
    }

    /// Stores the 624 words of a Mersenne Twister state (generator `key`,
    /// its snapshot path) as one chunk and returns its hash (in a list, as
    /// `put_blob`): new words that are the generator's previous words
    /// twisted a few times are stored as a twist frame of its keyframe
    /// (`rng_words.rs`); anything else as `put_blob` stores it.
    fn put_rng_words(&self, py: Python<'_>, data: &[u8], key: &str) -> PyResult<Vec<String>> {
        self.check_owner()?;
        py.detach(|| {
            let hash = hash_bytes(data);
            let fresh = self.claim(&[(hash, data.len())])?.first() == Some(&true);
            let frame = if self.twist {
                let mut rng_words = self.rng_words.lock().map_err(poisoned)?;
                rng_words.next(key, data, hash, fresh)
            } else {
                WordsFrame::Whole
            };
            if fresh {
                let writer = self.writer.lock().map_err(poisoned)?;
                let job = match frame {
                    WordsFrame::Twist(keyframe, twists) => Job::Encoded {
                        hash: hash.to_hex(),
                        size: data.len(),
                        frame: snapline_store::encode_twist(keyframe, twists),
                    },
                    WordsFrame::Whole => Job::Chunk {
                        hash: hash.to_hex(),
                        raw: data.to_vec(),
                        base: None,
                    },
                };
                writer.send(job).map_err(os_err)?;
            }
            Ok(vec![hash.to_hex()])
        })
    }

    /// Stores a serialized value (the JSON of a large list, dict or set) in
    /// content-defined chunks, so that a container changed in a few places
    /// stores only the chunks around those places; returns the chunk hashes
    /// (their concatenation is `data`).
    fn put_value(&self, py: Python<'_>, data: &[u8]) -> PyResult<Vec<String>> {
        self.check_owner()?;
        py.detach(|| {
            let hashes: Vec<_> = content_chunks(data)
                .into_iter()
                .map(|r| (hash_bytes(&data[r.clone()]), r.start, r.len()))
                .collect();
            self.store_chunks(data, &hashes)?;
            Ok(hashes.iter().map(|(h, _, _)| h.to_hex()).collect())
        })
    }

    /// Queues the commit of one snapshot; returns (bytes_new, bytes_reused)
    /// counted since the previous commit. `bytes_new` counts everything the
    /// snapshot writes: new chunks (raw here; the writer stores their
    /// compressed size in the snapshot's row), and its catalog rows (the
    /// snapshot, object records, entries, metric points: about the JSON's
    /// length).
    fn commit(&self, py: Python<'_>, snapshot_json: &str) -> PyResult<(u64, u64)> {
        self.check_owner()?;
        py.detach(|| {
            let snap: SnapshotIn = serde_json::from_str(snapshot_json)
                .map_err(|e| PyValueError::new_err(format!("bad snapshot: {e}")))?;
            let (bytes_new, bytes_reused) = {
                let mut c = self.counters.lock().map_err(poisoned)?;
                let taken = (c.bytes_new, c.bytes_reused);
                *c = Counters::default();
                taken
            };
            // The catalog rows, about as long as their JSON here.
            let bytes_new = bytes_new + snapshot_json.len() as u64;
            let mut meta = snap.meta;
            meta.bytes_new = i64::try_from(bytes_new).unwrap_or(i64::MAX);
            meta.bytes_reused = i64::try_from(bytes_reused).unwrap_or(i64::MAX);
            let commit = SnapshotCommit {
                run_id: self.run_id.clone(),
                meta,
                chunks: Vec::new(),
                objects: snap.objects,
                entries: snap
                    .entries
                    .into_iter()
                    .map(|(path, node, hash)| EntryRow { path, node, hash })
                    .collect(),
                metrics: snap.metrics,
            };
            let writer = self.writer.lock().map_err(poisoned)?;
            writer.send(Job::Commit(Box::new(commit))).map_err(os_err)?;
            Ok((bytes_new, bytes_reused))
        })
    }

    /// Adds metric points (JSON list of MetricPoint) between snapshots.
    fn log_metrics(&self, points_json: &str) -> PyResult<()> {
        self.check_owner()?;
        let points: Vec<MetricPoint> = serde_json::from_str(points_json)
            .map_err(|e| PyValueError::new_err(format!("bad metric points: {e}")))?;
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.send(Job::Metrics(points)).map_err(os_err)
    }

    /// Records an event (`kind`, a JSON object `detail_json`, at `time`)
    /// in order with the snapshots: it is stored after every snapshot
    /// committed before this call, and its `seq` is the last of them.
    fn event(&self, kind: String, detail_json: &str, time: f64) -> PyResult<()> {
        self.check_owner()?;
        let detail: serde_json::Value = serde_json::from_str(detail_json)
            .map_err(|e| PyValueError::new_err(format!("bad event detail: {e}")))?;
        let event = Event {
            time,
            seq: None,
            kind,
            detail,
        };
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.send(Job::Event(Box::new(event))).map_err(os_err)
    }

    /// Records a warning with the run.
    fn warn(&self, time: f64, message: String) -> PyResult<()> {
        self.check_owner()?;
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.send(Job::Warning { time, message }).map_err(os_err)
    }

    /// Sets `key` of the run's lineage to a JSON value.
    fn set_lineage(&self, key: String, value_json: &str) -> PyResult<()> {
        self.check_owner()?;
        let value: serde_json::Value = serde_json::from_str(value_json)
            .map_err(|e| PyValueError::new_err(format!("bad lineage value: {e}")))?;
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.send(Job::Lineage { key, value }).map_err(os_err)
    }

    /// The writer's first error, if it hit one.
    fn failure(&self) -> PyResult<Option<String>> {
        Ok(self.writer.lock().map_err(poisoned)?.failure())
    }

    /// Deletes the run from the store (call it after `finish`): a resume
    /// refused before any of the program ran leaves no run behind.
    fn discard(&self, py: Python<'_>) -> PyResult<()> {
        self.check_owner()?;
        py.detach(|| {
            let mut store = self.lookup.lock().map_err(poisoned)?;
            store
                .remove_run(&self.run_id, true, false, &mut |_| {})
                .map(|_| ())
                .map_err(os_err)
        })
    }

    /// Records how the run ended and waits for every queued write.
    #[pyo3(signature = (status, ended_at, exit_code = None, exception_json = None))]
    fn finish(
        &self,
        py: Python<'_>,
        status: &str,
        ended_at: f64,
        exit_code: Option<i64>,
        exception_json: Option<&str>,
    ) -> PyResult<()> {
        self.check_owner()?;
        let status = RunStatus::parse(status)
            .ok_or_else(|| PyValueError::new_err(format!("bad status {status}")))?;
        let exception = exception_json.and_then(|e| serde_json::from_str(e).ok());
        py.detach(|| {
            let mut writer = self.writer.lock().map_err(poisoned)?;
            writer
                .close(Job::Finish {
                    status,
                    exit_code,
                    exception,
                    ended_at,
                })
                .map_err(os_err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_come_back_in_order_whatever_the_threads() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let ranges = vec![
            0..1000,
            1000..1000,
            5000..9999,
            20..21,
            9000..10_000,
            3..4000,
        ];
        let expected: Vec<Vec<u8>> = ranges.iter().map(|r| data[r.clone()].to_vec()).collect();
        for threads in [1, 2, 3, 8] {
            assert_eq!(
                copy_out(&data, &ranges, threads),
                expected,
                "{threads} threads"
            );
        }
        assert!(copy_out(&data, &[], 2).is_empty());
        assert_eq!(
            copy_out(&data, &[9990..10_010, 0..2], 2),
            vec![Vec::new(), data[0..2].to_vec()],
            "out of range: empty"
        );
    }
}
