//! Bundles that lie: each is refused with a message naming the damaged
//! part, and the store it was imported into is left byte for byte as it was.
//! Also the stable twin of the fuzz targets: a seeded mutation loop over a
//! valid bundle through `verify_bytes` and `parse_catalog`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod mutation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use snapline_bundle::{
    export_bundle, footer, import_bundle, parse_catalog, part_hash, verify_bytes, BundleError,
    ChunkPart, Manifest, NoProgress, PartRef, Scope, HEADER,
};
use snapline_store::{
    chunk_hash, compress, EntryRow, MetricPoint, NewChunk, ObjectRecord, RunInfo, SnapshotCommit,
    SnapshotMeta, Store, TransferRows, Trigger, INLINE_LIMIT,
};

// ---------------------------------------------------------------- fixtures

use mutation::Rng;

fn put_chunk(store: &Store, raw: &[u8], out: &mut Vec<NewChunk>) -> String {
    let hash = chunk_hash(raw);
    let frame = compress(raw).unwrap();
    let inline = if raw.len() <= INLINE_LIMIT {
        Some(frame.clone())
    } else {
        let dir = store.write_chunk_file(&hash, &frame).unwrap();
        store
            .sync_chunk_dirs(&std::iter::once(dir).collect())
            .unwrap();
        None
    };
    out.push(NewChunk {
        hash: hash.clone(),
        size: raw.len() as u64,
        stored: frame.len() as u64,
        inline,
    });
    hash
}

fn record(value: serde_json::Value) -> (String, ObjectRecord) {
    let rec: ObjectRecord = serde_json::from_value(value).unwrap();
    let text = serde_json::to_string(&rec).unwrap();
    (chunk_hash(text.as_bytes()), rec)
}

/// A store with one run of three snapshots: an array of two file chunks
/// that changes at each, a small inline array, a pickle with an
/// out-of-band buffer, a container holding them, metrics and an event.
fn source_store(dir: &Path, seed: u64) -> (Store, String) {
    let mut rng = Rng::new(seed);
    let mut store = Store::create(dir).unwrap();
    let script = rng.bytes(300);
    let mut chunks = Vec::new();
    let script_hash = put_chunk(&store, &script, &mut chunks);
    let run = store
        .begin_run(&RunInfo {
            script: "train.py".into(),
            started_at: 1000.0 + seed as f64,
            lineage: json!({"script_hash": script_hash, "host": "lab", "pid": 42}),
            parent_run: None,
            parent_seq: None,
        })
        .unwrap();
    for seq in 0..3 {
        let mut new_chunks = std::mem::take(&mut chunks);
        let big: Vec<String> = (0..2)
            .map(|_| put_chunk(&store, &rng.bytes(200 * 1024), &mut new_chunks))
            .collect();
        let small = put_chunk(&store, &rng.bytes(1000), &mut new_chunks);
        let buffer = put_chunk(&store, &rng.bytes(100 * 1024), &mut new_chunks);
        let pickled = put_chunk(&store, &rng.bytes(64), &mut new_chunks);
        let (wh, w) = record(
            json!({"kind": "array", "type": "numpy.ndarray", "shape": [102400],
            "dtype": "float32", "restorable": true, "chunks": big, "nbytes": 409600}),
        );
        let (sh, s) = record(
            json!({"kind": "array", "type": "numpy.ndarray", "shape": [250],
            "dtype": "float32", "restorable": true, "chunks": [small], "nbytes": 1000}),
        );
        let (ph, p) = record(
            json!({"kind": "pickle", "type": "foo.Bar", "restorable": true,
            "chunks": [pickled], "extra": {"buffers": [[buffer]]}}),
        );
        let (ch, c) = record(
            json!({"kind": "container", "type": "dict", "restorable": true,
            "children": [{"key": "w", "hash": wh}, {"key": "p", "hash": ph}]}),
        );
        store
            .commit_snapshot(&SnapshotCommit {
                run_id: run.clone(),
                meta: SnapshotMeta {
                    seq,
                    trigger: Trigger::Iteration,
                    file: Some("train.py".into()),
                    line: Some(7),
                    loops: vec![seq],
                    label: None,
                    time: 1001.0 + seq as f64,
                    capture_ms: 1.0,
                    bytes_new: 1,
                    bytes_reused: 0,
                    objects: 4,
                    nonfinite: 0,
                    position: None,
                },
                chunks: new_chunks,
                objects: vec![
                    (wh.clone(), w),
                    (sh.clone(), s),
                    (ph.clone(), p),
                    (ch.clone(), c),
                ],
                entries: vec![
                    EntryRow {
                        path: "state".into(),
                        node: 1,
                        hash: ch,
                    },
                    EntryRow {
                        path: "state[\"w\"]".into(),
                        node: 2,
                        hash: wh,
                    },
                    EntryRow {
                        path: "state[\"p\"]".into(),
                        node: 3,
                        hash: ph,
                    },
                    EntryRow {
                        path: "small".into(),
                        node: 4,
                        hash: sh,
                    },
                ],
                metrics: vec![MetricPoint {
                    name: "loss".into(),
                    step: seq as f64,
                    value: if seq == 2 {
                        f64::NAN
                    } else {
                        1.0 / (seq + 1) as f64
                    },
                    time: 1001.0 + seq as f64,
                    seq: Some(seq),
                    epoch: Some(seq),
                }],
            })
            .unwrap();
    }
    store
        .add_event(
            &run,
            &snapline_store::Event {
                time: 1002.5,
                seq: Some(1),
                kind: "nonfinite".into(),
                detail: json!({"message": "x"}),
            },
        )
        .unwrap();
    (store, run)
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    bundle: PathBuf,
    bytes: Vec<u8>,
}

fn fixture(seed: u64) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let (store, run) = source_store(&root.join("src"), seed);
    let bundle = root.join("run.snapline");
    export_bundle(&store, &run, Scope::Run, &bundle, &NoProgress).unwrap();
    let bytes = std::fs::read(&bundle).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        bundle,
        bytes,
    }
}

/// Every file under `dir` (except SQLite's -wal/-shm companions) with a hash
/// of its bytes, plus the catalog's row counts.
fn snapshot_of(dir: &Path) -> (BTreeMap<String, String>, BTreeMap<String, i64>) {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for e in read.flatten() {
            let p = e.path();
            let name = p.strip_prefix(base).unwrap().display().to_string();
            if name.ends_with("-wal") || name.ends_with("-shm") {
                continue;
            }
            if p.is_dir() {
                out.insert(name + "/", String::new());
                walk(&p, base, out);
            } else {
                out.insert(name, part_hash(&std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    let counts = Store::open(dir)
        .map(|s| s.row_counts().unwrap())
        .unwrap_or_default();
    (files, counts)
}

/// A destination store that already holds another run.
fn destination(root: &Path) -> PathBuf {
    let dst = root.join("dst");
    let (other, _) = source_store(&dst, 99);
    drop(other);
    dst
}

/// Imports `bytes` as a bundle file into `dst`, expecting a refusal whose
/// message names `part`; the store must be unchanged.
fn refused(root: &Path, dst: &Path, bytes: &[u8], part: &str) -> String {
    let before = snapshot_of(dst);
    let file = root.join("hostile.snapline");
    std::fs::write(&file, bytes).unwrap();
    let err = import_bundle(dst, &file, &NoProgress)
        .err()
        .unwrap_or_else(|| panic!("a bundle damaged in {part} was imported"));
    let message = err.to_string();
    assert!(
        message.contains(part),
        "the message does not name {part:?}: {message}"
    );
    assert_eq!(
        snapshot_of(dst),
        before,
        "the store changed after refusing: {message}"
    );
    message
}

/// The pieces of a bundle, to be put back together with fresh offsets and
/// hashes after one deliberate defect.
struct Pieces {
    manifest: Manifest,
    frames: Vec<Vec<u8>>,
    rows: TransferRows,
}

fn pieces(bytes: &[u8]) -> Pieces {
    let n = bytes.len();
    let moff = u64::from_le_bytes(bytes[n - 40..n - 32].try_into().unwrap()) as usize;
    let mlen = u64::from_le_bytes(bytes[n - 32..n - 24].try_into().unwrap()) as usize;
    let manifest: Manifest = serde_json::from_slice(&bytes[moff..moff + mlen]).unwrap();
    let frames = manifest
        .chunks
        .iter()
        .map(|c| bytes[c.part.offset as usize..(c.part.offset + c.part.length) as usize].to_vec())
        .collect();
    let c = &manifest.catalog;
    let rows = parse_catalog(&bytes[c.offset as usize..(c.offset + c.length) as usize]).unwrap();
    Pieces {
        manifest,
        frames,
        rows,
    }
}

fn assemble_raw(mut manifest: Manifest, frames: &[Vec<u8>], catalog: &[u8]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    for (c, frame) in manifest.chunks.iter_mut().zip(frames) {
        c.part = PartRef {
            offset: out.len() as u64,
            length: frame.len() as u64,
            hash: part_hash(frame),
        };
        out.extend_from_slice(frame);
    }
    manifest.catalog = PartRef {
        offset: out.len() as u64,
        length: catalog.len() as u64,
        hash: part_hash(catalog),
    };
    out.extend_from_slice(catalog);
    let m = serde_json::to_vec(&manifest).unwrap();
    let moff = out.len() as u64;
    out.extend_from_slice(&m);
    out.extend_from_slice(&footer(moff, &m));
    out
}

fn assemble(p: &Pieces) -> Vec<u8> {
    assemble_raw(
        p.manifest.clone(),
        &p.frames,
        &serde_json::to_vec(&p.rows).unwrap(),
    )
}

fn file_chunk(p: &Pieces) -> usize {
    p.manifest
        .chunks
        .iter()
        .position(|c| c.size > INLINE_LIMIT as u64)
        .unwrap()
}

// ------------------------------------------------------------------- tests

#[test]
fn a_valid_bundle_round_trips_and_a_second_import_is_a_no_op() {
    let f = fixture(1);
    let dst = destination(&f.root);
    let done = import_bundle(&dst, &f.bundle, &NoProgress).unwrap();
    assert_eq!(done.outcome, "imported");
    assert_eq!(done.seqs, vec![0, 1, 2]);
    let src = Store::open(f.root.join("src")).unwrap();
    let run = src.runs().unwrap()[0].id.clone();
    let here = Store::open(&dst).unwrap();
    let a = src.export_rows(&run, None).unwrap();
    let b = here.export_rows(&run, None).unwrap();
    assert_eq!(a.snapshots.len(), b.snapshots.len());
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.objects, b.objects);
    assert_eq!(a.chunks, b.chunks);
    assert_eq!(a.metrics.len(), b.metrics.len());
    assert!(b.metrics[2].value.is_nan());
    assert_eq!(a.events, b.events);
    for c in &a.chunks {
        assert_eq!(
            src.read_chunk(&c.hash).unwrap(),
            here.read_chunk(&c.hash).unwrap()
        );
    }
    let origin = here.run(&run).unwrap().origin.unwrap();
    assert_eq!(origin["bundle"], "run.snapline");
    drop(here);
    let before = snapshot_of(&dst);
    let again = import_bundle(&dst, &f.bundle, &NoProgress).unwrap();
    assert_eq!(again.outcome, "already imported");
    assert_eq!(snapshot_of(&dst), before);
}

#[test]
fn a_snapshot_bundle_then_the_whole_run_adds_the_other_snapshots() {
    let f = fixture(2);
    let src = Store::open(f.root.join("src")).unwrap();
    let run = src.runs().unwrap()[0].id.clone();
    let one = f.root.join("one.snapline");
    export_bundle(&src, &run, Scope::Snapshot(1), &one, &NoProgress).unwrap();
    let dst = f.root.join("fresh");
    let done = import_bundle(&dst, &one, &NoProgress).unwrap();
    assert_eq!(
        (done.outcome.as_str(), done.seqs.clone()),
        ("imported", vec![1])
    );
    let done = import_bundle(&dst, &f.bundle, &NoProgress).unwrap();
    assert_eq!(done.outcome, "added snapshots");
    assert_eq!(done.seqs, vec![0, 2]);
    let counts = Store::open(&dst).unwrap().row_counts().unwrap();
    assert_eq!(counts["snapshots"], 3);
    assert_eq!(counts["metrics"], 3, "metric points are not doubled");
}

#[test]
fn chunk_names_that_are_paths_are_refused() {
    let f = fixture(3);
    let dst = destination(&f.root);
    for name in [
        "../../etc/x",
        "/abs",
        "../../../../tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let mut p = pieces(&f.bytes);
        let i = file_chunk(&p);
        let old = p.manifest.chunks[i].chunk.clone();
        p.manifest.chunks[i].chunk = name.into();
        for c in p.rows.chunks.iter_mut().filter(|c| c.hash == old) {
            c.hash = name.into();
        }
        let msg = refused(&f.root, &dst, &assemble(&p), &format!("chunk {name}"));
        assert!(msg.contains("not a chunk name"), "{msg}");
    }
    assert!(!f.root.join("etc").exists());
}

#[test]
fn a_chunk_whose_content_does_not_match_its_name_is_refused() {
    let f = fixture(4);
    let dst = destination(&f.root);
    let mut p = pieces(&f.bytes);
    let i = file_chunk(&p);
    let size = p.manifest.chunks[i].size as usize;
    p.frames[i] = compress(&vec![7u8; size]).unwrap();
    let name = p.manifest.chunks[i].chunk.clone();
    for c in p.rows.chunks.iter_mut().filter(|c| c.hash == name) {
        c.stored = p.frames[i].len() as u64;
    }
    let msg = refused(&f.root, &dst, &assemble(&p), &format!("chunk {name}"));
    assert!(msg.contains("hashes to"), "{msg}");
}

#[test]
fn a_huge_declared_size_is_refused_before_any_allocation() {
    let f = fixture(5);
    let dst = destination(&f.root);
    let mut p = pieces(&f.bytes);
    let i = file_chunk(&p);
    let name = p.manifest.chunks[i].chunk.clone();
    p.manifest.chunks[i].size = 1 << 50;
    for c in p.rows.chunks.iter_mut().filter(|c| c.hash == name) {
        c.size = 1 << 50;
    }
    let msg = refused(&f.root, &dst, &assemble(&p), &format!("chunk {name}"));
    assert!(msg.contains("declares"), "{msg}");
}

#[test]
fn a_zip_bomb_chunk_is_refused() {
    let f = fixture(6);
    let dst = destination(&f.root);
    let mut p = pieces(&f.bytes);
    let i = file_chunk(&p);
    let name = p.manifest.chunks[i].chunk.clone();
    // 48 MiB of zeros in a few KiB, declared as the chunk's 200 KiB.
    let bomb = zstd::bulk::compress(&vec![0u8; 48 << 20], 19).unwrap();
    assert!(bomb.len() < 64 * 1024);
    p.frames[i] = bomb;
    for c in p.rows.chunks.iter_mut().filter(|c| c.hash == name) {
        c.stored = p.frames[i].len() as u64;
    }
    let msg = refused(&f.root, &dst, &assemble(&p), &format!("chunk {name}"));
    assert!(msg.contains("does not decompress within"), "{msg}");
    // The same without a content size in the frame header (streamed).
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 19).unwrap();
    enc.include_contentsize(false).unwrap();
    std::io::Write::write_all(&mut enc, &vec![0u8; 48 << 20]).unwrap();
    p.frames[i] = enc.finish().unwrap();
    for c in p.rows.chunks.iter_mut().filter(|c| c.hash == name) {
        c.stored = p.frames[i].len() as u64;
    }
    refused(&f.root, &dst, &assemble(&p), &format!("chunk {name}"));
}

#[test]
fn truncation_at_every_part_boundary_and_mid_part_is_refused() {
    let f = fixture(7);
    let dst = destination(&f.root);
    let p = pieces(&f.bytes);
    let n = f.bytes.len();
    let mut cuts = vec![0, 1, 15, 16, n - 1, n - 24, n - 48, n - 49];
    for c in &p.manifest.chunks {
        cuts.push(c.part.offset as usize);
        cuts.push((c.part.offset + c.part.length / 2) as usize);
    }
    let c = &p.manifest.catalog;
    cuts.push(c.offset as usize);
    cuts.push((c.offset + c.length / 2) as usize);
    cuts.push((c.offset + c.length) as usize);
    for cut in cuts {
        let msg = refused(&f.root, &dst, &f.bytes[..cut], "");
        assert!(
            msg.contains("footer") || msg.contains("not a Snapline bundle"),
            "cut at {cut}: {msg}"
        );
    }
    // Cut mid-part, with a footer and manifest patched to match the shorter
    // file: the layout no longer tiles, and the part is named.
    let mut q = pieces(&f.bytes);
    let i = file_chunk(&q);
    let name = q.manifest.chunks[i].chunk.clone();
    let half = q.frames[i].len() / 2;
    q.frames[i].truncate(half);
    let mut bytes = assemble(&q);
    // Put the old (longer) length back in the manifest, keeping it hashed.
    let mut m = q.manifest.clone();
    let pq = pieces_unchecked(&bytes);
    m.chunks = pq.chunks.clone();
    m.chunks[i].part.length = (half * 2) as u64;
    m.catalog = pq.catalog.clone();
    bytes = reframe(&bytes, &m);
    refused(&f.root, &dst, &bytes, &format!("chunk {name}"));
}

fn pieces_unchecked(bytes: &[u8]) -> Manifest {
    let n = bytes.len();
    let moff = u64::from_le_bytes(bytes[n - 40..n - 32].try_into().unwrap()) as usize;
    let mlen = u64::from_le_bytes(bytes[n - 32..n - 24].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[moff..moff + mlen]).unwrap()
}

/// Replaces the manifest (and footer) of `bytes` by `m`.
fn reframe(bytes: &[u8], m: &Manifest) -> Vec<u8> {
    let n = bytes.len();
    let moff = u64::from_le_bytes(bytes[n - 40..n - 32].try_into().unwrap()) as usize;
    let mut out = bytes[..moff].to_vec();
    let mb = serde_json::to_vec(m).unwrap();
    out.extend_from_slice(&mb);
    out.extend_from_slice(&footer(moff as u64, &mb));
    out
}

#[test]
fn a_part_hash_mismatch_names_the_part() {
    let f = fixture(8);
    let dst = destination(&f.root);
    let p = pieces(&f.bytes);
    let i = file_chunk(&p);
    let mut bytes = f.bytes.clone();
    bytes[p.manifest.chunks[i].part.offset as usize + 100] ^= 0x40;
    let msg = refused(
        &f.root,
        &dst,
        &bytes,
        &format!("chunk {}", p.manifest.chunks[i].chunk),
    );
    assert!(msg.contains("manifest's hash"), "{msg}");
    let mut bytes = f.bytes.clone();
    bytes[p.manifest.catalog.offset as usize + 10] ^= 0x01;
    refused(&f.root, &dst, &bytes, "catalog");
    let mut bytes = f.bytes.clone();
    let n = bytes.len();
    bytes[n - 60] ^= 0x01; // inside the manifest
    refused(&f.root, &dst, &bytes, "manifest");
    let mut bytes = f.bytes.clone();
    bytes[n - 30] ^= 0x01; // the footer's manifest length
    refused(&f.root, &dst, &bytes, "footer");
}

#[test]
fn the_same_run_id_with_different_content_is_refused() {
    // Decision: a run id already in the store is the same run only when its
    // script, start time, host and pid match; then identical snapshots are
    // "already imported" and missing ones are added. Anything else is refused.
    let f = fixture(9);
    let dst = destination(&f.root);
    import_bundle(&dst, &f.bundle, &NoProgress).unwrap();
    let mut p = pieces(&f.bytes);
    p.rows.run.started_at += 1.0;
    let msg = refused(&f.root, &dst, &assemble(&p), "different run with id");
    assert!(msg.contains("nothing was imported"), "{msg}");
    let mut p = pieces(&f.bytes);
    p.rows
        .entries
        .retain(|e| !(e.seq == 1 && e.path == "small"));
    let msg = refused(&f.root, &dst, &assemble(&p), "snapshot 1");
    assert!(msg.contains("different content"), "{msg}");
}

#[test]
fn an_object_needing_a_chunk_not_in_the_bundle_is_refused() {
    let f = fixture(10);
    let dst = destination(&f.root);
    let mut p = pieces(&f.bytes);
    let i = file_chunk(&p);
    let name = p.manifest.chunks.remove(i).chunk;
    p.frames.remove(i);
    p.rows.chunks.retain(|c| c.hash != name);
    let msg = refused(&f.root, &dst, &assemble(&p), "catalog");
    assert!(msg.contains(&format!("needs chunk \"{name}\"")), "{msg}");
    // And a pickle buffer (extra.buffers) the same way.
    let p = pieces(&f.bytes);
    let buffer = p
        .rows
        .objects
        .iter()
        .find_map(|o| {
            let r: serde_json::Value = serde_json::from_str(&o.record).ok()?;
            r["extra"]["buffers"][0][0].as_str().map(str::to_owned)
        })
        .unwrap();
    let mut p = pieces(&f.bytes);
    let j = p
        .manifest
        .chunks
        .iter()
        .position(|c| c.chunk == buffer)
        .unwrap();
    p.manifest.chunks.remove(j);
    p.frames.remove(j);
    p.rows.chunks.retain(|c| c.hash != buffer);
    refused(&f.root, &dst, &assemble(&p), "catalog");
}

#[test]
fn a_failure_while_writing_chunk_files_removes_those_written() {
    let f = fixture(11);
    let dst = destination(&f.root);
    let p = pieces(&f.bytes);
    // Block one chunk's directory with a plain file: its write fails, after
    // others were written (in new directories) or not, depending on order.
    // Every victim in turn: the files and directories written go again.
    let mut tried = 0;
    for victim in p
        .manifest
        .chunks
        .iter()
        .filter(|c| c.size > INLINE_LIMIT as u64)
    {
        let blocker = dst.join("chunks").join(&victim.chunk[..2]);
        if blocker.exists() {
            continue; // the destination already has that directory
        }
        std::fs::write(&blocker, b"not a directory").unwrap();
        let before = snapshot_of(&dst);
        let err = import_bundle(&dst, &f.bundle, &NoProgress).unwrap_err();
        assert!(matches!(err, BundleError::Store(_)), "{err}");
        assert_eq!(snapshot_of(&dst), before);
        std::fs::remove_file(&blocker).unwrap();
        tried += 1;
    }
    assert!(tried > 0);
}

#[test]
fn a_record_planted_under_another_objects_hash_is_replaced_by_the_capture() {
    // Imported records are not re-hashed (the agent hashes its own JSON,
    // which the catalog does not keep byte for byte). A bundle can carry a
    // record under the hash of an object a later local capture produces;
    // that capture's record must win, so a local restore never meets the
    // planted one.
    let f = fixture(13);
    let tmp = tempfile::tempdir().unwrap();
    let mut p = pieces(&f.bytes);
    let planted = p
        .rows
        .objects
        .iter_mut()
        .find(|o| o.record.contains("\"pickle\""))
        .unwrap();
    let legit: serde_json::Value = serde_json::from_str(&planted.record).unwrap();
    let mut evil = legit.clone();
    evil["type"] = json!("os.system");
    planted.record = evil.to_string();
    let hash = planted.hash.clone();
    p.rows.run.id = "f00d".into();
    p.manifest.run = "f00d".into();
    let file = f.root.join("planted.snapline");
    std::fs::write(&file, assemble(&p)).unwrap();
    // A store that made the same objects (same seed) before the import
    // keeps its own record.
    let (dst, _) = source_store(&tmp.path().join("dst"), 13);
    import_bundle(dst.dir(), &file, &NoProgress).unwrap();
    assert_eq!(dst.object(&hash).unwrap().type_name, "foo.Bar");
    // Into a store that lacks it, the planted record goes in as carried...
    let mut fresh = Store::create(tmp.path().join("fresh")).unwrap();
    import_bundle(fresh.dir(), &file, &NoProgress).unwrap();
    assert_eq!(fresh.object(&hash).unwrap().type_name, "os.system");
    // ... and the first capture that produces that object replaces it.
    let legit: ObjectRecord = serde_json::from_value(legit).unwrap();
    let capture = fresh
        .begin_run(&RunInfo {
            script: "local.py".into(),
            started_at: 5000.0,
            lineage: json!({"host": "here", "pid": 7}),
            parent_run: None,
            parent_seq: None,
        })
        .unwrap();
    fresh
        .commit_snapshot(&SnapshotCommit {
            run_id: capture,
            meta: SnapshotMeta {
                seq: 0,
                trigger: Trigger::Iteration,
                file: Some("local.py".into()),
                line: Some(1),
                loops: vec![],
                label: None,
                time: 5001.0,
                capture_ms: 1.0,
                bytes_new: 0,
                bytes_reused: 0,
                objects: 1,
                nonfinite: 0,
                position: None,
            },
            chunks: Vec::new(),
            objects: vec![(hash.clone(), legit)],
            entries: vec![EntryRow {
                path: "obj".into(),
                node: 0,
                hash: hash.clone(),
            }],
            metrics: Vec::new(),
        })
        .unwrap();
    assert_eq!(fresh.object(&hash).unwrap().type_name, "foo.Bar");
}

// ------------------------------------------------ imports beside a gc or rm

#[test]
fn chunks_swept_after_the_plan_are_answered_before_anything_is_written() {
    let f = fixture(14);
    let dst = destination(&f.root);
    import_bundle(&dst, &f.bundle, &NoProgress).unwrap();
    // The same chunks under another run id: the store holds them all, so
    // an import would write none and rely on them staying.
    let reader = snapline_bundle::BundleReader::open_file(&f.bundle).unwrap();
    let mut rows = reader.checked_catalog().unwrap();
    rows.run.id = "f00d".into();
    let no_inline = std::collections::HashMap::new();
    let none_written = std::collections::HashSet::new();
    let origin = json!({"host": "lab"});
    let file = rows
        .chunks
        .iter()
        .find(|c| c.size > INLINE_LIMIT as u64)
        .unwrap()
        .hash
        .clone();
    let inline = rows
        .chunks
        .iter()
        .find(|c| c.size <= INLINE_LIMIT as u64)
        .unwrap()
        .hash
        .clone();
    // What a gc committing in between does: a row gone, a file gone.
    let conn = rusqlite::Connection::open(dst.join("catalog.sqlite")).unwrap();
    conn.execute("DELETE FROM chunks WHERE hash = ?1", [&inline])
        .unwrap();
    let path = Store::open(&dst)
        .unwrap()
        .chunk_files()
        .path_of(&file)
        .unwrap();
    let kept = dst.join("kept-frame");
    std::fs::rename(&path, &kept).unwrap();
    let mut store = Store::open(&dst).unwrap();
    let before = store.row_counts().unwrap();
    let outcome = store
        .import_rows(&rows, &origin, &no_inline, &none_written)
        .unwrap();
    let snapline_store::ImportOutcome::ChunksGone(mut gone) = outcome else {
        panic!("imported over swept chunks: {outcome:?}");
    };
    gone.sort();
    let mut want = vec![file.clone(), inline.clone()];
    want.sort();
    assert_eq!(gone, want);
    assert_eq!(store.row_counts().unwrap(), before, "nothing is written");
    // Written again (the file by this import, the inline frame carried):
    // the commit goes through.
    std::fs::rename(&kept, &path).unwrap();
    let frame = reader
        .manifest
        .chunks
        .iter()
        .find(|c| c.chunk == inline)
        .map(|c| reader.frame(c).unwrap())
        .unwrap();
    let carried = std::collections::HashMap::from([(inline.clone(), frame)]);
    let written = std::collections::HashSet::from([file.clone()]);
    let outcome = store
        .import_rows(&rows, &origin, &carried, &written)
        .unwrap();
    assert_eq!(outcome, snapline_store::ImportOutcome::New);
    for c in &rows.chunks {
        store.read_chunk(&c.hash).unwrap();
    }
}

#[test]
fn taking_back_an_import_spares_files_committed_or_replaced_since() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::create(tmp.path()).unwrap();
    let files = store.chunk_files();
    let frame = compress(&[7u8; 4096]).unwrap();
    let names = ["a".repeat(32), "b".repeat(32), "c".repeat(32)];
    let written: Vec<_> = names
        .iter()
        .map(|n| files.write_unsynced(n, &frame).unwrap())
        .collect();
    // "a": another import committed a row naming it. "b": another writer
    // replaced the file since. "c": only this import's.
    let conn = rusqlite::Connection::open(tmp.path().join("catalog.sqlite")).unwrap();
    conn.execute(
        "INSERT INTO chunks (hash, size, stored, inline) VALUES (?1, 4096, ?2, NULL)",
        rusqlite::params![names[0], frame.len() as i64],
    )
    .unwrap();
    files.write_unsynced(&names[1], &frame).unwrap();
    assert_eq!(store.remove_import_leftovers(&written).unwrap(), 1);
    assert!(files.exists(&names[0]).unwrap());
    assert!(files.exists(&names[1]).unwrap());
    assert!(!files.exists(&names[2]).unwrap());
}

// ------------------------------------------------- the fuzz targets, stable

#[test]
fn mutated_bundles_never_panic() {
    let f = fixture(12);
    let p = pieces(&f.bytes);
    let mut rng = Rng::new(0x5eed_5eed);
    let catalog = serde_json::to_vec(&p.rows).unwrap();
    let n = f.bytes.len();
    let mut accepted = 0;
    for iteration in 0..3000 {
        let mut bytes = f.bytes.clone();
        match iteration % 6 {
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(n);
                    bytes[i] ^= 1 << rng.below(8);
                }
            }
            1 => bytes.truncate(rng.below(n)),
            2 => {
                // Corrupt a length or offset field of the footer.
                let at = [8, 16][rng.below(2)];
                let v = rng.next() >> rng.below(64);
                bytes[n - 48 + at..n - 40 + at].copy_from_slice(&v.to_le_bytes());
            }
            3 => {
                // A manifest whose numbers lie, hashed correctly.
                let mut m = p.manifest.clone();
                let i = rng.below(m.chunks.len());
                let v = rng.next() >> rng.below(64);
                match rng.below(4) {
                    0 => m.chunks[i].size = v,
                    1 => m.chunks[i].part.length = v,
                    2 => m.chunks[i].part.offset = v,
                    _ => m.catalog.length = v,
                }
                bytes = reframe(&f.bytes, &m);
            }
            4 => {
                // A catalog part with flipped bytes, re-hashed: past the
                // hashes, into the row checks.
                let mut cat = catalog.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(cat.len());
                    cat[i] = b"{}[]\",:0a-9"[rng.below(11)];
                }
                let _ = parse_catalog(&cat);
                bytes = assemble_raw(p.manifest.clone(), &p.frames, &cat);
            }
            _ => {
                // A chunk frame with flipped bytes, re-hashed: into zstd.
                let mut frames = p.frames.clone();
                let i = rng.below(frames.len());
                let j = rng.below(frames[i].len());
                frames[i][j] ^= 1 << rng.below(8);
                bytes = assemble_raw(p.manifest.clone(), &frames, &catalog);
            }
        }
        if verify_bytes(&bytes).is_ok() {
            accepted += 1;
        }
    }
    // Only mutations that change nothing the format cares about pass (a
    // catalog byte swapped for an equivalent one, say); most must not.
    assert!(accepted < 300, "{accepted} mutated bundles verified");
    assert!(verify_bytes(&f.bytes).is_ok());
}

#[test]
fn chunk_part_names_stay_in_messages_only() {
    // A name with control characters is shown escaped.
    let m = ChunkPart {
        chunk: "a\nb".into(),
        size: 1,
        part: PartRef {
            offset: 16,
            length: 1,
            hash: "0".repeat(32),
        },
    };
    let mut p = pieces(&fixture(13).bytes);
    p.manifest.chunks.push(m);
    p.frames.push(vec![0]);
    let err = verify_bytes(&assemble(&p)).err().unwrap().to_string();
    assert!(err.contains("chunk a\\nb"), "{err}");
}
