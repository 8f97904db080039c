//! `snapline run`: starts `python -m snapline run ...` with the capture
//! agent, forwards SIGTERM/SIGINT/SIGHUP to it, and ends the way it ended
//! (same exit status, or death by the same signal).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;

#[derive(clap::Args)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// The Python interpreter to run the script with (default: $SNAPLINE_PYTHON,
    /// else the `python` beside this binary, else python3 on PATH). It must
    /// have the `snapline` package installed.
    #[arg(long)]
    python: Option<PathBuf>,

    /// Minimum seconds between snapshots at inner-loop iteration boundaries.
    #[arg(long, value_name = "SECONDS")]
    inner_every: Option<f64>,

    /// Minimum seconds between snapshots at outermost-loop iteration boundaries (default 0: every iteration).
    #[arg(long, value_name = "SECONDS")]
    outer_every: Option<f64>,

    /// Do not snapshot after each top-level statement.
    #[arg(long)]
    no_statements: bool,

    /// The script, then its own arguments.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "SCRIPT [ARGS]...")]
    script_and_args: Vec<String>,
}

fn find_python(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(p) = std::env::var_os("SNAPLINE_PYTHON") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            for name in ["python", "python3"] {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
    }
    PathBuf::from("python3")
}

pub fn run(store: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let Some((script, script_args)) = args.script_and_args.split_first() else {
        bail!("no script given: snapline run [OPTIONS] script.py [ARGS]...");
    };
    if !Path::new(script).is_file() {
        bail!("no such script: {script} (check the path; snapline's own options go before the script)");
    }
    let python = find_python(args.python);
    let mut cmd = Command::new(&python);
    cmd.arg("-m")
        .arg("snapline")
        .arg("run")
        .arg("--store")
        .arg(store);
    if let Some(s) = args.inner_every {
        cmd.arg("--inner-every").arg(s.to_string());
    }
    if let Some(s) = args.outer_every {
        cmd.arg("--outer-every").arg(s.to_string());
    }
    if args.no_statements {
        cmd.arg("--no-statements");
    }
    cmd.arg("--").arg(script).args(script_args);

    // Register before spawning so no signal slips between the two.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGTERM, SIGINT, SIGHUP])
        .context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "cannot start {} (pass --python PATH to a Python with snapline installed)",
            python.display()
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
