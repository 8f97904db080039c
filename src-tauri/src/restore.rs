//! Restoring a snapshot from the app: the `snapline` command-line tool does
//! the work (`snapline --store STORE restore RUN@SEQ ...`), started here as a
//! child process.
//!
//! - Resume (`restore_resume`): `--resume`, detached, its output going to
//!   `STORE/logs/resume-<ms>.log`; `resume_status` says whether it still
//!   runs, how it ended and the end of its log. The new run it captures
//!   reaches the window through the store watcher (`store-changed`).
//! - Kernel (`kernel_start`): `--jupyter --connection-file
//!   STORE/kernels/kernel-<ms>.json`, waited for until that file exists.
//!
//! The in-app Python console (a pseudo-terminal) is console.rs.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use snapline_query::{resolve_snapshot, shell_quote};
use tauri::State;

use crate::commands::{open_store, AppState};
use crate::views::{AppError, KernelStarted, ResumeStarted, ResumeStatus};

type Answer<T> = Result<T, AppError>;

/// How long `kernel_start` waits for the kernel's connection file.
pub const KERNEL_WAIT: Duration = Duration::from_secs(30);

/// The lines of a log `resume_status` and errors show.
const TAIL_LINES: usize = 20;

/// Where the `snapline` tool is: `$SNAPLINE_BIN`; beside the app's own
/// executable (the setup installs both into .venv/bin, the .deb into
/// /usr/bin); else `snapline` on PATH.
pub fn find_snapline() -> Answer<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    find_snapline_in(
        std::env::var_os("SNAPLINE_BIN"),
        exe_dir.as_deref(),
        std::env::var_os("PATH"),
    )
}

/// `find_snapline` with its inputs given: the value of `$SNAPLINE_BIN`, the
/// app's directory and `$PATH`.
pub fn find_snapline_in(
    bin: Option<OsString>,
    exe_dir: Option<&Path>,
    path: Option<OsString>,
) -> Answer<PathBuf> {
    if let Some(bin) = bin.filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        return Err(AppError {
            message: format!(
                "SNAPLINE_BIN is {}, which is not a file: point it at the `snapline` binary, or unset it",
                bin.display()
            ),
        });
    }
    let beside = exe_dir.map(|dir| dir.join("snapline"));
    let on_path = path
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("snapline"));
    if let Some(found) = beside.into_iter().chain(on_path).find(|p| p.is_file()) {
        return Ok(found);
    }
    Err(AppError {
        message: format!(
            "the snapline command-line tool was not found (not beside the app{} nor on PATH): run `bash scripts/setup.sh`, or install the .deb, or set SNAPLINE_BIN to its path",
            exe_dir
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default()
        ),
    })
}

/// `RUN@SEQ` of `snapshot` in the store (full run id), or why not.
pub fn resolve(store_dir: &Path, snapshot: &str) -> Answer<String> {
    let store = open_store(store_dir)?;
    let snap = resolve_snapshot(&store, snapshot)?;
    Ok(format!("{}@{}", snap.run, snap.seq))
}

/// `snapline --store STORE restore SNAPSHOT` (the caller adds the mode).
pub fn restore_command(store_dir: &Path, snapshot: &str) -> Answer<(PathBuf, Vec<OsString>)> {
    let bin = find_snapline()?;
    let args = vec![
        OsString::from("--store"),
        store_dir.as_os_str().to_owned(),
        OsString::from("restore"),
        OsString::from(snapshot),
    ];
    Ok((bin, args))
}

/// Milliseconds since 1970, for file names.
fn stamp() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// A directory under the store, created.
fn store_subdir(store_dir: &Path, name: &str) -> Answer<PathBuf> {
    let dir = store_dir.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| AppError {
        message: format!(
            "cannot create {}: {e} (is the store writable?)",
            dir.display()
        ),
    })?;
    Ok(dir)
}

/// Starts `bin args` with no input, its output appended to `log`, in a
/// process group of its own (so it outlives the app and a Ctrl+C meant for
/// the app).
fn spawn_logged(bin: &Path, args: &[OsString], log: &Path) -> Answer<Child> {
    let out = File::create(log).map_err(|e| AppError {
        message: format!("cannot create the log file {}: {e}", log.display()),
    })?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.spawn().map_err(|e| AppError {
        message: format!("could not start {}: {e}", bin.display()),
    })
}

/// The last `lines` lines of a log (its last 16 KiB at most), as text.
pub fn log_tail(path: &Path, lines: usize) -> String {
    const MAX: u64 = 16 * 1024;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX && file.seek(SeekFrom::Start(len - MAX)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A process started here: its log, and how it ended (None while it runs).
struct Tracked {
    log: PathBuf,
    ended: Option<Option<i32>>,
}

/// The processes the app started (resumed runs, kernels), by pid. Each is
/// waited for on a thread of its own, so none is left a zombie.
#[derive(Clone, Default)]
pub struct Processes {
    by_pid: Arc<Mutex<HashMap<u32, Tracked>>>,
}

impl Processes {
    /// Keeps `child` (writing to `log`) and waits for it on a thread.
    fn track(&self, mut child: Child, log: PathBuf) -> u32 {
        let pid = child.id();
        if let Ok(mut map) = self.by_pid.lock() {
            map.insert(pid, Tracked { log, ended: None });
        }
        let by_pid = self.by_pid.clone();
        std::thread::spawn(move || {
            let code = child.wait().ok().and_then(|s| s.code());
            if let Ok(mut map) = by_pid.lock() {
                if let Some(t) = map.get_mut(&pid) {
                    t.ended = Some(code);
                }
            }
        });
        pid
    }

    /// Whether process `pid` runs, how it ended, the end of its log.
    pub fn status(&self, pid: u32) -> Answer<ResumeStatus> {
        let (log, ended) = {
            let map = self.by_pid.lock().map_err(|_| AppError {
                message: "the process table is unusable after a crash: restart the app".into(),
            })?;
            let Some(t) = map.get(&pid) else {
                return Err(AppError {
                    message: format!(
                        "no process {pid} was started by this app: resume a snapshot first"
                    ),
                });
            };
            (t.log.clone(), t.ended)
        };
        Ok(ResumeStatus {
            running: ended.is_none(),
            exit_code: ended.flatten(),
            log_tail: log_tail(&log, TAIL_LINES),
        })
    }
}

/// Starts `snapline restore SNAPSHOT --resume` (the script goes on as a new
/// run), detached, its output in `STORE/logs/resume-<ms>.log`.
pub fn start_resume(
    store_dir: &Path,
    processes: &Processes,
    snapshot: &str,
) -> Answer<ResumeStarted> {
    let snapshot = resolve(store_dir, snapshot)?;
    let (bin, mut args) = restore_command(store_dir, &snapshot)?;
    args.push("--resume".into());
    let log = store_subdir(store_dir, "logs")?.join(format!("resume-{}.log", stamp()));
    let child = spawn_logged(&bin, &args, &log)?;
    let pid = processes.track(child, log.clone());
    Ok(ResumeStarted {
        pid,
        log: log.display().to_string(),
    })
}

/// Starts `snapline restore SNAPSHOT --jupyter --connection-file F` and
/// waits (up to `wait`) for F; an exit before that is an error with the end
/// of its output.
pub fn start_kernel(
    store_dir: &Path,
    processes: &Processes,
    snapshot: &str,
    wait: Duration,
) -> Answer<KernelStarted> {
    let snapshot = resolve(store_dir, snapshot)?;
    let (bin, mut args) = restore_command(store_dir, &snapshot)?;
    let dir = store_subdir(store_dir, "kernels")?;
    let name = format!("kernel-{}", stamp());
    let connection = dir.join(format!("{name}.json"));
    let log = dir.join(format!("{name}.log"));
    args.extend([
        OsStr::new("--jupyter").to_owned(),
        OsStr::new("--connection-file").to_owned(),
        connection.as_os_str().to_owned(),
    ]);
    let mut child = spawn_logged(&bin, &args, &log)?;
    let deadline = Instant::now() + wait;
    loop {
        // Whole: a kernel may be seen halfway through writing it.
        let ready = std::fs::read(&connection)
            .is_ok_and(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
        if ready {
            let pid = processes.track(child, log);
            let file = connection.display().to_string();
            return Ok(KernelStarted {
                command: format!("jupyter console --existing {}", shell_quote(&file)),
                connection_file: file,
                pid,
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            let tail = log_tail(&log, TAIL_LINES);
            return Err(AppError {
                message: format!(
                    "the Jupyter kernel for {snapshot} exited ({status}) before it was ready: {}",
                    if tail.is_empty() {
                        "it printed nothing"
                    } else {
                        &tail
                    }
                ),
            });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let tail = log_tail(&log, TAIL_LINES);
            return Err(AppError {
                message: format!(
                    "the Jupyter kernel for {snapshot} wrote no connection file in {} s and was stopped: {}",
                    wait.as_secs(),
                    if tail.is_empty() { "it printed nothing" } else { &tail }
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tauri::command]
pub async fn restore_resume(
    state: State<'_, AppState>,
    processes: State<'_, Processes>,
    snapshot: String,
) -> Answer<ResumeStarted> {
    start_resume(&state.store_dir, &processes, &snapshot)
}

#[tauri::command]
pub async fn resume_status(processes: State<'_, Processes>, pid: u32) -> Answer<ResumeStatus> {
    processes.status(pid)
}

#[tauri::command]
pub async fn kernel_start(
    state: State<'_, AppState>,
    processes: State<'_, Processes>,
    snapshot: String,
) -> Answer<KernelStarted> {
    let store_dir = state.store_dir.clone();
    let processes = processes.inner().clone();
    // Waiting for the kernel blocks: not on the async runtime's threads.
    tauri::async_runtime::spawn_blocking(move || {
        start_kernel(&store_dir, &processes, &snapshot, KERNEL_WAIT)
    })
    .await
    .map_err(|e| AppError {
        message: format!("starting the Jupyter kernel failed: {e}"),
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_log_is_its_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, text).unwrap();
        assert_eq!(log_tail(&log, 2), "line 98\nline 99");
        assert_eq!(log_tail(&dir.path().join("none.log"), 2), "");
    }
}
