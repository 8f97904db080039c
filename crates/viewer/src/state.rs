//! What the window shows, read from the store through crates/query: the
//! runs, the open run's snapshots and series, what is at the cursor. The
//! slow reads (every point of every series, the first NaN) run on a loader
//! thread with its own store connection, so the first frame does not wait.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};

use snapline_query::{
    changed_paths, first_nonfinite, list_runs, list_series, run_log, run_summary, show_snapshot,
    LoadedSeries, NanReport, ObjectView, QueryError, RunSummary, SeriesInfo, SnapshotRef,
    SnapshotRow, Store, XAxis,
};

/// The variables at one snapshot and which of them changed since the one before.
pub struct AtCursor {
    pub seq: i64,
    pub objects: Vec<ObjectView>,
    pub changed: HashSet<String>,
}

/// The x axis a series is charted on: query's training step where its
/// points have one (as the app draws it), else the snapshot axis (the
/// timeline's seq), else its default axis.
pub fn chart_axis(info: &SeriesInfo) -> XAxis {
    [XAxis::Step, XAxis::Snapshot]
        .into_iter()
        .find(|a| info.axes.contains(a))
        .unwrap_or(info.default_axis)
}

/// One metric series of the open run: its points once loaded.
pub struct SeriesSlot {
    pub info: SeriesInfo,
    pub loaded: Option<LoadedSeries>,
    pub failed: Option<String>,
}

/// The open run.
pub struct RunState {
    pub summary: RunSummary,
    pub rows: Vec<SnapshotRow>,
    /// Index into `rows`.
    pub cursor: usize,
    pub series: Vec<SeriesSlot>,
    pub nan: Option<Result<NanReport, String>>,
    pub at_cursor: Option<AtCursor>,
    /// Bumped whenever `series` is reloaded (charts rebuild their views).
    pub generation: u64,
}

impl RunState {
    /// The snapshot under the cursor.
    pub fn cursor_row(&self) -> Option<&SnapshotRow> {
        self.rows.get(self.cursor)
    }

    /// The cursor's snapshot by name.
    pub fn cursor_ref(&self) -> Option<SnapshotRef> {
        self.cursor_row().map(|r| SnapshotRef {
            run: self.summary.id.clone(),
            seq: r.seq,
        })
    }

    /// Moves the cursor to the snapshot `seq` (or the nearest one after it).
    pub fn seek_seq(&mut self, seq: i64) {
        let i = self.rows.partition_point(|r| r.seq < seq);
        self.cursor = i.min(self.rows.len().saturating_sub(1));
    }
}

/// What the loader thread sends back.
enum Loaded {
    Series {
        generation: u64,
        index: usize,
        result: Result<LoadedSeries, String>,
    },
    Nan {
        generation: u64,
        result: Result<NanReport, String>,
    },
}

/// Reads series and NaN reports on a thread of their own.
pub struct Loader {
    sender: Sender<Loaded>,
    receiver: Receiver<Loaded>,
    pending: usize,
    repaint: Option<eframe::egui::Context>,
}

impl Loader {
    pub fn new(repaint: Option<eframe::egui::Context>) -> Loader {
        let (sender, receiver) = channel();
        Loader {
            sender,
            receiver,
            pending: 0,
            repaint,
        }
    }

    /// Starts reading every series of `run` and its NaN report.
    fn start(&mut self, store_dir: &Path, run: &RunState) {
        let dir = store_dir.to_path_buf();
        let id = run.summary.id.clone();
        let names: Vec<(String, XAxis)> = run
            .series
            .iter()
            .map(|s| (s.info.name.clone(), chart_axis(&s.info)))
            .collect();
        let generation = run.generation;
        let sender = self.sender.clone();
        let repaint = self.repaint.clone();
        self.pending += names.len() + 1;
        std::thread::spawn(move || {
            let send = |msg: Loaded| {
                let _ = sender.send(msg);
                if let Some(ctx) = &repaint {
                    ctx.request_repaint();
                }
            };
            let store = match Store::open(&dir) {
                Ok(store) => store,
                Err(e) => {
                    for index in 0..names.len() {
                        send(Loaded::Series {
                            generation,
                            index,
                            result: Err(e.to_string()),
                        });
                    }
                    send(Loaded::Nan {
                        generation,
                        result: Err(e.to_string()),
                    });
                    return;
                }
            };
            for (index, (name, axis)) in names.iter().enumerate() {
                let result =
                    LoadedSeries::load(&store, &id, name, *axis).map_err(|e| e.to_string());
                send(Loaded::Series {
                    generation,
                    index,
                    result,
                });
            }
            let result = first_nonfinite(&store, &id).map_err(|e| e.to_string());
            send(Loaded::Nan { generation, result });
        });
    }

    /// Takes what arrived into `run`; true when anything did.
    fn receive(&mut self, run: Option<&mut RunState>) -> bool {
        let mut got = false;
        let mut run = run;
        while let Ok(msg) = self.receiver.try_recv() {
            self.pending = self.pending.saturating_sub(1);
            got = true;
            let Some(run) = run.as_deref_mut() else {
                continue;
            };
            match msg {
                Loaded::Series {
                    generation,
                    index,
                    result,
                } if generation == run.generation => {
                    if let Some(slot) = run.series.get_mut(index) {
                        match result {
                            Ok(s) => slot.loaded = Some(s),
                            Err(e) => slot.failed = Some(e),
                        }
                    }
                }
                Loaded::Nan { generation, result } if generation == run.generation => {
                    run.nan = Some(result);
                }
                _ => {}
            }
        }
        got
    }

    /// Blocks until everything started has arrived (tests and benches).
    fn wait(&mut self, mut run: Option<&mut RunState>) {
        while self.pending > 0 {
            match self.receiver.recv() {
                Ok(msg) => {
                    // Put it back through `receive`'s path.
                    let _ = self.sender.send(msg);
                    self.receive(run.as_deref_mut());
                }
                Err(_) => break,
            }
        }
    }
}

/// Everything the window shows, and the store it comes from.
pub struct ViewerState {
    pub store_dir: PathBuf,
    pub store: Option<Store>,
    pub runs: Vec<RunSummary>,
    pub run: Option<RunState>,
    /// The last problem reading the store, shown in the window.
    pub error: Option<String>,
    pub loader: Loader,
    /// Variables read at recent cursors, by seq (scrubbing back is instant).
    cursor_cache: HashMap<i64, AtCursor>,
    next_generation: u64,
}

impl ViewerState {
    /// Opens the store (if it exists yet) and the run named `run` (default:
    /// the newest).
    pub fn open(
        store_dir: &Path,
        run: Option<&str>,
        repaint: Option<eframe::egui::Context>,
    ) -> ViewerState {
        let mut state = ViewerState {
            store_dir: store_dir.to_path_buf(),
            store: None,
            runs: Vec::new(),
            run: None,
            error: None,
            loader: Loader::new(repaint),
            cursor_cache: HashMap::new(),
            next_generation: 1,
        };
        state.refresh_runs();
        let wanted = run
            .map(str::to_string)
            .or_else(|| state.runs.last().map(|r| r.id.clone()));
        if let Some(wanted) = wanted {
            state.select_run(&wanted);
        }
        state
    }

    /// Re-reads the list of runs (opening the store if it appeared).
    pub fn refresh_runs(&mut self) {
        if self.store.is_none() {
            match Store::open(&self.store_dir) {
                Ok(store) => self.store = Some(store),
                Err(e) => {
                    self.error = Some(format!(
                        "{e} (the window follows the store and shows it once `snapline run` writes it)"
                    ));
                    return;
                }
            }
        }
        let Some(store) = &self.store else { return };
        match list_runs(store) {
            Ok(runs) => {
                self.runs = runs;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Opens a run (an id prefix or `last`): its snapshots at once, the
    /// cursor on the last one; its series and NaN report on the loader.
    pub fn select_run(&mut self, name: &str) {
        let Some(store) = &self.store else { return };
        match read_run(store, name, self.next_generation) {
            Ok(mut run) => {
                self.next_generation += 1;
                run.cursor = run.rows.len().saturating_sub(1);
                self.cursor_cache.clear();
                self.loader.start(&self.store_dir, &run);
                self.run = Some(run);
                self.error = None;
                self.update_cursor();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Re-reads the open run after the store changed (a live run): new
    /// snapshots appear, the cursor stays where it was unless it was on the
    /// last one, which it keeps following.
    pub fn refresh_run(&mut self) {
        let Some(store) = &self.store else { return };
        let Some(old) = &self.run else { return };
        let at_end = old.cursor + 1 >= old.rows.len();
        let seq = old.cursor_row().map(|r| r.seq);
        let id = old.summary.id.clone();
        let unchanged = old.rows.len();
        match read_run(store, &id, self.next_generation) {
            Ok(mut run) => {
                if run.rows.len() == unchanged && run.summary.status == old.summary.status {
                    return;
                }
                self.next_generation += 1;
                match (at_end, seq) {
                    (false, Some(seq)) => run.seek_seq(seq),
                    _ => run.cursor = run.rows.len().saturating_sub(1),
                }
                self.loader.start(&self.store_dir, &run);
                self.run = Some(run);
                self.update_cursor();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Reads what is at the cursor (variables, what changed), from the cache
    /// when it was read before.
    pub fn update_cursor(&mut self) {
        let Some(run) = &mut self.run else { return };
        let Some(snap) = run.cursor_ref() else {
            run.at_cursor = None;
            return;
        };
        if run.at_cursor.as_ref().is_some_and(|c| c.seq == snap.seq) {
            return;
        }
        if let Some(old) = run.at_cursor.take() {
            self.cursor_cache.insert(old.seq, old);
            if self.cursor_cache.len() > 64 {
                self.cursor_cache.clear();
            }
        }
        if let Some(cached) = self.cursor_cache.remove(&snap.seq) {
            run.at_cursor = Some(cached);
            return;
        }
        let Some(store) = &self.store else { return };
        let read = show_snapshot(store, &snap, false).and_then(|objects| {
            let changed = changed_paths(store, &snap.run, snap.seq)?;
            Ok(AtCursor {
                seq: snap.seq,
                objects,
                changed: changed.into_iter().collect(),
            })
        });
        match read {
            Ok(at) => run.at_cursor = Some(at),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Moves the cursor by `delta` snapshots (clamped); true when it moved.
    pub fn step_cursor(&mut self, delta: i64) -> bool {
        let Some(run) = &mut self.run else {
            return false;
        };
        let last = run.rows.len().saturating_sub(1) as i64;
        let to = (run.cursor as i64 + delta).clamp(0, last) as usize;
        if to == run.cursor {
            return false;
        }
        run.cursor = to;
        self.update_cursor();
        true
    }

    /// Moves the cursor to snapshot index `index` (clamped).
    pub fn set_cursor(&mut self, index: usize) {
        if let Some(run) = &self.run {
            let delta = index as i64 - run.cursor as i64;
            self.step_cursor(delta);
        }
    }

    /// Moves the cursor to the snapshot `seq` (or the nearest after it).
    pub fn seek_seq(&mut self, seq: i64) {
        if let Some(run) = &mut self.run {
            run.seek_seq(seq);
        }
        self.update_cursor();
    }

    /// Takes what the loader finished; true when anything arrived.
    pub fn receive_loaded(&mut self) -> bool {
        self.loader.receive(self.run.as_mut())
    }

    /// Waits for the loader (tests and benches: every chart drawn).
    pub fn wait_for_loads(&mut self) {
        self.loader.wait(self.run.as_mut());
    }
}

/// The run's summary, snapshot rows and series list.
fn read_run(store: &Store, name: &str, generation: u64) -> Result<RunState, QueryError> {
    let summary = run_summary(store, name)?;
    let (_, rows) = run_log(store, &summary.id)?;
    let series = list_series(store, &summary.id)?
        .into_iter()
        .map(|info| SeriesSlot {
            info,
            loaded: None,
            failed: None,
        })
        .collect();
    Ok(RunState {
        summary,
        rows,
        cursor: 0,
        series,
        nan: None,
        at_cursor: None,
        generation,
    })
}
