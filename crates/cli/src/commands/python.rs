//! The Python side of `snapline run` and `snapline restore`: which
//! interpreter runs it, and running it with the terminal attached while
//! forwarding SIGTERM/SIGINT/SIGHUP, ending the way it ended (same exit
//! status, or death by the same signal).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;

/// The interpreter to use: `--python PATH`, else `$SNAPLINE_PYTHON`, else
/// `recorded` (the run's own interpreter, when that file still exists), else
/// the `python` beside this binary, else `python3` on PATH.
pub fn choose(explicit: Option<PathBuf>, recorded: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(p) = std::env::var_os("SNAPLINE_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = recorded.filter(|p| is_executable(p)) {
        return p;
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            for name in ["python", "python3"] {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return candidate;
                }
            }
        }
    }
    PathBuf::from("python3")
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The file `program` names: itself when it has a slash, else the first
/// executable of that name on PATH.
fn locate(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Fails with one clear line unless `python` exists.
pub fn ensure_exists(python: &Path) -> anyhow::Result<()> {
    if locate(python).is_none() {
        bail!(
            "Python interpreter {} not found (pass --python PATH to one that has snapline installed)",
            python.display()
        );
    }
    Ok(())
}

/// Fails with one clear line unless `python` can import `module` (a part
/// of the snapline package).
pub fn ensure_snapline(python: &Path, module: &str) -> anyhow::Result<()> {
    ensure_exists(python)?;
    let done = Command::new(python)
        .arg("-c")
        .arg(format!("import {module}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot start Python interpreter {}", python.display()))?;
    if done.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&done.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if last.contains("No module named 'snapline'") {
        bail!(
            "the snapline package is not installed in {} (install it there, or pass --python PATH to an interpreter that has it)",
            python.display()
        );
    }
    if last.contains(&format!("No module named '{module}'")) {
        bail!(
            "the snapline package in {} is too old for this command (no {module}; reinstall it, or pass --python PATH)",
            python.display()
        );
    }
    bail!(
        "{} cannot import {module}: {} (fix that interpreter, or pass --python PATH)",
        python.display(),
        if last.is_empty() { "it failed" } else { last }
    );
}

/// Runs `cmd` with the terminal attached, forwarding SIGTERM, SIGHUP and a
/// SIGINT sent to us alone; returns its exit status, or dies by the signal
/// that killed it.
pub fn run_attached(mut cmd: Command, program: &OsStr) -> anyhow::Result<ExitCode> {
    // Register before spawning so no signal slips between the two.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGTERM, SIGINT, SIGHUP])
        .context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "cannot start {} (pass --python PATH to a Python with snapline installed)",
            Path::new(program).display()
        )
    })?;
    let child_pid = i32::try_from(child.id()).unwrap_or(0);
    let forwarder = std::thread::spawn(move || {
        for info in signals.forever() {
            // A terminal's Ctrl-C reaches the whole foreground process group,
            // the child included; forward only what was sent to us alone.
            let from_kernel = info.process.is_none();
            if info.signal == SIGINT && from_kernel {
                continue;
            }
            // SAFETY: kill(2) with a pid we spawned and a valid signal number.
            unsafe {
                libc::kill(child_pid, info.signal);
            }
        }
    });
    let status = child.wait().context("waiting for the Python process")?;
    signal_handle.close();
    let _ = forwarder.join();
    if let Some(sig) = status.signal() {
        // Die the same way; the default action of SIGTERM/SIGINT ends us here.
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        return Ok(ExitCode::from(
            128u8.saturating_add(u8::try_from(sig).unwrap_or(0)),
        ));
    }
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1) & 0xff).unwrap_or(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_by_path_and_on_path() {
        assert!(locate(Path::new("/nonexistent/python")).is_none());
        assert!(locate(Path::new("sh")).is_some());
        assert!(locate(Path::new("no-such-program-snapline")).is_none());
    }

    #[test]
    fn a_missing_interpreter_is_one_clear_line() {
        let err = ensure_exists(Path::new("/nonexistent/python")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Python interpreter /nonexistent/python not found \
             (pass --python PATH to one that has snapline installed)"
        );
    }

    #[test]
    fn the_flag_wins() {
        let p = choose(Some("/x/python".into()), Some("/y/python".into()));
        assert_eq!(p, PathBuf::from("/x/python"));
    }
}
