//! The background writer: one thread per captured run that compresses new
//! chunks, writes and fsyncs them, and commits each snapshot in one catalog
//! transaction once its chunks are durable. Memory is bounded: producers
//! block (backpressure) while more than `max_in_flight` bytes are queued.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use snapline_array_scan::{ChunkHash, CHUNK_SIZE};
use snapline_store::{
    compress, encode_shuffled, Event, MetricPoint, NewChunk, RunStatus, SnapshotCommit, Store,
    StoreError, INLINE_LIMIT,
};

use crate::delta_chains::DeltaChains;

/// A message to the writer thread.
pub enum Job {
    Chunk {
        hash: String,
        raw: Vec<u8>,
        /// Given for a chunk of a float buffer: a delta frame may be tried
        /// against an earlier version of it (same object, same offset).
        base: Option<DeltaBase>,
    },
    /// A chunk whose frame the recorder encoded already (a twist frame of
    /// Mersenne Twister words, `rng_words.rs`); `size` is its raw size.
    Encoded {
        hash: String,
        size: usize,
        frame: Vec<u8>,
    },
    Commit(Box<SnapshotCommit>),
    Metrics(Vec<MetricPoint>),
    /// Stored after everything queued before it; its `seq` is set here to
    /// the last snapshot committed before it.
    Event(Box<Event>),
    Warning {
        time: f64,
        message: String,
    },
    Lineage {
        key: String,
        value: serde_json::Value,
    },
    Finish {
        status: RunStatus,
        exit_code: Option<i64>,
        exception: Option<serde_json::Value>,
        ended_at: f64,
    },
}

/// What a changed float chunk may be delta-encoded against; an integer
/// chunk's element width alone (`delta` false): stored byte-shuffled on its
/// own, never a delta.
#[derive(Clone, Copy)]
pub struct DeltaBase {
    /// The content hash of the chunk's previous version (`None`: the first
    /// version, which later ones may be encoded against).
    pub previous: Option<ChunkHash>,
    /// Element width in bytes (2, 4 or 8).
    pub width: usize,
    /// Whether a delta may be tried (float chunks). Integer chunks are
    /// shuffled only: zstd on interleaved small integers (seven zero bytes
    /// in eight) ran at 8-12 ms per MiB here, shuffled at 1-3 ms and smaller.
    pub delta: bool,
}

impl Job {
    fn is_data(&self) -> bool {
        matches!(
            self,
            Job::Chunk { .. } | Job::Encoded { .. } | Job::Commit(_) | Job::Metrics(_)
        )
    }
}

/// Bytes queued but not yet written, shared by producers and the writer.
#[derive(Default)]
struct Budget {
    queued: Mutex<usize>,
    drained: Condvar,
}

pub struct Writer {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    budget: Arc<Budget>,
    max_in_flight: usize,
    /// The first error the writer hit; once set, jobs are refused.
    failure: Arc<Mutex<Option<String>>>,
}

impl Writer {
    pub fn start(store: Store, run_id: String, max_in_flight: usize) -> std::io::Result<Writer> {
        let (tx, rx) = sync_channel::<Job>(4096);
        let budget = Arc::new(Budget::default());
        let failure = Arc::new(Mutex::new(None));
        let thread = {
            let budget = Arc::clone(&budget);
            let failure = Arc::clone(&failure);
            std::thread::Builder::new()
                .name("snapline-writer".into())
                .spawn(move || write_loop(store, run_id, rx, &budget, &failure))?
        };
        Ok(Writer {
            jobs: Some(tx),
            thread: Some(thread),
            budget,
            max_in_flight: max_in_flight.max(1),
            failure,
        })
    }

    /// The writer's first error, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Queues a job, waiting while the queue holds too many bytes.
    pub fn send(&self, job: Job) -> Result<(), String> {
        if job.is_data() {
            if let Some(f) = self.failure() {
                return Err(f);
            }
        }
        let size = match &job {
            Job::Chunk { raw, .. } => raw.len(),
            _ => 0,
        };
        if size > 0 {
            let mut queued = self
                .budget
                .queued
                .lock()
                .map_err(|_| "writer state poisoned".to_string())?;
            // A single chunk larger than the budget still goes through alone.
            while *queued > 0 && *queued + size > self.max_in_flight {
                queued = self
                    .budget
                    .drained
                    .wait(queued)
                    .map_err(|_| "writer state poisoned".to_string())?;
            }
            *queued += size;
        }
        let jobs = self.jobs.as_ref().ok_or("the writer is closed")?;
        jobs.send(job).map_err(|_| {
            self.failure()
                .unwrap_or_else(|| "the writer stopped".into())
        })
    }

    /// Finishes the run and waits until everything queued is written.
    pub fn close(&mut self, finish: Job) -> Result<(), String> {
        let sent = self.send(finish);
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        sent?;
        match self.failure() {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_loop(
    mut store: Store,
    run_id: String,
    rx: Receiver<Job>,
    budget: &Budget,
    failure: &Mutex<Option<String>>,
) {
    yield_to_the_program();
    let mut state = WriteState::default();
    for job in rx {
        let released = match &job {
            Job::Chunk { raw, .. } => raw.len(),
            _ => 0,
        };
        let failed = failure.lock().map(|f| f.is_some()).unwrap_or(true);
        // After a failure, snapshot data is dropped (a later commit could
        // reference a lost chunk) but warnings and the run's end are still tried.
        let result = if failed && job.is_data() {
            Ok(())
        } else {
            handle(&mut store, &run_id, job, &mut state)
        };
        if released > 0 {
            if let Ok(mut q) = budget.queued.lock() {
                *q = q.saturating_sub(released);
            }
            budget.drained.notify_all();
        }
        if let Err(e) = result {
            if let Ok(mut f) = failure.lock() {
                f.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// How much lower the writer thread's priority is than the process's
/// (`nice` steps; `SNAPLINE_WRITER_NICE`, 0 to 19, 0: the same).
const WRITER_NICE: i32 = 10;

/// Lowers this thread's CPU priority (Linux: `setpriority` on the thread's
/// own id changes that thread only), so that where the cores are busy the
/// user's program runs first and the compression waits: its work is
/// queued, not lost, and backpressure still bounds the queue. Best effort:
/// a refusal leaves the priority as it was.
fn yield_to_the_program() {
    let nice = std::env::var("SNAPLINE_WRITER_NICE")
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(WRITER_NICE)
        .clamp(0, 19);
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and get/setpriority take plain integers and touch no
    // memory of ours.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        if current == -1 && *libc::__errno_location() != 0 {
            return;
        }
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, (current + nice).min(19));
    }
}

/// What the writer carries from one job to the next.
#[derive(Default)]
struct WriteState {
    /// Chunks written since the last commit, committed with the next one.
    pending: Vec<NewChunk>,
    /// Directories of those chunk files, fsynced before the commit.
    dirs: BTreeSet<PathBuf>,
    /// The seq of the last snapshot committed, for the events that follow it.
    last_seq: Option<i64>,
    /// What float chunks are delta-encoded against.
    chains: DeltaChains,
    /// Chunk copies of `CHUNK_SIZE` bytes received since the last commit:
    /// as many buffers are made ready for the next snapshot's copies.
    copies: usize,
}

/// A chunk's frame put where it lives: inline in its catalog row when the
/// chunk is small, else in its own file (whose directory is fsynced before
/// the next commit). The row that commit will insert.
fn place_frame(
    store: &Store,
    dirs: &mut BTreeSet<PathBuf>,
    hash: String,
    size: usize,
    frame: Vec<u8>,
) -> Result<NewChunk, StoreError> {
    let stored = frame.len() as u64;
    let inline = if size <= INLINE_LIMIT {
        Some(frame)
    } else {
        dirs.insert(store.write_chunk_file(&hash, &frame)?);
        None
    };
    Ok(NewChunk {
        hash,
        size: size as u64,
        stored,
        inline,
    })
}

fn handle(
    store: &mut Store,
    run_id: &str,
    job: Job,
    state: &mut WriteState,
) -> Result<(), StoreError> {
    let WriteState {
        pending,
        dirs,
        last_seq,
        chains,
        copies,
    } = state;
    match job {
        Job::Chunk { hash, raw, base } => {
            let size = raw.len();
            *copies += usize::from(size == CHUNK_SIZE);
            // Chunks small enough to live inline are never deltas. A float
            // chunk that may be one is stored byte-shuffled where it is
            // stored on its own (smaller, and faster to read back), and so
            // is an integer chunk.
            let frame = match (
                base.filter(|_| size > INLINE_LIMIT),
                ChunkHash::from_hex(&hash),
            ) {
                (Some(base), Some(key)) => {
                    let plain = encode_shuffled(&raw, base.width)?;
                    if base.delta {
                        chains.encode(store, key, raw, base.previous, base.width, plain)
                    } else {
                        plain
                    }
                }
                _ => compress(&raw)?,
            };
            pending.push(place_frame(store, dirs, hash, size, frame)?);
        }
        Job::Encoded { hash, size, frame } => {
            pending.push(place_frame(store, dirs, hash, size, frame)?);
        }
        Job::Commit(mut commit) => {
            store.sync_chunk_dirs(dirs)?;
            dirs.clear();
            commit.chunks = std::mem::take(pending);
            // The recorder counted new chunks by their raw size; what the
            // disk holds is their compressed (or delta) frames.
            let raw: u64 = commit.chunks.iter().map(|c| c.size).sum();
            // (and their catalog rows)
            let stored: u64 = commit.chunks.iter().map(|c| c.stored + c.row_bytes()).sum();
            let counted = u64::try_from(commit.meta.bytes_new).unwrap_or(0);
            let written = counted.saturating_sub(raw).saturating_add(stored);
            commit.meta.bytes_new = i64::try_from(written).unwrap_or(i64::MAX);
            store.commit_snapshot(&commit)?;
            *last_seq = Some(commit.meta.seq);
            // The next snapshot's copies go into buffers whose pages are
            // mapped already (here, at the writer's lower priority) rather
            // than faulting them in on the program's thread.
            crate::ALLOCATOR.prepare(CHUNK_SIZE, std::mem::take(copies) * CHUNK_SIZE);
        }
        Job::Metrics(points) => store.add_metrics(run_id, &points)?,
        Job::Event(mut event) => {
            event.seq = *last_seq;
            // An event that cannot be stored is a warning, not a reason to
            // stop capturing.
            if let Err(e) = store.add_event(run_id, &event) {
                let message = format!("{} event not recorded: {e}", event.kind);
                store.add_warning(run_id, event.time, &message)?;
            }
        }
        Job::Warning { time, message } => store.add_warning(run_id, time, &message)?,
        Job::Lineage { key, value } => store.set_lineage(run_id, &key, &value)?,
        Job::Finish {
            status,
            exit_code,
            exception,
            ended_at,
        } => {
            store.finish_run(run_id, status, exit_code, exception.as_ref(), ended_at)?;
            // Best effort: a catalog not packed is only larger.
            let _ = store.compact_after_run(run_id);
        }
    }
    Ok(())
}
