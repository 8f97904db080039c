//! `snapline diff` on two snapshots holding 1 GiB of float32 arrays:
//! identical (target: under 50 ms), and differing in one 10 MiB array
//! (target: under 1 s). The store is built once under target/bench-stores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench panics on a broken fixture

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use snapline_bench::{noise, Object, SyntheticRun};
use snapline_query::{diff_snapshots, DiffOptions, SnapshotRef, Store};

const ARRAYS: usize = 100;
/// 10 MiB of float32 each: 100 of them make 1000 MiB.
const ELEMENTS: usize = 10 * 1024 * 1024 / 4;

fn store_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-stores/diff-1gib")
}

/// Snapshot 1 and 3 hold the same arrays; snapshot 2 changed every element of one.
fn build() -> (Store, String) {
    let dir = store_dir();
    if let Ok(store) = Store::open(&dir) {
        if let Ok(run) = store.resolve_run("last") {
            if store.seq_range(&run).ok().flatten() == Some((1, 3)) {
                return (store, run);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("building a 1 GiB store in {} (once)", dir.display());
    let mut run = SyntheticRun::create(&dir, "bench.py").expect("store");
    let arrays: Vec<Object> = (0..ARRAYS)
        .map(|i| Object::F32 {
            shape: vec![(ELEMENTS / 1024) as i64, 1024],
            data: noise(ELEMENTS, i as u64 + 1),
        })
        .collect();
    let names: Vec<String> = (0..ARRAYS).map(|i| format!("layer{i:03}.weight")).collect();
    let mut objects: Vec<(&str, &Object)> = names
        .iter()
        .map(String::as_str)
        .zip(arrays.iter())
        .collect();
    run.snapshot(&objects, &[]).expect("snapshot 1");
    let mut data = noise(ELEMENTS, 1);
    for x in &mut data {
        *x *= 0.999;
    }
    let changed = Object::F32 {
        shape: vec![(ELEMENTS / 1024) as i64, 1024],
        data,
    };
    objects[0].1 = &changed;
    run.snapshot(&objects, &[]).expect("snapshot 2");
    objects[0].1 = &arrays[0];
    run.snapshot(&objects, &[]).expect("snapshot 3");
    let id = run.run.clone();
    (run.store, id)
}

fn bench(c: &mut Criterion) {
    let (store, run) = build();
    let at = |seq| SnapshotRef {
        run: run.clone(),
        seq,
    };
    let options = DiffOptions::default();
    let mut group = c.benchmark_group("diff 1 GiB of arrays");
    group.sample_size(10);
    group.bench_function("identical snapshots", |b| {
        b.iter(|| {
            let d = diff_snapshots(&store, &at(1), &at(3), &options).expect("diff");
            assert!(d.identical);
        })
    });
    group.bench_function("one 10 MiB array changed", |b| {
        b.iter(|| {
            let d = diff_snapshots(&store, &at(1), &at(2), &options).expect("diff");
            assert_eq!(d.changed, 1);
        })
    });
    // Side by side: only reading (decompressing and hash-checking) both
    // versions of the changed array, which any element-level diff must do.
    let entries = store.entries(&run, 2).expect("entries");
    let before = store.entries(&run, 1).expect("entries");
    let hash_of = |list: &[snapline_store::EntryRow]| {
        list.iter()
            .find(|e| e.path == "layer000.weight")
            .map(|e| e.hash.clone())
            .expect("layer000")
    };
    let (old, new) = (
        store.object(&hash_of(&before)).expect("record"),
        store.object(&hash_of(&entries)).expect("record"),
    );
    group.bench_function("baseline: read both versions of the 10 MiB array", |b| {
        b.iter(|| {
            for h in old.chunks.iter().chain(&new.chunks) {
                std::hint::black_box(store.read_chunk(h).expect("chunk"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
