//! Synthetic runs written straight through the store's API, for the
//! criterion benches and the query tests: arrays chunked, hashed, stat'ed
//! and compressed as the capture agent does, without Python.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench and test fixtures

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use snapline_array_scan::{scan, DType, CHUNK_SIZE};
use snapline_store::{
    chunk_hash, compress, EntryRow, MetricPoint, NewChunk, ObjectKind, ObjectRecord, RunInfo,
    SnapshotCommit, SnapshotMeta, Store, StoreResult, Trigger, INLINE_LIMIT,
};

/// An object to put at a path.
pub enum Object {
    /// A float32 numpy array.
    F32 { shape: Vec<i64>, data: Vec<f32> },
    /// A Python float (NaN and infinities tagged as the agent writes them).
    Scalar(f64),
    /// An instance of a class, marked with its owner as the agent does
    /// (`extra.owner`: "user" or "library"); what it holds sits at paths
    /// below its own.
    Instance {
        type_name: String,
        owner: Option<String>,
    },
}

/// A run being written into a store.
pub struct SyntheticRun {
    pub store: Store,
    pub run: String,
    next_seq: i64,
}

impl SyntheticRun {
    /// Creates the store at `dir` (if needed) and begins a run.
    pub fn create(dir: &Path, script: &str) -> StoreResult<SyntheticRun> {
        let mut store = Store::create(dir)?;
        let run = store.begin_run(&RunInfo {
            script: script.into(),
            started_at: 1_700_000_000.0,
            lineage: serde_json::json!({"argv": [script]}),
            parent_run: None,
            parent_seq: None,
        })?;
        Ok(SyntheticRun {
            store,
            run,
            next_seq: 1,
        })
    }

    /// Commits one snapshot holding `objects` (each at its own path, one node
    /// each unless two entries name the same object) and metric points.
    /// Returns its seq.
    pub fn snapshot(
        &mut self,
        objects: &[(&str, &Object)],
        metrics: &[(&str, f64)],
    ) -> StoreResult<i64> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut chunks = Vec::new();
        let mut records = Vec::new();
        let mut entries = Vec::new();
        let mut dirs = BTreeSet::new();
        let mut nonfinite = 0i64;
        let mut bytes_new = 0i64;
        for (node, (path, object)) in objects.iter().enumerate() {
            let record = match object {
                Object::F32 { shape, data } => {
                    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_ne_bytes()).collect();
                    let scanned = scan(&bytes, DType::F32, None, 2);
                    let before = chunks.len();
                    let hashes = stage_chunks(&self.store, &bytes, &mut chunks, &mut dirs)?;
                    bytes_new += chunks[before..]
                        .iter()
                        .map(|c| c.stored as i64)
                        .sum::<i64>();
                    let stats = scanned.stats;
                    nonfinite += (stats.nan + stats.posinf + stats.neginf) as i64;
                    let mut extra = serde_json::Map::new();
                    extra.insert("framework".into(), "numpy".into());
                    extra.insert("order".into(), "C".into());
                    ObjectRecord {
                        kind: ObjectKind::Array,
                        type_name: "numpy.ndarray".into(),
                        shape: Some(shape.clone()),
                        dtype: Some("float32".into()),
                        stats: Some(stats),
                        preview: String::new(),
                        restorable: true,
                        reason: None,
                        value: None,
                        chunks: hashes,
                        nbytes: bytes.len() as u64,
                        children: Vec::new(),
                        extra,
                    }
                }
                Object::Scalar(x) => ObjectRecord {
                    kind: ObjectKind::Value,
                    type_name: "float".into(),
                    shape: None,
                    dtype: None,
                    stats: Some(snapline_store::Stats::of_scalar(*x)),
                    preview: x.to_string(),
                    restorable: true,
                    reason: None,
                    value: Some(tagged(*x)),
                    chunks: Vec::new(),
                    nbytes: 0,
                    children: Vec::new(),
                    extra: serde_json::Map::new(),
                },
                Object::Instance { type_name, owner } => {
                    let mut extra = serde_json::Map::new();
                    if let Some(owner) = owner {
                        extra.insert("owner".into(), owner.clone().into());
                    }
                    ObjectRecord {
                        kind: ObjectKind::Pickle,
                        type_name: type_name.clone(),
                        shape: None,
                        dtype: None,
                        stats: None,
                        preview: type_name.clone(),
                        restorable: true,
                        reason: None,
                        value: None,
                        chunks: Vec::new(),
                        nbytes: 0,
                        children: Vec::new(),
                        extra,
                    }
                }
            };
            let hash = chunk_hash(serde_json::to_string(&record).unwrap().as_bytes());
            entries.push(EntryRow {
                path: (*path).to_owned(),
                node: node as i64,
                hash: hash.clone(),
            });
            records.push((hash, record));
        }
        self.store.sync_chunk_dirs(&dirs)?;
        let time = 1_700_000_000.0 + seq as f64;
        let commit = SnapshotCommit {
            run_id: self.run.clone(),
            meta: SnapshotMeta {
                seq,
                trigger: Trigger::Iteration,
                file: Some("train.py".into()),
                line: Some(10),
                loops: vec![seq - 1],
                label: None,
                time,
                capture_ms: 1.0,
                bytes_new,
                bytes_reused: 0,
                objects: records.len() as i64,
                nonfinite,
                position: None,
            },
            chunks,
            objects: records,
            entries,
            metrics: metrics
                .iter()
                .map(|(name, value)| MetricPoint {
                    name: (*name).to_owned(),
                    step: seq as f64,
                    value: *value,
                    time,
                    seq: Some(seq),
                    epoch: Some(seq - 1),
                })
                .collect(),
        };
        self.store.commit_snapshot(&commit)?;
        Ok(seq)
    }
}

fn tagged(x: f64) -> serde_json::Value {
    if x.is_nan() {
        serde_json::json!({"$float": "nan"})
    } else if x.is_infinite() {
        serde_json::json!({"$float": if x > 0.0 { "inf" } else { "-inf" }})
    } else {
        serde_json::json!(x)
    }
}

/// Stages the 1 MiB chunks of `bytes` for a commit the way the agent does:
/// each chunk not yet in the store (nor in `pending`) is compressed and kept
/// inline when small, else written to its file (its directory added to
/// `dirs` for `sync_chunk_dirs`). Returns the chunk hashes in order.
pub fn stage_chunks(
    store: &Store,
    bytes: &[u8],
    pending: &mut Vec<NewChunk>,
    dirs: &mut BTreeSet<PathBuf>,
) -> StoreResult<Vec<String>> {
    let mut hashes = Vec::new();
    for raw in bytes.chunks(CHUNK_SIZE) {
        let hash = chunk_hash(raw);
        if !store.has_chunk(&hash)? && !pending.iter().any(|n| n.hash == hash) {
            let frame = compress(raw)?;
            let inline = if frame.len() <= INLINE_LIMIT {
                Some(frame.clone())
            } else {
                dirs.insert(store.write_chunk_file(&hash, &frame)?);
                None
            };
            pending.push(NewChunk {
                hash: hash.clone(),
                size: raw.len() as u64,
                stored: frame.len() as u64,
                inline,
            });
        }
        hashes.push(hash);
    }
    Ok(hashes)
}

/// `n` pseudo-random floats in [-1, 1) from `seed` (xorshift; no dependency).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect()
}

/// The long run of the app and viewer benches (issues #6 and #17), built
/// once at `dir` and reused while it holds `snapshots` snapshots: three
/// 16x16 layers that change every step, a bias that changes every hundred,
/// a step counter, and `points_per_snapshot` loss points per snapshot.
pub fn long_run(dir: &Path, snapshots: i64, points_per_snapshot: usize) -> (Store, String) {
    if let Ok(store) = Store::open(dir) {
        if let Ok(run) = store.resolve_run("last") {
            if store.seq_range(&run).ok().flatten() == Some((1, snapshots)) {
                return (store, run);
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    eprintln!(
        "building a run of {snapshots} snapshots and {} points in {} (once)",
        snapshots as usize * points_per_snapshot,
        dir.display()
    );
    let mut run = SyntheticRun::create(dir, "bench.py").expect("store");
    for seq in 1..=snapshots {
        let layers: Vec<Object> = (0..3)
            .map(|i| Object::F32 {
                shape: vec![16, 16],
                data: noise(256, (seq * 4 + i) as u64),
            })
            .collect();
        let bias = Object::F32 {
            shape: vec![16],
            data: noise(16, (seq / 100) as u64),
        };
        let step = Object::Scalar(seq as f64);
        let points: Vec<(&str, f64)> = (0..points_per_snapshot)
            .map(|k| {
                let x = (seq as usize * points_per_snapshot + k) as f64;
                ("loss", 2.0 / (1.0 + x / 100_000.0))
            })
            .collect();
        run.snapshot(
            &[
                ("model.fc0.weight", &layers[0]),
                ("model.fc1.weight", &layers[1]),
                ("model.fc2.weight", &layers[2]),
                ("model.fc2.bias", &bias),
                ("step", &step),
            ],
            &points,
        )
        .expect("snapshot");
    }
    let id = run.run.clone();
    (run.store, id)
}
