//! Events: stored in order with the snapshots of their run, read back by
//! time and kind; a schema-2 catalog gains the table when opened.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use snapline_store::{Event, RunInfo, Store, SCHEMA_VERSION};

fn info() -> RunInfo {
    RunInfo {
        script: "train.py".into(),
        started_at: 1_700_000_000.0,
        lineage: serde_json::json!({"argv": ["train.py"]}),
        parent_run: None,
        parent_seq: None,
    }
}

fn event(time: f64, seq: Option<i64>, kind: &str, module: &str) -> Event {
    Event {
        time,
        seq,
        kind: kind.into(),
        detail: serde_json::json!({
            "source": "torch", "phase": "forward", "module": module, "class": "Linear",
            "step": 17, "loops": [0, 17], "nan": 3, "posinf": 0, "neginf": 0,
            "inputs": [{"shape": [4, 8], "dtype": "float32", "min": -1.5, "max": null}],
        }),
    }
}

#[test]
fn events_read_back_by_time_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let run = store.begin_run(&info()).unwrap();
    let other = store.begin_run(&info()).unwrap();
    let late = event(30.0, Some(4), "nonfinite", "fc2");
    let early = event(10.0, None, "nonfinite", "fc1");
    let note = event(20.0, Some(1), "note", "-");
    for e in [&late, &early, &note] {
        store.add_event(&run, e).unwrap();
    }
    store
        .add_event(&other, &event(5.0, None, "nonfinite", "x"))
        .unwrap();

    // Another connection (another process would be the same) reads them.
    let reader = Store::open(dir.path()).unwrap();
    assert_eq!(
        reader.events(&run, None).unwrap(),
        vec![early.clone(), note, late.clone()]
    );
    assert_eq!(
        reader.events(&run, Some("nonfinite")).unwrap(),
        vec![early, late]
    );
    assert!(reader.events(&run, Some("nothing")).unwrap().is_empty());
    assert_eq!(reader.events(&other, None).unwrap().len(), 1);
    let detail = &reader.events(&run, None).unwrap()[0].detail;
    assert_eq!(detail["inputs"][0]["max"], serde_json::Value::Null);
    assert_eq!(detail["module"], "fc1");
}

#[test]
fn a_schema_2_catalog_migrates_to_3_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.sqlite");
    std::fs::create_dir_all(dir.path().join("chunks")).unwrap();
    {
        // The catalog as a build of schema 2 left it, with one run.
        let conn = rusqlite::Connection::open(&catalog).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../migrations/0002_position.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO runs (id, ordinal, script, lineage, started_at, status)
             VALUES ('0123456789ab', 1, 'old.py', '{}', 1.0, 'finished')",
            [],
        )
        .unwrap();
    }
    const { assert!(SCHEMA_VERSION >= 3) }; // later migrations (4: runs.origin) apply too
    let store = Store::open(dir.path()).unwrap();
    let version: i64 = rusqlite::Connection::open(&catalog)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(store.runs().unwrap()[0].script, "old.py");
    assert!(store.events("0123456789ab", None).unwrap().is_empty());
    store
        .add_event("0123456789ab", &event(1.5, Some(0), "nonfinite", "fc2"))
        .unwrap();
    assert_eq!(store.events("0123456789ab", None).unwrap().len(), 1);
}
