//! Resume, kernel and console through tauri's mock runtime, with
//! `$SNAPLINE_BIN` pointing at a small shell script that stands in for the
//! `snapline` tool: it prints its arguments, then acts by mode (resume:
//! exits 3; kernel: writes the connection file, or fails for snapshot 2;
//! console: reads a line and echoes it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use snapline_app::restore::find_snapline_in;
use snapline_bench::{Object, SyntheticRun};
use tauri::test::MockRuntime;
use tauri::{Listener, WebviewWindow};

mod common;
use common::{app_opening, call};

const FAKE_SNAPLINE: &str = r#"#!/bin/sh
echo "fake snapline $*"
case "$*" in
  *--resume*)
    echo "resuming"
    exit 3 ;;
  *@2\ --jupyter*)
    echo "No module named 'ipykernel'" >&2
    exit 1 ;;
  *--jupyter*)
    while [ "$#" -gt 0 ]; do
      if [ "$1" = "--connection-file" ]; then file="$2"; fi
      shift
    done
    echo '{"shell_port": 5555}' > "$file"
    exit 0 ;;
  *)
    printf 'ready> '
    read -r line
    echo "got: $line"
    exit 0 ;;
esac
"#;

/// Writes the stand-in script once and points `$SNAPLINE_BIN` at it (every
/// test here uses the same one, so the variable never changes under another).
fn fake_snapline() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let bin = dir.join("snapline");
        std::fs::write(&bin, FAKE_SNAPLINE).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::env::set_var("SNAPLINE_BIN", &bin);
        bin
    })
}

fn app(store: &Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    fake_snapline();
    app_opening(store, None, None)
}

fn small_run(dir: &Path) -> String {
    let mut run = SyntheticRun::create(dir, "train.py").unwrap();
    for i in 0..3 {
        let w = Object::F32 {
            shape: vec![4],
            data: vec![i as f32; 4],
        };
        run.snapshot(&[("w", &w)], &[("loss", 1.0 / (i + 1) as f64)])
            .unwrap();
    }
    run.run.clone()
}

/// Waits until `ready` holds (10 s at most).
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every payload of `event` from now on.
fn collect(app: &tauri::App<MockRuntime>, event: &str) -> Arc<Mutex<Vec<Value>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    app.listen_any(event, move |e| {
        let payload: Value = serde_json::from_str(e.payload()).unwrap();
        sink.lock().unwrap().push(payload);
    });
    got
}

/// The `data` of console `id`'s output events so far, joined.
fn output_of(events: &Mutex<Vec<Value>>, id: &Value) -> String {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| &e["id"] == id)
        .map(|e| e["data"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_unknown_snapshot_is_a_clear_error_for_every_action() {
    let tmp = tempfile::tempdir().unwrap();
    let id = small_run(tmp.path());
    let (_app, w) = app(tmp.path());
    let snapshot = format!("{id}@99");
    for (cmd, args) in [
        ("restore_resume", json!({"snapshot": snapshot})),
        ("kernel_start", json!({"snapshot": snapshot})),
        (
            "console_open",
            json!({"snapshot": snapshot, "cols": 80, "rows": 24}),
        ),
    ] {
        let err = call(&w, cmd, args).unwrap_err();
        assert!(err.contains("99"), "{cmd}: {err}");
    }
    // Nothing was started, so nothing was logged.
    assert!(!tmp.path().join("logs").exists());
    let err = call(&w, "resume_status", json!({"pid": 1})).unwrap_err();
    assert!(err.contains("no process 1"), "{err}");
}

#[test]
fn the_snapline_tool_is_found_or_the_error_says_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    let beside = tmp.path().join("app");
    let on_path = tmp.path().join("bin");
    std::fs::create_dir_all(&beside).unwrap();
    std::fs::create_dir_all(&on_path).unwrap();

    let err = find_snapline_in(None, Some(&beside), Some(on_path.clone().into())).unwrap_err();
    assert!(err
        .message
        .contains("snapline command-line tool was not found"));
    assert!(err.message.contains("SNAPLINE_BIN"), "{}", err.message);
    assert!(err.message.contains("scripts/setup.sh"), "{}", err.message);

    let missing = tmp.path().join("nope");
    let err = find_snapline_in(Some(missing.clone().into()), Some(&beside), None).unwrap_err();
    assert!(
        err.message.contains(&missing.display().to_string())
            && err.message.contains("SNAPLINE_BIN"),
        "{}",
        err.message
    );

    std::fs::write(on_path.join("snapline"), "").unwrap();
    let found = find_snapline_in(None, Some(&beside), Some(on_path.clone().into())).unwrap();
    assert_eq!(found, on_path.join("snapline"));
    // Beside the app wins over PATH; $SNAPLINE_BIN over both.
    std::fs::write(beside.join("snapline"), "").unwrap();
    let found = find_snapline_in(None, Some(&beside), Some(on_path.clone().into())).unwrap();
    assert_eq!(found, beside.join("snapline"));
    let found = find_snapline_in(
        Some(fake_snapline().into()),
        Some(&beside),
        Some(on_path.into()),
    )
    .unwrap();
    assert_eq!(found, fake_snapline());
}

#[test]
fn resume_logs_the_output_and_reports_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let id = small_run(tmp.path());
    let (_app, w) = app(tmp.path());
    let started = call(
        &w,
        "restore_resume",
        json!({"snapshot": format!("{}@1", &id[..6])}),
    )
    .unwrap();
    let pid = started["pid"].as_u64().unwrap();
    let log = PathBuf::from(started["log"].as_str().unwrap());
    assert!(log.starts_with(tmp.path().join("logs")), "{log:?}");
    let mut status = Value::Null;
    wait_until("the resumed process to end", || {
        status = call(&w, "resume_status", json!({"pid": pid})).unwrap();
        status["running"] == false
    });
    assert_eq!(status["exit_code"], 3, "{status}");
    let tail = status["log_tail"].as_str().unwrap();
    // The snapshot was resolved to the full id before the tool was started.
    assert!(tail.contains(&format!("restore {id}@1 --resume")), "{tail}");
    assert!(tail.ends_with("resuming"), "{tail}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().trim_end(), tail);
}

#[test]
fn a_kernel_answers_its_connection_file_or_why_it_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let id = small_run(tmp.path());
    let (_app, w) = app(tmp.path());
    let kernel = call(&w, "kernel_start", json!({"snapshot": format!("{id}@1")})).unwrap();
    let file = PathBuf::from(kernel["connection_file"].as_str().unwrap());
    assert!(file.starts_with(tmp.path().join("kernels")), "{file:?}");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("shell_port"));
    assert!(kernel["pid"].as_u64().unwrap() > 0);
    let command = kernel["command"].as_str().unwrap();
    assert!(
        command.starts_with("jupyter console --existing ") && command.contains("kernel-"),
        "{command}"
    );

    // Exits before writing the file (no ipykernel there): its stderr says why.
    let err = call(&w, "kernel_start", json!({"snapshot": format!("{id}@2")})).unwrap_err();
    assert!(err.contains("exited"), "{err}");
    assert!(err.contains("No module named 'ipykernel'"), "{err}");
}

#[test]
fn the_console_streams_output_and_takes_input() {
    let tmp = tempfile::tempdir().unwrap();
    let id = small_run(tmp.path());
    let (app, w) = app(tmp.path());
    let output = collect(&app, "console-output");
    let exits = collect(&app, "console-exit");
    let console = call(
        &w,
        "console_open",
        json!({"snapshot": format!("{id}@2"), "cols": 100, "rows": 30}),
    )
    .unwrap();
    wait_until("the prompt", || {
        output_of(&output, &console).contains("ready> ")
    });
    let text = output_of(&output, &console);
    assert!(text.contains("fake snapline --store"), "{text}");
    assert!(text.contains(&format!("restore {id}@2")), "{text}");

    call(
        &w,
        "console_resize",
        json!({"id": console, "cols": 120, "rows": 40}),
    )
    .unwrap();
    call(
        &w,
        "console_input",
        json!({"id": console, "data": "print(1)\r"}),
    )
    .unwrap();
    wait_until("the echoed line", || {
        output_of(&output, &console).contains("got: print(1)")
    });
    wait_until("console-exit", || !exits.lock().unwrap().is_empty());
    assert_eq!(exits.lock().unwrap()[0], json!({"id": console, "code": 0}));
    // An ended console takes no more input; closing it is fine.
    let err = call(&w, "console_input", json!({"id": console, "data": "x"})).unwrap_err();
    assert!(err.contains("closed"), "{err}");
    call(&w, "console_close", json!({"id": console})).unwrap();
}

#[test]
fn closing_a_console_kills_its_process() {
    let tmp = tempfile::tempdir().unwrap();
    let id = small_run(tmp.path());
    let (app, w) = app(tmp.path());
    let output = collect(&app, "console-output");
    let exits = collect(&app, "console-exit");
    let console = call(
        &w,
        "console_open",
        json!({"snapshot": format!("{id}@1"), "cols": 80, "rows": 24}),
    )
    .unwrap();
    wait_until("the prompt", || {
        output_of(&output, &console).contains("ready> ")
    });
    call(&w, "console_close", json!({"id": console})).unwrap();
    wait_until("console-exit after close", || {
        exits.lock().unwrap().iter().any(|e| e["id"] == console)
    });
    assert!(!output_of(&output, &console).contains("got:"));
}
