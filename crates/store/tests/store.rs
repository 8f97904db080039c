//! The store's contract: atomic snapshots, verified chunks, clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod fixtures;

use std::collections::BTreeSet;

use fixtures::meta;
use snapline_store::{
    chunk_hash, compress, EntryRow, MetricPoint, NewChunk, ObjectKind, ObjectRecord, RunInfo,
    RunStatus, SnapshotCommit, Store, StoreError, SCHEMA_VERSION,
};

fn info() -> RunInfo {
    RunInfo {
        script: "train.py".into(),
        started_at: 1_700_000_000.0,
        lineage: serde_json::json!({"argv": ["train.py"]}),
        parent_run: None,
        parent_seq: None,
    }
}

fn array_record(chunks: Vec<String>, nbytes: u64) -> ObjectRecord {
    fixtures::record(
        ObjectKind::Array,
        "numpy.ndarray",
        nbytes as i64 / 4,
        Some("float32"),
        chunks,
        nbytes,
    )
}

/// Writes `raw` as a file chunk (or inline when small) and commits a
/// snapshot whose single object `w` holds it.
fn commit_with_chunk(store: &mut Store, run: &str, seq: i64, raw: &[u8]) -> String {
    let hash = chunk_hash(raw);
    let frame = compress(raw).unwrap();
    let mut dirs = BTreeSet::new();
    let inline = if raw.len() <= snapline_store::INLINE_LIMIT {
        Some(frame.clone())
    } else {
        dirs.insert(store.write_chunk_file(&hash, &frame).unwrap());
        None
    };
    store.sync_chunk_dirs(&dirs).unwrap();
    let record = array_record(vec![hash.clone()], raw.len() as u64);
    let object_hash = format!("obj{seq}");
    store
        .commit_snapshot(&SnapshotCommit {
            run_id: run.into(),
            meta: meta(seq),
            chunks: vec![NewChunk {
                hash: hash.clone(),
                size: raw.len() as u64,
                stored: frame.len() as u64,
                inline,
            }],
            objects: vec![(object_hash.clone(), record)],
            entries: vec![EntryRow {
                path: "w".into(),
                node: 0,
                hash: object_hash,
            }],
            metrics: vec![MetricPoint {
                name: "loss".into(),
                step: seq as f64,
                value: if seq == 1 {
                    f64::NAN
                } else {
                    1.0 / (seq + 1) as f64
                },
                time: 0.0,
                seq: Some(seq),
                epoch: Some(seq),
            }],
        })
        .unwrap();
    hash
}

#[test]
fn a_committed_snapshot_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = store.begin_run(&info()).unwrap();
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let hash = commit_with_chunk(&mut store, &run, 0, &big);
    commit_with_chunk(&mut store, &run, 1, b"small");

    // A second connection (another process would be the same) sees both.
    let reader = Store::open(dir.path()).unwrap();
    assert_eq!(reader.snapshots(&run).unwrap().len(), 2);
    assert_eq!(reader.read_chunk(&hash).unwrap(), big);
    assert_eq!(reader.entries(&run, 0).unwrap()[0].path, "w");
    assert_eq!(reader.object("obj0").unwrap().nbytes, big.len() as u64);
    let loss = reader.metric_series(&run, "loss").unwrap();
    assert_eq!(loss.len(), 2);
    assert!(loss[1].value.is_nan(), "NaN survives the catalog");
    assert_eq!(reader.seq_range(&run).unwrap(), Some((0, 1)));

    store
        .finish_run(&run, RunStatus::Finished, Some(0), None, 1_700_000_010.0)
        .unwrap();
    let record = reader.run(&run).unwrap();
    assert_eq!(record.status, RunStatus::Finished);
    assert_eq!(record.snapshots, 2);
}

#[test]
fn runs_resolve_by_last_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    assert!(matches!(store.resolve_run("last"), Err(StoreError::NoRuns)));
    let first = store.begin_run(&info()).unwrap();
    let second = store.begin_run(&info()).unwrap();
    assert_eq!(store.resolve_run("last").unwrap(), second);
    assert_eq!(store.resolve_run(&first[..6]).unwrap(), first);
    assert!(matches!(
        store.resolve_run("zzzz"),
        Err(StoreError::UnknownRun(_))
    ));
    assert!(matches!(
        store.resolve_run("x' OR 1=1 --"),
        Err(StoreError::UnknownRun(_))
    ));
    assert_eq!(first.len(), 12);
    assert_ne!(first, second);
}

#[test]
fn a_flipped_bit_in_a_chunk_is_reported_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = store.begin_run(&info()).unwrap();
    let big = vec![7u8; 100_000];
    let hash = commit_with_chunk(&mut store, &run, 0, &big);
    let path = dir
        .path()
        .join("chunks")
        .join(&hash[..2])
        .join(format!("{hash}.zst"));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    match store.read_chunk(&hash) {
        Err(StoreError::DamagedChunk { hash: h, .. }) => assert_eq!(h, hash),
        other => panic!("expected DamagedChunk, got {other:?}"),
    }
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        store.read_chunk(&hash),
        Err(StoreError::MissingChunk { .. })
    ));
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path()).unwrap());
    let catalog = dir.path().join("catalog.sqlite");
    {
        let conn = rusqlite::Connection::open(&catalog).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let err = Store::open(dir.path()).err().expect("must refuse");
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    let conn = rusqlite::Connection::open(&catalog).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION + 5);
}

#[test]
fn a_corrupt_or_missing_catalog_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::NotFound(_))
    ));
    std::fs::write(
        dir.path().join("catalog.sqlite"),
        b"this is not sqlite at all, just text that is long enough to look like a header",
    )
    .unwrap();
    let err = Store::open(dir.path()).err().expect("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"));
}

#[test]
fn an_unwritable_location_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::create(file.join("store")).err().expect("must fail");
    assert!(matches!(err, StoreError::Create { .. }), "{err}");
    assert!(err.to_string().contains("plain-file"));
}

#[test]
fn an_uncommitted_snapshot_is_invisible() {
    // Chunk files written without a commit (a kill -9 mid-snapshot) leave
    // the catalog exactly as it was.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = store.begin_run(&info()).unwrap();
    commit_with_chunk(&mut store, &run, 0, &[1u8; 70_000]);
    let orphan = vec![9u8; 80_000];
    let hash = chunk_hash(&orphan);
    store
        .write_chunk_file(&hash, &compress(&orphan).unwrap())
        .unwrap();
    drop(store);
    let reader = Store::open(dir.path()).unwrap();
    assert_eq!(reader.snapshots(&run).unwrap().len(), 1);
    assert!(!reader.has_chunk(&hash).unwrap());
}

#[test]
fn has_chunks_answers_each_hash_as_has_chunk_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = store.begin_run(&info()).unwrap();
    let stored = commit_with_chunk(&mut store, &run, 0, &[1u8; 70_000]);
    let absent = chunk_hash(&[2u8; 70_000]);
    let asked = [absent.clone(), stored.clone(), stored, absent];
    assert_eq!(
        store.has_chunks(&asked).unwrap(),
        vec![false, true, true, false]
    );
    assert!(store.has_chunks(&[]).unwrap().is_empty());
    // The read transaction is over: the store still commits.
    commit_with_chunk(&mut store, &run, 1, &[3u8; 70_000]);
    assert_eq!(
        store.has_chunks(&[chunk_hash(&[3u8; 70_000])]).unwrap(),
        vec![true]
    );
}

#[test]
fn a_none_value_record_keeps_its_null() {
    // Python's None is the value `null`: present, not absent.
    let text = r#"{"kind":"value","type":"NoneType","restorable":true,"value":null}"#;
    let record: ObjectRecord = serde_json::from_str(text).expect("a value record");
    assert_eq!(record.value, Some(serde_json::Value::Null));
    let again = serde_json::to_string(&record).expect("serializes");
    assert!(again.contains(r#""value":null"#), "{again}");
    let absent: ObjectRecord =
        serde_json::from_str(r#"{"kind":"container","type":"list","restorable":true}"#)
            .expect("a record without a value");
    assert_eq!(absent.value, None);
}
