//! Issue #6: what the app asks to open a run of 10,000 snapshots and
//! 1,000,000 metric points, and to move the cursor (target: open under 1 s,
//! scrub under 100 ms, the window's drawing included; the window itself is
//! timed by bench/app_bench.py). Each step is the query call behind one
//! command of src-tauri/src/commands.rs. The store is built once under
//! target/bench-stores.
//!
//!     cargo bench -p snapline-bench --bench app_open

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench panics on a broken fixture

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use snapline_query::{
    changed_paths, first_nonfinite, list_runs, list_series, resolve_snapshot, run_log, run_summary,
    series_view, show_snapshot, Store, ViewOptions,
};

const SNAPSHOTS: i64 = 10_000;
const POINTS_PER_SNAPSHOT: usize = 100;

fn store_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-stores/app-10k-1m")
}

fn build() -> (Store, String) {
    snapline_bench::long_run(&store_dir(), SNAPSHOTS, POINTS_PER_SNAPSHOT)
}

fn app_open(c: &mut Criterion) {
    let (store, run) = build();
    let view = ViewOptions {
        width_px: 1200,
        smoothing: 0.6,
        ..ViewOptions::default()
    };
    let mut group = c.benchmark_group("app");
    group.sample_size(10);
    group.bench_function("list_runs", |b| b.iter(|| list_runs(&store).unwrap().len()));
    // `open_run`: the summary, every snapshot row, the series list, NaN.
    group.bench_function("open_run_10k_snapshots", |b| {
        b.iter(|| {
            let summary = run_summary(&store, &run).unwrap();
            let (_, rows) = run_log(&store, &summary.id).unwrap();
            let series = list_series(&store, &summary.id).unwrap();
            let nan = first_nonfinite(&store, &summary.id).unwrap();
            (rows.len(), series.len(), nan.first.is_some())
        })
    });
    // The loss curve at the chart's width: 1,000,000 points to 1,200 px.
    group.bench_function("series_view_1M_points_1200px", |b| {
        b.iter(|| {
            series_view(&store, &run, "loss", &view)
                .unwrap()
                .data
                .points
                .len()
        })
    });
    // `snapshot_objects` at the cursor: the variables and what changed.
    group.bench_function("snapshot_objects_at_cursor", |b| {
        let mut seq = 5_000;
        b.iter(|| {
            seq += 1;
            let snap = resolve_snapshot(&store, &format!("{run}@{seq}")).unwrap();
            let objects = show_snapshot(&store, &snap, false).unwrap();
            let changed = changed_paths(&store, &snap.run, snap.seq).unwrap();
            (objects.len(), changed.len())
        })
    });
    group.finish();
}

criterion_group!(benches, app_open);
criterion_main!(benches);
