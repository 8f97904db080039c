//! Previews rendered when shown (`objects/record_preview.rs`) from records
//! that did not come from the agent: a bundle from elsewhere may hold any
//! JSON. A container that names itself as its own item, or holds a
//! hundred thousand items, still previews in bounded work.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use serde_json::json;
use snapline_bench::SyntheticRun;
use snapline_query::{show_snapshot, SnapshotRef};
use snapline_store::{
    Child, EntryRow, ObjectKind, ObjectRecord, SnapshotCommit, SnapshotMeta, Trigger,
};

fn container(type_name: &str, children: Vec<Child>) -> ObjectRecord {
    ObjectRecord {
        kind: ObjectKind::Container,
        type_name: type_name.into(),
        shape: Some(vec![children.len() as i64]),
        dtype: None,
        stats: None,
        preview: String::new(),
        restorable: true,
        reason: None,
        value: None,
        chunks: Vec::new(),
        nbytes: 0,
        children,
        extra: serde_json::Map::new(),
    }
}

fn child(key: serde_json::Value, hash: Option<&str>, value: Option<serde_json::Value>) -> Child {
    Child {
        key,
        hash: hash.map(str::to_owned),
        value,
        cycle: None,
    }
}

#[test]
fn crafted_containers_preview_in_bounded_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "crafted.py").unwrap();
    let looped = "0".repeat(32);
    let wide = "1".repeat(32);
    let missing = "2".repeat(32);
    let records = vec![
        // A dict whose one item is itself (content addressing never makes one).
        (
            looped.clone(),
            container("dict", vec![child(json!("self"), Some(&looped), None)]),
        ),
        // A list of 100,000 inline numbers and an item no record exists for.
        (
            wide.clone(),
            container(
                "list",
                std::iter::once(child(json!(0), Some(&missing), None))
                    .chain((1..100_000).map(|i| child(json!(i), None, Some(json!(i)))))
                    .collect(),
            ),
        ),
    ];
    let entries = vec![
        EntryRow {
            path: "looped".into(),
            node: 0,
            hash: looped,
        },
        EntryRow {
            path: "wide".into(),
            node: 1,
            hash: wide,
        },
    ];
    run.store
        .commit_snapshot(&SnapshotCommit {
            run_id: run.run.clone(),
            meta: SnapshotMeta {
                seq: 1,
                trigger: Trigger::Explicit,
                file: None,
                line: None,
                loops: Vec::new(),
                label: None,
                time: 1_700_000_000.0,
                capture_ms: 1.0,
                bytes_new: 0,
                bytes_reused: 0,
                objects: 2,
                nonfinite: 0,
                position: None,
            },
            chunks: Vec::new(),
            objects: records,
            entries,
            metrics: Vec::new(),
        })
        .unwrap();
    let shown = show_snapshot(
        &run.store,
        &SnapshotRef {
            run: run.run.clone(),
            seq: 1,
        },
        false,
    )
    .unwrap();
    let preview = |path: &str| {
        shown
            .iter()
            .find(|o| o.path == path)
            .map(|o| o.preview.clone())
            .unwrap()
    };
    assert_eq!(preview("looped"), "{'self': {'self': {'self': {...}}}}");
    assert_eq!(preview("wide"), "[..., 1, 2, 3, 4, 5, 6, 7, ...]");
}
