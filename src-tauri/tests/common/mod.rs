//! The app on tauri's mock runtime, and commands called as the window calls
//! them (JSON in, JSON out): shared by the shell's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::Path;

use serde_json::Value;
use snapline_app::commands::AppState;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

/// The app on `store` (started with a bundle or a run to open, as given)
/// and its main window.
pub fn app_opening(
    store: &Path,
    bundle: Option<&Path>,
    run: Option<&str>,
) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let state = AppState {
        store_dir: store.to_path_buf(),
        bundle: bundle.map(Path::to_path_buf),
        run: run.map(str::to_owned),
        opened: std::sync::Mutex::new(None),
    };
    let app = snapline_app::configure(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}

/// A command's answer, or the message it was refused with.
pub fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, String> {
    let response = get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    );
    match response {
        Ok(body) => Ok(body.deserialize::<Value>().unwrap()),
        Err(e) => Err(e["message"].as_str().unwrap_or(&e.to_string()).to_owned()),
    }
}
