//! `snapline nan` on a run of 10,000 snapshots that diverges at snapshot
//! 7,000 and stays non-finite to the end (target: under 50 ms). The store
//! is built once under target/bench-stores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench panics on a broken fixture

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use snapline_bench::{noise, Object, SyntheticRun};
use snapline_query::{first_nonfinite, Store};

const SNAPSHOTS: i64 = 10_000;
const DIVERGES_AT: i64 = 7_000;

fn store_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-stores/nan-10k")
}

fn build() -> (Store, String) {
    let dir = store_dir();
    if let Ok(store) = Store::open(&dir) {
        if let Ok(run) = store.resolve_run("last") {
            if store.seq_range(&run).ok().flatten() == Some((1, SNAPSHOTS)) {
                return (store, run);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "building a run of {SNAPSHOTS} snapshots in {} (once)",
        dir.display()
    );
    let mut run = SyntheticRun::create(&dir, "bench.py").expect("store");
    for seq in 1..=SNAPSHOTS {
        let bad = seq >= DIVERGES_AT;
        // Five layers of 256 weights that change every step, and the loss.
        let layers: Vec<Object> = (0..5)
            .map(|i| {
                let mut data = noise(256, (seq * 8 + i) as u64);
                if bad && i <= (seq - DIVERGES_AT).min(4) {
                    data[7] = f32::NAN;
                }
                Object::F32 {
                    shape: vec![16, 16],
                    data,
                }
            })
            .collect();
        let loss = if seq > DIVERGES_AT {
            f64::NAN
        } else {
            1.0 / seq as f64
        };
        let names = [
            "fc0.weight",
            "fc1.weight",
            "fc2.weight",
            "fc3.weight",
            "fc4.weight",
        ];
        let loss_object = Object::Scalar(loss);
        let mut objects: Vec<(&str, &Object)> = names.iter().copied().zip(layers.iter()).collect();
        objects.push(("loss", &loss_object));
        run.snapshot(&objects, &[("loss", loss), ("lr", 0.01)])
            .expect("snapshot");
    }
    let id = run.run.clone();
    (run.store, id)
}

fn bench(c: &mut Criterion) {
    let (store, run) = build();
    c.bench_function("nan: first non-finite in 10,000 snapshots", |b| {
        b.iter(|| {
            let r = first_nonfinite(&store, &run).expect("nan");
            assert_eq!(r.first.as_ref().map(|f| f.seq), Some(DIVERGES_AT));
        })
    });
    // Side by side: listing the run's snapshots (what `snapline log` reads).
    c.bench_function("baseline: list the 10,000 snapshot rows", |b| {
        b.iter(|| {
            let rows = store.snapshots(&run).expect("log");
            assert_eq!(rows.len() as i64, SNAPSHOTS);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
