//! Twist frames in a store (issue #16): a Mersenne Twister state stored as
//! "the words of chunk B twisted k times" reads back bit for bit, fsck finds
//! it healthy, gc keeps its base, it leaves the store decoded, and a frame
//! that does not decode to its hash is refused, naming the chunk.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod fixtures;

use fixtures::{meta, quiet};
use snapline_store::{
    apply_twist_in_place, chunk_hash, compress, encode_twist, twists_between, EntryRow, KeepRules,
    NewChunk, ObjectKind, RunInfo, RunStatus, SnapshotCommit, Store, MT_WORDS_BYTES,
};

/// MT19937 words after `init_genrand(seed)`, little-endian.
fn seeded(seed: u32) -> Vec<u8> {
    let mut mt = vec![seed];
    for i in 1..624u32 {
        let prev = mt[i as usize - 1];
        mt.push(
            1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i),
        );
    }
    mt.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// `words` twisted `k` times (through the store's own decoder).
fn twisted(words: &[u8], k: u32) -> Vec<u8> {
    let mut out = words.to_vec();
    apply_twist_in_place(
        "test",
        &encode_twist(chunk_hash(words).parse_hash(), k),
        &mut out,
    )
    .unwrap();
    out
}

trait ParseHash {
    fn parse_hash(&self) -> snapline_array_scan::ChunkHash;
}
impl ParseHash for String {
    fn parse_hash(&self) -> snapline_array_scan::ChunkHash {
        snapline_array_scan::ChunkHash::from_hex(self).unwrap()
    }
}

/// Commits one snapshot holding a value whose one chunk is `raw`, stored
/// inline as `frame`. Returns the chunk's hash.
fn commit(store: &mut Store, run: &str, seq: i64, raw: &[u8], frame: Vec<u8>) -> String {
    let hash = chunk_hash(raw);
    let record = fixtures::record(
        ObjectKind::Value,
        "tuple",
        3,
        None,
        vec![hash.clone()],
        raw.len() as u64,
    );
    let object = chunk_hash(serde_json::to_string(&record).unwrap().as_bytes());
    let commit = SnapshotCommit {
        run_id: run.into(),
        meta: meta(seq),
        chunks: vec![NewChunk {
            hash: hash.clone(),
            size: raw.len() as u64,
            stored: frame.len() as u64,
            inline: Some(frame),
        }],
        objects: vec![(object.clone(), record)],
        entries: vec![EntryRow {
            path: "$rng.random".into(),
            node: 0,
            hash: object,
        }],
        metrics: Vec::new(),
    };
    store.commit_snapshot(&commit).unwrap();
    hash
}

fn run(store: &mut Store) -> String {
    let run = store
        .begin_run(&RunInfo {
            script: "train.py".into(),
            started_at: 1_700_000_000.0,
            lineage: serde_json::json!({}),
            parent_run: None,
            parent_seq: None,
        })
        .unwrap();
    store
        .finish_run(&run, RunStatus::Finished, Some(0), None, 1_700_000_100.0)
        .unwrap();
    run
}

#[test]
fn twist_frames_read_back_and_every_store_command_follows_their_base() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = run(&mut store);
    let first = seeded(7);
    let key = seeded(5489);
    let once = twisted(&key, 1);
    let thrice = twisted(&key, 3);
    assert_eq!(twists_between(&key, &thrice, 64), Some(3));
    assert_eq!(twists_between(&once, &thrice, 64), Some(2));
    let key_hash = chunk_hash(&key).parse_hash();

    commit(&mut store, &run, 0, &first, compress(&first).unwrap());
    let key_chunk = commit(&mut store, &run, 1, &key, compress(&key).unwrap());
    let once_chunk = commit(&mut store, &run, 2, &once, encode_twist(key_hash, 1));
    let thrice_chunk = commit(&mut store, &run, 3, &thrice, encode_twist(key_hash, 3));

    assert_eq!(store.read_chunk(&once_chunk).unwrap(), once, "k = 1");
    assert_eq!(store.read_chunk(&thrice_chunk).unwrap(), thrice, "k = 3");
    assert_eq!(
        store.chunk_base(&thrice_chunk).unwrap().as_deref(),
        Some(key_chunk.as_str())
    );
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());

    // It leaves the store decoded (a plain zstd frame, no base needed).
    let (size, inline) = store.chunk_location(&thrice_chunk).unwrap();
    assert_eq!(size as usize, MT_WORDS_BYTES);
    let portable = store
        .portable_frame(&thrice_chunk, inline.unwrap())
        .unwrap();
    assert_eq!(
        zstd::bulk::decompress(&portable, size as usize).unwrap(),
        thrice
    );

    // gc drops seq 1 and 2 but keeps their chunk that seq 3's frame needs.
    let rules = KeepRules {
        last: Some(1),
        every: None,
        labeled: false,
    };
    store.gc(&rules, false, &mut quiet()).unwrap();
    let kept: Vec<i64> = store
        .snapshots(&run)
        .unwrap()
        .iter()
        .map(|s| s.seq)
        .collect();
    assert!(!kept.contains(&1), "{kept:?}");
    assert!(store.has_chunk(&key_chunk).unwrap(), "the base stays");
    assert!(
        !store.has_chunk(&once_chunk).unwrap(),
        "a twist frame no one needs goes"
    );
    assert_eq!(store.read_chunk(&thrice_chunk).unwrap(), thrice);
    assert!(store.fsck(&mut quiet()).unwrap().report.healthy());
}

#[test]
fn a_twist_frame_that_does_not_decode_to_its_hash_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = run(&mut store);
    let key = seeded(1);
    let key_hash = chunk_hash(&key).parse_hash();
    commit(&mut store, &run, 0, &key, compress(&key).unwrap());
    // Says two twists where the chunk is one twist.
    let wrong = commit(
        &mut store,
        &run,
        1,
        &twisted(&key, 1),
        encode_twist(key_hash, 2),
    );
    let err = store.read_chunk(&wrong).unwrap_err().to_string();
    assert!(err.contains(&wrong) && err.contains("damaged"), "{err}");
    let scan = store.fsck(&mut quiet()).unwrap();
    assert!(!scan.report.healthy());
    assert!(
        scan.report
            .affected_snapshots
            .iter()
            .any(|s| s.ends_with("@1")),
        "{:?}",
        scan.report.affected_snapshots
    );
}
