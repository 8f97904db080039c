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

#[test]
fn series_are_listed_and_their_first_nonfinite_point_found_through_the_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = snapline_bench::SyntheticRun::create(dir.path(), "train.py").unwrap();
    for i in 0..5 {
        let loss = if i == 3 {
            f64::NAN
        } else {
            1.0 / (i + 1) as f64
        };
        run.snapshot(
            &[],
            &[("loss", loss), ("acc", 0.1 * i as f64), ("lr", 0.01)],
        )
        .unwrap();
    }
    let names: Vec<(String, i64)> = snapline_query::list_series(&run.store, &run.run)
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.points))
        .collect();
    // `lr` never changes: a variable, not a curve.
    assert_eq!(names, [("acc".into(), 5), ("loss".into(), 5)]);
    let all: Vec<String> = snapline_query::list_all_series(&run.store, &run.run)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(all, ["acc", "loss", "lr"]);
    // The run list's main series: losses first, then accuracies; not lr.
    let summary = snapline_query::run_summary(&run.store, &run.run).unwrap();
    let last: Vec<(&str, f64)> = summary
        .last_metrics
        .iter()
        .map(|m| (m.name.as_str(), m.value))
        .collect();
    assert_eq!(last, [("loss", 0.2), ("acc", 0.4)]);
    let bad = run.store.first_nonfinite_metrics(&run.run).unwrap();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].name.as_str(), bad[0].step), ("loss", 4.0));
    // The query must keep the partial index's condition word for word, or
    // SQLite reads every point again (1,000,000 in the app's benchmark).
    let conn = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            snapline_store::FIRST_NONFINITE_METRICS
        ))
        .unwrap()
        .query_map([&run.run], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter().any(|p| p.contains("metrics_nonfinite")),
        "{plan:?}"
    );
}
