//! Every command through tauri's mock runtime, as the window calls them
//! (JSON in, JSON out), on stores written by the real store code.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::Path;

use serde_json::{json, Value};
use snapline_bench::{Object, SyntheticRun};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;

mod common;
use common::{app_opening, call};

fn app(
    store: &Path,
    bundle: Option<&Path>,
) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_opening(store, bundle, None)
}

fn weights(value: f32, n: usize) -> Object {
    Object::F32 {
        shape: vec![n as i64],
        data: vec![value; n],
    }
}

/// A run of 6 snapshots: `w` changes at 2, goes NaN at 4; a loss series.
fn diverging(dir: &Path) -> String {
    let mut run = SyntheticRun::create(dir, "train.py").unwrap();
    for i in 0..6 {
        let w = match i {
            0 | 1 => weights(1.0, 16),
            2 | 3 => weights(2.0, 16),
            _ => weights(f32::NAN, 16),
        };
        let loss = if i >= 4 {
            f64::NAN
        } else {
            1.0 / (i + 1) as f64
        };
        run.snapshot(&[("w", &w), ("b", &weights(0.5, 4))], &[("loss", loss)])
            .unwrap();
    }
    run.run.clone()
}

#[test]
fn a_missing_store_is_a_message_not_a_blank_window() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, w) = app(&tmp.path().join("nowhere"), None);
    let start = call(&w, "startup", json!({})).unwrap();
    let error = start["error"].as_str().unwrap();
    assert!(error.contains("no Snapline store at"), "{error}");
    let err = call(&w, "list_runs", json!({})).unwrap_err();
    assert!(err.contains("snapline run script.py"), "{err}");
    assert_eq!(call(&w, "store_info", json!({})).unwrap()["runs"], 0);
}

#[test]
fn open_a_run_scrub_and_look_at_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let id = diverging(tmp.path());
    let (_app, w) = app(tmp.path(), None);
    assert!(call(&w, "startup", json!({})).unwrap()["error"].is_null());
    let runs = call(&w, "list_runs", json!({})).unwrap();
    assert_eq!(runs[0]["id"], id);
    let view = call(&w, "open_run", json!({"run": &id[..6]})).unwrap();
    assert_eq!(view["snapshots"].as_array().unwrap().len(), 6);
    assert_eq!(view["series"][0]["name"], "loss");
    assert_eq!(view["nan"]["first"]["seq"], 5);
    // Snapshot 3 changed w (2.0 from 1.0); snapshot 4 changed nothing.
    let at3 = call(&w, "snapshot_objects", json!({"run": id, "seq": 3})).unwrap();
    assert_eq!(at3["changed"], json!(["w"]));
    assert_eq!(at3["objects"].as_array().unwrap().len(), 2);
    let at4 = call(&w, "snapshot_objects", json!({"run": id, "seq": 4})).unwrap();
    assert_eq!(at4["changed"], json!([]));
    let detail = call(
        &w,
        "object_detail",
        json!({"run": id, "seq": 3, "path": "w"}),
    )
    .unwrap();
    assert_eq!(detail["stats"]["mean"], 2.0);
    let history = call(&w, "object_history", json!({"run": id, "path": "w"})).unwrap();
    let means: Vec<Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stats"]["mean"].clone())
        .collect();
    assert_eq!(
        means,
        json!([1.0, 1.0, 2.0, 2.0, null, null])
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(history[5]["stats"]["nan"], 16);
}

#[test]
fn curves_diff_nan_and_restore_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let id = diverging(tmp.path());
    let (_app, w) = app(tmp.path(), None);
    let series = call(
        &w,
        "series_view",
        json!({"run": id, "name": "loss", "x": "step", "from": null, "to": null,
               "width": 400, "smooth": 0.6, "logY": false}),
    )
    .unwrap();
    assert!(!series["smoothed"].is_null());
    assert!(series["markers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["kind"] == "nan"));
    let bad = call(
        &w,
        "series_view",
        json!({"run": id, "name": "loss", "x": "sideways", "from": null, "to": null,
               "width": 400, "smooth": null, "logY": false}),
    )
    .unwrap_err();
    assert!(bad.contains("use step, epoch, snapshot or time"), "{bad}");
    // A click on a snapshot's x opens that snapshot: its seq comes along.
    let by_snapshot = call(
        &w,
        "series_view",
        json!({"run": id, "name": "loss", "x": "snapshot", "from": null, "to": null,
               "width": 400, "smooth": null, "logY": false}),
    )
    .unwrap();
    let xs = by_snapshot["snapshots"].as_array().unwrap();
    let seqs = by_snapshot["snapshot_seqs"].as_array().unwrap();
    assert_eq!(xs.len(), seqs.len());
    assert!(xs.iter().zip(seqs).all(|(x, s)| x.as_f64() == s.as_f64()));

    // The runs table, and a bad filter named where it goes wrong.
    let table = call(
        &w,
        "run_table",
        json!({"options": {"filter": "snapshots > 0",
        "columns": null, "sort": null, "descending": false}}),
    )
    .unwrap();
    assert_eq!(table["rows"][0]["id"], id);
    let bad = call(
        &w,
        "run_table",
        json!({"options": {"filter": "snapshots >",
        "columns": null, "sort": null, "descending": false}}),
    )
    .unwrap_err();
    assert!(bad.contains("character 12"), "{bad}");

    let diff = call(
        &w,
        "diff_snapshots",
        json!({"a": format!("{id}@2"), "b": format!("{id}@3")}),
    )
    .unwrap();
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["path"], "w");
    let nan = call(&w, "first_nan", json!({"run": id})).unwrap();
    assert_eq!(nan["last_clean"], 4);
    assert_eq!(nan["began"][0]["path"], "w");

    let line = call(
        &w,
        "restore_command",
        json!({"snapshot": format!("{}@4", &id[..5]), "mode": "resume"}),
    )
    .unwrap();
    let line = line.as_str().unwrap();
    assert!(line.contains(&format!("restore {id}@4 --resume")), "{line}");
    let kernel = call(
        &w,
        "restore_command",
        json!({"snapshot": format!("{id}@4"), "mode": "kernel"}),
    )
    .unwrap();
    assert!(kernel.as_str().unwrap().ends_with("--jupyter"));
    let err = call(
        &w,
        "restore_command",
        json!({"snapshot": format!("{id}@99"), "mode": "repl"}),
    )
    .unwrap_err();
    assert!(err.contains("99"), "{err}");
}

#[test]
fn export_a_bundle_and_open_it_in_another_store() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let id = diverging(&src);
    let (_app, w) = app(&src, None);
    let bundle = tmp.path().join("nan.snapline");
    let said = call(
        &w,
        "export_bundle",
        json!({"snapshot": format!("{id}@5"), "path": bundle, "format": "snapline"}),
    )
    .unwrap();
    assert!(said.as_str().unwrap().contains("1 snapshot"), "{said}");
    let npz = tmp.path().join("w.npz");
    call(
        &w,
        "export_bundle",
        json!({"snapshot": format!("{id}@5"), "path": npz, "format": "npz"}),
    )
    .unwrap();
    assert!(npz.is_file());

    // `snapline open nan.snapline`: a fresh store, the bundle imported at startup.
    let dst = tmp.path().join("dst");
    let (_app2, w2) = app(&dst, Some(&bundle));
    let start = call(&w2, "startup", json!({})).unwrap();
    assert_eq!(start["open_run"], id, "{start}");
    // A reloaded window does not import again.
    assert_eq!(call(&w2, "startup", json!({})).unwrap(), start);
    let view = call(&w2, "open_run", json!({"run": id})).unwrap();
    assert_eq!(view["snapshots"][0]["seq"], 5);
    assert!(view["run"]["origin"].is_object());

    // A damaged bundle: the message names it, the store is unchanged.
    let broken = tmp.path().join("broken.snapline");
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let err = call(&w2, "import_bundle", json!({"path": broken})).unwrap_err();
    assert!(
        err.contains("truncated") || err.contains("damaged"),
        "{err}"
    );
    assert_eq!(
        call(&w2, "list_runs", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_run_deleted_while_open_is_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let id = diverging(tmp.path());
    let (_app, w) = app(tmp.path(), None);
    call(&w, "open_run", json!({"run": id})).unwrap();
    let mut store = snapline_store::Store::open(tmp.path()).unwrap();
    store.remove_run(&id, true, false, &mut |_| {}).unwrap();
    let err = call(&w, "open_run", json!({"run": id})).unwrap_err();
    assert!(err.contains(&id[..6]), "{err}");
    let err = call(&w, "snapshot_objects", json!({"run": id, "seq": 1})).unwrap_err();
    assert!(!err.is_empty());
}

#[test]
fn a_run_named_at_start_is_opened_first() {
    let tmp = tempfile::tempdir().unwrap();
    let id = diverging(tmp.path());
    let (_app, w) = app_opening(tmp.path(), None, Some("last"));
    let start = call(&w, "startup", json!({})).unwrap();
    assert_eq!(start["open_run"], id);
    let (_app2, w2) = app_opening(tmp.path(), None, Some("zzz"));
    let start = call(&w2, "startup", json!({})).unwrap();
    assert!(start["open_run"].is_null());
    assert!(start["error"].as_str().unwrap().contains("zzz"), "{start}");
}

#[test]
fn a_loaded_series_is_reused_until_the_run_grows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(tmp.path(), "live.py").unwrap();
    for i in 0..3 {
        run.snapshot(
            &[("b", &weights(0.5, 4))],
            &[("loss", 1.0 / (i + 1) as f64)],
        )
        .unwrap();
    }
    let (_app, w) = app(tmp.path(), None);
    let id = run.run.clone();
    let view = |width: u32| {
        call(
            &w,
            "series_view",
            json!({"run": id, "name": "loss", "x": "step", "from": null, "to": null,
                   "width": width, "smooth": null, "logY": false}),
        )
        .unwrap()
    };
    assert_eq!(view(400)["total_points"], 3);
    assert_eq!(view(200)["total_points"], 3);
    // A live run commits another snapshot: the next view has its point.
    run.snapshot(&[("b", &weights(0.5, 4))], &[("loss", 0.1)])
        .unwrap();
    let grown = view(400);
    assert_eq!(grown["total_points"], 4);
    let last = grown["points"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last[1], 0.1);
    // Another axis is another entry, and a wrong one a clear message.
    assert_eq!(
        call(
            &w,
            "series_view",
            json!({"run": id, "name": "loss", "x": "time", "from": null, "to": null,
                   "width": 400, "smooth": null, "logY": false}),
        )
        .unwrap()["x_axis"],
        "time"
    );
}

#[test]
fn a_store_from_a_newer_version_is_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    diverging(tmp.path());
    let conn = rusqlite::Connection::open(tmp.path().join("catalog.sqlite")).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let (_app, w) = app(tmp.path(), None);
    let start = call(&w, "startup", json!({})).unwrap();
    let error = start["error"].as_str().unwrap();
    assert!(error.contains("999"), "{error}");
    assert!(call(&w, "list_runs", json!({})).is_err());
}

#[test]
fn agent_warnings_show_in_the_run_list_and_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let quiet = diverging(tmp.path());
    let mut run = SyntheticRun::create(tmp.path(), "train.py").unwrap();
    run.snapshot(&[("w", &weights(1.0, 4))], &[("loss", 1.0)])
        .unwrap();
    let started = run.store.run(&run.run).unwrap().started_at;
    let failure = "snapshot failed: UnicodeEncodeError: surrogates not allowed\nTraceback (most recent call last):\n  File \"agent.py\", line 1";
    run.store
        .add_warning(&run.run, started + 2.5, failure)
        .unwrap();
    run.store
        .add_warning(&run.run, started + 4.0, "capture stopped")
        .unwrap();
    let id = run.run.clone();
    let (_app, w) = app(tmp.path(), None);

    let runs = call(&w, "list_runs", json!({})).unwrap();
    let count = |run: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run)
            .unwrap()["warnings"]
            .clone()
    };
    assert_eq!(count(&id), 2);
    assert_eq!(count(&quiet), 0);

    let view = call(&w, "open_run", json!({"run": id})).unwrap();
    assert_eq!(view["run"]["warnings"], 2);
    let listed = view["warnings"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0]["summary"],
        "snapshot failed: UnicodeEncodeError: surrogates not allowed"
    );
    assert_eq!(listed[0]["message"], failure);
    assert_eq!(listed[0]["offset"], 2.5);
    assert_eq!(listed[1]["summary"], "capture stopped");

    let again = call(&w, "agent_warnings", json!({"run": &id[..6]})).unwrap();
    assert_eq!(again, view["warnings"]);
    let none = call(&w, "open_run", json!({"run": quiet})).unwrap();
    assert_eq!(none["warnings"], json!([]));
    let err = call(&w, "agent_warnings", json!({"run": "nope"})).unwrap_err();
    assert!(err.contains("nope"), "{err}");
}
