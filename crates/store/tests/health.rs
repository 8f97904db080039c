//! Store health and retention: fsck finds what a flipped bit, a lost file or
//! a kill -9 left, names the snapshots affected and drops exactly those;
//! gc and rm keep everything a kept snapshot needs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod fixtures;

use fixtures::quiet;

use std::collections::BTreeSet;
use std::path::Path;

use snapline_store::{
    chunk_hash, compress, EntryRow, KeepRules, NewChunk, ObjectKind, ObjectRecord, ProblemKind,
    Progress, RunInfo, RunStatus, SnapshotCommit, SnapshotMeta, Store, Trigger, INLINE_LIMIT,
};

fn info(lineage: serde_json::Value, parent: Option<(&str, i64)>) -> RunInfo {
    RunInfo {
        script: "train.py".into(),
        started_at: 1_700_000_000.0,
        lineage,
        parent_run: parent.map(|p| p.0.to_owned()),
        parent_seq: parent.map(|p| p.1),
    }
}

fn meta(seq: i64, trigger: Trigger, label: Option<&str>) -> SnapshotMeta {
    SnapshotMeta {
        trigger,
        label: label.map(str::to_owned),
        position: None,
        ..fixtures::meta(seq)
    }
}

/// A distinct array content, big enough for a chunk file.
fn big(n: u32) -> Vec<u8> {
    (0..(INLINE_LIMIT as u32 / 4 + 100))
        .flat_map(|i| (i ^ n.wrapping_mul(0x9e37_79b9)).to_le_bytes())
        .collect()
}

/// Commits a snapshot holding one array object per `(path, content)`.
/// Returns the chunk hashes in order.
fn commit(
    store: &mut Store,
    run: &str,
    meta: SnapshotMeta,
    arrays: &[(&str, &[u8])],
) -> Vec<String> {
    let mut dirs = BTreeSet::new();
    let mut commit = SnapshotCommit {
        run_id: run.into(),
        meta,
        chunks: Vec::new(),
        objects: Vec::new(),
        entries: Vec::new(),
        metrics: Vec::new(),
    };
    let mut hashes = Vec::new();
    for (node, (path, raw)) in arrays.iter().enumerate() {
        let hash = chunk_hash(raw);
        let frame = compress(raw).unwrap();
        let inline = if raw.len() <= INLINE_LIMIT {
            Some(frame.clone())
        } else {
            if !store.has_chunk(&hash).unwrap() {
                dirs.insert(store.write_chunk_file(&hash, &frame).unwrap());
            }
            None
        };
        commit.chunks.push(NewChunk {
            hash: hash.clone(),
            size: raw.len() as u64,
            stored: frame.len() as u64,
            inline,
        });
        let record = ObjectRecord {
            kind: ObjectKind::Array,
            type_name: "numpy.ndarray".into(),
            shape: Some(vec![raw.len() as i64]),
            dtype: Some("uint8".into()),
            stats: None,
            preview: String::new(),
            restorable: true,
            reason: None,
            value: None,
            chunks: vec![hash.clone()],
            nbytes: raw.len() as u64,
            children: Vec::new(),
            extra: serde_json::Map::new(),
        };
        let object = chunk_hash(serde_json::to_string(&record).unwrap().as_bytes());
        commit.objects.push((object.clone(), record));
        commit.entries.push(EntryRow {
            path: (*path).into(),
            node: node as i64,
            hash: object,
        });
        hashes.push(hash);
    }
    store.sync_chunk_dirs(&dirs).unwrap();
    store.commit_snapshot(&commit).unwrap();
    hashes
}

fn finished_run(store: &mut Store) -> String {
    let run = store
        .begin_run(&info(serde_json::json!({"argv": ["train.py"]}), None))
        .unwrap();
    store
        .finish_run(&run, RunStatus::Finished, Some(0), None, 1_700_000_100.0)
        .unwrap();
    run
}

/// Every object and chunk of a snapshot reads back (what `log --verify` does).
fn verifies(store: &Store, run: &str, seq: i64) -> bool {
    let Ok(entries) = store.entries(run, seq) else {
        return false;
    };
    entries.iter().all(|e| match store.object(&e.hash) {
        Ok(record) => record.chunks.iter().all(|c| store.read_chunk(c).is_ok()),
        Err(_) => false,
    })
}

fn seqs(store: &Store, run: &str) -> Vec<i64> {
    store
        .snapshots(run)
        .unwrap()
        .iter()
        .map(|s| s.seq)
        .collect()
}

/// Seq s holds `w` = big(s / 2) (so pairs of snapshots share it) and a
/// constant `b`.
fn five_snapshots(store: &mut Store) -> (String, Vec<Vec<String>>) {
    let run = finished_run(store);
    let constant = big(1000);
    let mut chunks = Vec::new();
    for seq in 0..5 {
        let w = big(seq as u32 / 2);
        chunks.push(commit(
            store,
            &run,
            meta(seq, Trigger::Iteration, None),
            &[("w", &w), ("b", &constant), ("small", b"tiny")],
        ));
    }
    (run, chunks)
}

fn flip_a_bit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_healthy_store_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    five_snapshots(&mut store);
    let scan = store.fsck(&mut quiet()).unwrap();
    assert!(scan.report.healthy(), "{:?}", scan.report.problems);
    assert_eq!(scan.report.snapshots, 5);
    assert!(scan.report.leftovers.orphan_chunk_files.is_empty());
    assert!(scan.report.leftovers.temp_files.is_empty());
    assert!(scan.report.affected_snapshots.is_empty());
}

#[test]
fn a_flipped_bit_names_the_snapshots_and_repair_drops_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (run, chunks) = five_snapshots(&mut store);
    // big(1) is `w` at seq 2 and 3.
    let damaged = chunks[2][0].clone();
    flip_a_bit(&store.chunk_path(&damaged));

    let scan = store.fsck(&mut quiet()).unwrap();
    let report = &scan.report;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!(problem.kind, ProblemKind::DamagedChunk);
    assert_eq!(problem.subject, damaged);
    assert_eq!(
        problem.snapshots,
        vec![format!("{run}@2"), format!("{run}@3")]
    );

    let repaired = store.repair(scan, &mut quiet()).unwrap();
    assert!(repaired.complete());
    assert_eq!(
        repaired.dropped_snapshots,
        vec![format!("{run}@2"), format!("{run}@3")]
    );
    assert_eq!(seqs(&store, &run), vec![0, 1, 4]);
    for seq in [0, 1, 4] {
        assert!(verifies(&store, &run, seq), "seq {seq} still verifies");
    }
    assert!(
        !store.chunk_path(&damaged).exists(),
        "the damaged file is gone"
    );
    assert!(!store.has_chunk(&damaged).unwrap(), "and its row");
    let again = store.fsck(&mut quiet()).unwrap();
    assert!(again.report.healthy(), "{:?}", again.report.problems);

    // The next capture of that content writes the chunk again.
    let w = big(1);
    commit(
        &mut store,
        &run,
        meta(5, Trigger::Iteration, None),
        &[("w", &w)],
    );
    assert!(verifies(&store, &run, 5));
}

#[test]
fn a_deleted_chunk_file_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (run, chunks) = five_snapshots(&mut store);
    let lost = chunks[4][0].clone(); // big(2): seq 4 only
    std::fs::remove_file(store.chunk_path(&lost)).unwrap();
    let scan = store.fsck(&mut quiet()).unwrap();
    assert_eq!(scan.report.problems.len(), 1);
    assert_eq!(scan.report.problems[0].kind, ProblemKind::MissingChunkFile);
    assert_eq!(scan.report.affected_snapshots, vec![format!("{run}@4")]);
    store.repair(scan, &mut quiet()).unwrap();
    assert_eq!(seqs(&store, &run), vec![0, 1, 2, 3]);
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[test]
fn kill_9_leftovers_are_reclaimable_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (run, _) = five_snapshots(&mut store);
    // A snapshot in flight: its chunk file written, never committed...
    let orphan_raw = big(77);
    let orphan = chunk_hash(&orphan_raw);
    store
        .write_chunk_file(&orphan, &compress(&orphan_raw).unwrap())
        .unwrap();
    // ... and a half-written temporary file.
    let temp = store
        .chunk_path(&orphan)
        .with_file_name(format!("{orphan}.tmp-4242"));
    std::fs::write(&temp, b"half").unwrap();
    // A run left `running` by a process that no longer exists.
    let host = snapline_store::host_name().unwrap();
    let stale = store
        .begin_run(&info(
            serde_json::json!({"host": host, "pid": 999_999_999}),
            None,
        ))
        .unwrap();

    let scan = store.fsck(&mut quiet()).unwrap();
    assert!(scan.report.healthy(), "{:?}", scan.report.problems);
    assert_eq!(
        scan.report.leftovers.orphan_chunk_files,
        vec![orphan.clone()]
    );
    assert_eq!(scan.report.leftovers.temp_files.len(), 1);
    assert_eq!(scan.report.leftovers.stale_runs, vec![stale.clone()]);

    let repaired = store.repair(scan, &mut quiet()).unwrap();
    assert_eq!(repaired.files_removed, 2);
    assert!(repaired.dropped_snapshots.is_empty());
    assert_eq!(repaired.runs_marked_killed, vec![stale.clone()]);
    assert!(!store.chunk_path(&orphan).exists());
    assert!(!temp.exists());
    assert_eq!(store.run(&stale).unwrap().status, RunStatus::Killed);
    assert_eq!(seqs(&store, &run), vec![0, 1, 2, 3, 4]);
    let again = store.fsck(&mut quiet()).unwrap().report;
    assert!(again.leftovers.orphan_chunk_files.is_empty() && again.leftovers.stale_runs.is_empty());
}

#[test]
fn a_missing_object_and_a_bad_record_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (run, _) = five_snapshots(&mut store);
    let w4 = store
        .entries(&run, 4)
        .unwrap()
        .into_iter()
        .find(|e| e.path == "w")
        .unwrap()
        .hash;
    let w0 = store
        .entries(&run, 0)
        .unwrap()
        .into_iter()
        .find(|e| e.path == "w")
        .unwrap()
        .hash;
    let db = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).unwrap();
    db.execute("DELETE FROM objects WHERE hash = ?1", [&w4])
        .unwrap();
    db.execute(
        "UPDATE objects SET record = '{not json' WHERE hash = ?1",
        [&w0],
    )
    .unwrap();
    drop(db);
    let scan = store.fsck(&mut quiet()).unwrap();
    let kinds: Vec<_> = scan.report.problems.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&ProblemKind::MissingObject), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::BadRecord), "{kinds:?}");
    assert_eq!(
        scan.report.affected_snapshots,
        vec![format!("{run}@0"), format!("{run}@1"), format!("{run}@4")]
    );
    store.repair(scan, &mut quiet()).unwrap();
    assert_eq!(seqs(&store, &run), vec![2, 3]);
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[test]
fn gc_keeps_by_its_rules_and_every_kept_snapshot_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = finished_run(&mut store);
    let mut all_chunks = Vec::new();
    for seq in 0..12 {
        let (trigger, label) = match seq {
            5 => (Trigger::Explicit, Some("best")),
            6 => (Trigger::Cell, Some("In [3]")),
            _ => (Trigger::Iteration, None),
        };
        let w = big(seq as u32);
        all_chunks
            .push(commit(&mut store, &run, meta(seq, trigger, label), &[("w", &w)])[0].clone());
    }
    // A run resumed from seq 3.
    let child = store
        .begin_run(&info(serde_json::json!({}), Some((&run, 3))))
        .unwrap();
    store
        .finish_run(&child, RunStatus::Finished, Some(0), None, 0.0)
        .unwrap();

    let rules = KeepRules {
        last: Some(2),
        every: Some(4),
        labeled: true,
    };
    let dry = store.gc(&rules, true, &mut quiet()).unwrap();
    assert_eq!(seqs(&store, &run).len(), 12, "a dry run removes nothing");
    let report = store.gc(&rules, false, &mut quiet()).unwrap();
    // first 0, every 4: 0 4 8, labeled 5, branched 3, last two 10 11.
    let kept = vec![0, 3, 4, 5, 8, 10, 11];
    assert_eq!(seqs(&store, &run), kept);
    assert_eq!(report.snapshots_removed, 5);
    assert_eq!(dry.snapshots_removed, report.snapshots_removed);
    assert_eq!(dry.chunks_removed, report.chunks_removed);
    assert_eq!(report.chunks_removed, 5);
    assert_eq!(report.files_removed, 5);
    for seq in &kept {
        assert!(verifies(&store, &run, *seq), "kept seq {seq} verifies");
    }
    for (seq, chunk) in all_chunks.iter().enumerate() {
        assert_eq!(
            store.chunk_path(chunk).exists(),
            kept.contains(&(seq as i64)),
            "chunk of seq {seq}"
        );
    }
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[test]
fn gc_without_rules_only_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (run, _) = five_snapshots(&mut store);
    let orphan_raw = big(55);
    let orphan = chunk_hash(&orphan_raw);
    store
        .write_chunk_file(&orphan, &compress(&orphan_raw).unwrap())
        .unwrap();
    let report = store
        .gc(&KeepRules::default(), false, &mut quiet())
        .unwrap();
    assert_eq!(report.snapshots_removed, 0);
    assert_eq!(report.files_removed, 1);
    assert_eq!(seqs(&store, &run), vec![0, 1, 2, 3, 4]);
    assert!(!store.chunk_path(&orphan).exists());
}

#[test]
fn the_sweep_keeps_chunks_another_run_shares() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let shared = big(1);
    let own = big(2);
    let a = finished_run(&mut store);
    for seq in 0..4 {
        commit(
            &mut store,
            &a,
            meta(seq, Trigger::Iteration, None),
            &[("w", if seq == 1 { &shared } else { &own })],
        );
    }
    let b = finished_run(&mut store);
    commit(
        &mut store,
        &b,
        meta(0, Trigger::Iteration, None),
        &[("w", &shared)],
    );
    let shared_hash = chunk_hash(&shared);

    store
        .gc(
            &KeepRules {
                last: Some(1),
                every: None,
                labeled: false,
            },
            false,
            &mut quiet(),
        )
        .unwrap();
    assert_eq!(seqs(&store, &a), vec![0, 3]);
    assert!(
        store.chunk_path(&shared_hash).exists(),
        "run b still needs it"
    );
    assert!(verifies(&store, &b, 0));

    // rm of b: now nothing needs the shared chunk.
    let report = store.remove_run(&b, false, false, &mut quiet()).unwrap();
    assert_eq!(report.removed_runs, vec![b.clone()]);
    assert!(store.run(&b).is_err());
    assert!(!store.chunk_path(&shared_hash).exists());
    assert!(verifies(&store, &a, 0) && verifies(&store, &a, 3));
}

#[test]
fn rm_keeps_what_another_run_shares_and_the_script_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let shared = big(1);
    let only_a = big(2);
    let source = big(3);
    let a = finished_run(&mut store);
    commit(
        &mut store,
        &a,
        meta(0, Trigger::Iteration, None),
        &[("w", &shared), ("v", &only_a)],
    );
    // b's script source is a chunk named only by its lineage: here it was
    // committed with a's snapshot (same content, any run can bring it).
    let source_hash = commit(
        &mut store,
        &a,
        meta(1, Trigger::Iteration, None),
        &[("s", &source)],
    )[0]
    .clone();
    let b = store
        .begin_run(&info(serde_json::json!({"script_hash": source_hash}), None))
        .unwrap();
    store
        .finish_run(&b, RunStatus::Finished, Some(0), None, 0.0)
        .unwrap();
    commit(
        &mut store,
        &b,
        meta(0, Trigger::Iteration, None),
        &[("w", &shared)],
    );

    store.remove_run(&a, false, false, &mut quiet()).unwrap();
    assert!(store.chunk_path(&chunk_hash(&shared)).exists());
    assert!(!store.chunk_path(&chunk_hash(&only_a)).exists());
    assert!(
        store.read_chunk(&source_hash).is_ok(),
        "the lineage names it"
    );
    assert!(verifies(&store, &b, 0));
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[test]
fn a_live_run_is_left_whole_and_rm_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let host = snapline_store::host_name().unwrap();
    // This test process plays the capturing process.
    let live = store
        .begin_run(&info(
            serde_json::json!({"host": host, "pid": std::process::id()}),
            None,
        ))
        .unwrap();
    for seq in 0..6 {
        let w = big(seq as u32);
        commit(
            &mut store,
            &live,
            meta(seq, Trigger::Iteration, None),
            &[("w", &w)],
        );
    }
    let done = finished_run(&mut store);
    let gone = big(99);
    commit(
        &mut store,
        &done,
        meta(0, Trigger::Iteration, None),
        &[("w", &gone)],
    );
    assert!(store.run_is_live(&live).unwrap());

    let report = store
        .gc(
            &KeepRules {
                last: Some(1),
                every: None,
                labeled: false,
            },
            false,
            &mut quiet(),
        )
        .unwrap();
    assert_eq!(seqs(&store, &live).len(), 6, "a live run is left whole");
    assert_eq!(report.live_runs, vec![live.clone()]);

    assert!(store.remove_run(&live, false, false, &mut quiet()).is_err());
    let report = store.remove_run(&done, false, false, &mut quiet()).unwrap();
    // Its chunk stays while a capture could still reuse it.
    assert!(report.chunks_deferred >= 1);
    assert!(store.chunk_path(&chunk_hash(&gone)).exists());
    assert!(store.run(&done).is_err());
}

#[test]
fn files_and_snapshots_that_appear_during_a_sweep_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (a, _) = five_snapshots(&mut store);
    let other = finished_run(&mut store);
    let reused = big(1); // `w` at a@2 and a@3, which gc removes
    let fresh_raw = big(123);
    let fresh = chunk_hash(&fresh_raw);
    let mut writer = Store::open(dir.path()).unwrap();
    let mut once = true;
    // Fires after gc listed the files and read the entries.
    let mut during = |p: Progress| {
        if p.phase == "walking objects" && std::mem::take(&mut once) {
            // Another process, mid-snapshot: a chunk file not yet committed...
            writer
                .write_chunk_file(&fresh, &compress(&fresh_raw).unwrap())
                .unwrap();
            // ... and a snapshot that reuses what gc thinks nobody needs.
            commit(
                &mut writer,
                &other,
                meta(0, Trigger::Iteration, None),
                &[("w", &reused)],
            );
        }
    };
    store
        .gc(
            &KeepRules {
                last: Some(1),
                every: None,
                labeled: false,
            },
            false,
            &mut during,
        )
        .unwrap();
    assert_eq!(seqs(&store, &a), vec![0, 4]);
    assert!(
        store.chunk_path(&fresh).exists(),
        "a file written after the listing stays"
    );
    assert!(
        verifies(&store, &other, 0),
        "a snapshot committed mid-sweep stays whole"
    );
}

#[test]
fn repair_leaves_a_live_run_and_its_chunks_for_later() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let host = snapline_store::host_name().unwrap();
    let live = store
        .begin_run(&info(
            serde_json::json!({"host": host, "pid": std::process::id()}),
            None,
        ))
        .unwrap();
    let w = big(5);
    let damaged = commit(
        &mut store,
        &live,
        meta(0, Trigger::Iteration, None),
        &[("w", &w)],
    )[0]
    .clone();
    let (done, chunks) = five_snapshots(&mut store);
    flip_a_bit(&store.chunk_path(&damaged));
    std::fs::remove_file(store.chunk_path(&chunks[4][0])).unwrap();

    let scan = store.fsck(&mut quiet()).unwrap();
    assert_eq!(scan.report.live_runs, vec![live.clone()]);
    assert_eq!(scan.report.problems.len(), 2);
    let repaired = store.repair(scan, &mut quiet()).unwrap();
    assert!(!repaired.complete());
    assert_eq!(repaired.skipped_snapshots, vec![format!("{live}@0")]);
    assert_eq!(repaired.dropped_snapshots, vec![format!("{done}@4")]);
    assert_eq!(repaired.objects_removed, 0, "the live run may reuse them");
    assert_eq!(seqs(&store, &live), vec![0]);
    assert!(
        store.has_chunk(&damaged).unwrap(),
        "left for a later repair"
    );
    assert_eq!(seqs(&store, &done), vec![0, 1, 2, 3]);
}

#[test]
fn a_damaged_script_source_is_dropped_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let source = big(8);
    let a = finished_run(&mut store);
    let hash = commit(
        &mut store,
        &a,
        meta(0, Trigger::Iteration, None),
        &[("s", &source)],
    )[0]
    .clone();
    let b = store
        .begin_run(&info(serde_json::json!({"script_hash": hash}), None))
        .unwrap();
    store
        .finish_run(&b, RunStatus::Finished, Some(0), None, 0.0)
        .unwrap();
    flip_a_bit(&store.chunk_path(&hash));
    let scan = store.fsck(&mut quiet()).unwrap();
    assert_eq!(scan.report.affected_snapshots, vec![format!("{a}@0")]);
    store.repair(scan, &mut quiet()).unwrap();
    assert!(!store.has_chunk(&hash).unwrap());
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[cfg(unix)]
#[test]
fn repair_never_deletes_through_a_linked_chunk_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path().join("store")).unwrap();
    let (_, chunks) = five_snapshots(&mut store);
    // One chunk directory moved out of the store and linked back, with a
    // file that looks like an orphan chunk beside the real ones.
    let sub = store
        .chunk_path(&chunks[0][0])
        .parent()
        .unwrap()
        .to_path_buf();
    let moved = outside.path().join("moved");
    std::fs::rename(&sub, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &sub).unwrap();
    let decoy = moved.join(format!("{}.zst", "e".repeat(32)));
    std::fs::write(&decoy, b"a file of someone else's").unwrap();
    let before: BTreeSet<_> = std::fs::read_dir(&moved)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();

    let scan = store.fsck(&mut quiet()).unwrap();
    store.repair(scan, &mut quiet()).unwrap();
    let after: BTreeSet<_> = std::fs::read_dir(&moved)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after);
    assert!(decoy.exists());
}

#[test]
fn a_chunk_declaring_an_impossible_size_is_damage_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let (_, chunks) = five_snapshots(&mut store);
    drop(store);
    let db = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).unwrap();
    db.execute(
        "UPDATE chunks SET size = ?1 WHERE hash = ?2",
        rusqlite::params![i64::MAX, chunks[0][0]],
    )
    .unwrap();
    drop(db);
    let store = Store::open(dir.path()).unwrap();
    let err = store.read_chunk(&chunks[0][0]).unwrap_err().to_string();
    assert!(err.contains("9223372036854775807"), "{err}");
    let scan = store.fsck(&mut quiet()).unwrap();
    assert_eq!(scan.report.problems.len(), 1, "{:?}", scan.report.problems);
    assert!(
        scan.report.problems[0].detail.contains("at most"),
        "{:?}",
        scan.report.problems
    );
}
