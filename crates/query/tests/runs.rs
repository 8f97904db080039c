//! Runs as front ends list them: a resumed run names where it branched.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use snapline_query::{list_runs, run_summary, Store};
use snapline_store::RunInfo;

fn info(parent_run: Option<&str>, parent_seq: Option<i64>) -> RunInfo {
    RunInfo {
        script: "train.py".into(),
        started_at: 1_700_000_000.0,
        lineage: serde_json::json!({"argv": ["train.py"]}),
        parent_run: parent_run.map(str::to_owned),
        parent_seq,
    }
}

#[test]
fn a_resumed_run_names_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let first = store.begin_run(&info(None, None)).unwrap();
    let second = store.begin_run(&info(Some(&first), Some(12))).unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let runs = list_runs(&store).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, first);
    assert_eq!(runs[0].parent, None);
    assert_eq!(runs[0].parent_run, None);
    assert_eq!(runs[0].parent_seq, None);

    let child = run_summary(&store, &second).unwrap();
    assert_eq!(
        child.parent.as_deref(),
        Some(format!("{first}@12").as_str())
    );
    assert_eq!(child.parent_run.as_deref(), Some(first.as_str()));
    assert_eq!(child.parent_seq, Some(12));

    let json = serde_json::to_value(&child).unwrap();
    assert_eq!(json["parent"], format!("{first}@12"));
    assert_eq!(json["parent_run"], first);
    assert_eq!(json["parent_seq"], 12);
    let root = serde_json::to_value(&runs[0]).unwrap();
    assert!(root["parent"].is_null() && root["parent_run"].is_null());
    assert!(root["parent_seq"].is_null());
}
