//! `snapline open [BUNDLE]`: starts the desktop app on this store (and, with
//! a bundle, imports it there and opens its run). The app is its own binary,
//! `snapline-app`, built by the setup command or installed by the .deb.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// Where the app binary is: `$SNAPLINE_APP`; beside this binary (the setup
/// command installs both into .venv/bin, the .deb into /usr/bin); the
/// workspace's target directory (a developer's build); on PATH (the .deb's
/// app, opened from the wheel's `snapline` in a venv).
fn find_app() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SNAPLINE_APP") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let here = exe.parent()?;
    let mut candidates = vec![here.join("snapline-app")];
    for dir in here.ancestors().skip(1) {
        for profile in ["release", "debug"] {
            candidates.push(dir.join("target").join(profile).join("snapline-app"));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("snapline-app")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// What `open` did, for `--json`.
#[derive(serde::Serialize)]
struct Opened {
    app: PathBuf,
    pid: u32,
    store: PathBuf,
    bundle: Option<PathBuf>,
}

pub fn open(
    store: &Path,
    bundle: Option<&Path>,
    run: Option<&str>,
    wait: bool,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(bundle) = bundle {
        if !bundle.is_file() {
            bail!(
                "{}: no such bundle file (make one with `snapline export RUN -o FILE.snapline`)",
                bundle.display()
            );
        }
    }
    let Some(app) = find_app() else {
        bail!("the desktop app (snapline-app) is not installed: use `snapline view` (the native viewer, in this same binary), or install the app's .deb (README, \"Desktop app\"), or set SNAPLINE_APP to its path");
    };
    let store = std::path::absolute(store).unwrap_or_else(|_| store.to_path_buf());
    let mut cmd = Command::new(&app);
    cmd.arg("--store").arg(&store);
    if let Some(run) = run {
        cmd.arg("--run").arg(run);
    }
    if let Some(bundle) = bundle {
        cmd.arg(std::path::absolute(bundle).unwrap_or_else(|_| bundle.to_path_buf()));
    }
    if !wait {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", app.display()))?;
    if json {
        crate::commands::print_json(&Opened {
            app: app.clone(),
            pid: child.id(),
            store: store.clone(),
            bundle: bundle.map(Path::to_path_buf),
        })?;
    } else {
        say!(
            "opened {} on {} (pid {})",
            app.display(),
            store.display(),
            child.id()
        );
    }
    if wait {
        let status = child.wait()?;
        if !status.success() {
            bail!("{} exited with {status}", app.display());
        }
    }
    Ok(())
}
