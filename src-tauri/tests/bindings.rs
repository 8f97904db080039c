//! `ui/src/bindings/` is generated from the Rust types by ts-rs, never
//! written by hand. This test generates them into a temporary directory and
//! fails when the checked-in files differ; `SNAPLINE_WRITE_BINDINGS=1 cargo
//! test -p snapline-app --test bindings` writes them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use snapline_app::views::{
    AppError, ConsoleExit, ConsoleOutput, KernelStarted, ProgressEvent, ResumeStarted,
    ResumeStatus, RunView, SnapshotObjects, Startup, StoreChanged, StoreInfo,
};
use snapline_query::{
    ArrayPicture, ModelView, NanReport, ObjectView, RunTable, RunTableOptions, SeriesView,
    SnapshotDiff, StatsPoint, XAxis,
};
use ts_rs::{Config, TS};

fn generate(dir: &Path) {
    // u64/i64 travel as JSON numbers (serde_json), so `number`, not `bigint`.
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    Startup::export_all(&cfg).unwrap();
    StoreInfo::export_all(&cfg).unwrap();
    RunView::export_all(&cfg).unwrap();
    SnapshotObjects::export_all(&cfg).unwrap();
    ProgressEvent::export_all(&cfg).unwrap();
    StoreChanged::export_all(&cfg).unwrap();
    AppError::export_all(&cfg).unwrap();
    SeriesView::export_all(&cfg).unwrap();
    ObjectView::export_all(&cfg).unwrap();
    StatsPoint::export_all(&cfg).unwrap();
    ArrayPicture::export_all(&cfg).unwrap();
    SnapshotDiff::export_all(&cfg).unwrap();
    NanReport::export_all(&cfg).unwrap();
    XAxis::export_all(&cfg).unwrap();
    RunTable::export_all(&cfg).unwrap();
    RunTableOptions::export_all(&cfg).unwrap();
    ModelView::export_all(&cfg).unwrap();
    ResumeStarted::export_all(&cfg).unwrap();
    ResumeStatus::export_all(&cfg).unwrap();
    KernelStarted::export_all(&cfg).unwrap();
    ConsoleOutput::export_all(&cfg).unwrap();
    ConsoleExit::export_all(&cfg).unwrap();
}

/// Relative path -> text of every .ts file under `dir`.
fn files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in read.flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|e| e == "ts") {
                let name = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(name, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn ui_bindings_match_the_rust_types() {
    let checked_in: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let fresh = files(tmp.path());
    assert!(fresh.contains_key("RunView.ts") && fresh.contains_key("SnapshotMeta.ts"));
    if std::env::var_os("SNAPLINE_WRITE_BINDINGS").is_some() {
        for name in files(&checked_in).keys() {
            if !fresh.contains_key(name) {
                std::fs::remove_file(checked_in.join(name)).unwrap();
            }
        }
        std::fs::create_dir_all(&checked_in).unwrap();
        for (name, text) in &fresh {
            let path = checked_in.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        return;
    }
    let old = files(&checked_in);
    let stale: Vec<&String> = fresh
        .keys()
        .chain(old.keys())
        .filter(|n| fresh.get(*n) != old.get(*n))
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/bindings is out of date ({stale:?}): run SNAPLINE_WRITE_BINDINGS=1 cargo test -p snapline-app --test bindings"
    );
}
