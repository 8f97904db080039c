//! `snapline run`: starts `python -m snapline run ...` with the capture
//! agent, forwards SIGTERM/SIGINT/SIGHUP to it, and ends the way it ended
//! (same exit status, or death by the same signal).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::bail;

use crate::commands::python;

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

    /// The most of the run's wall time snapshots may take, in percent (default
    /// 2; 0: no budget). Past it, loop iterations are snapshotted less often
    /// (said once on stderr and in the run's warnings); an explicit
    /// --inner-every / --outer-every is kept as given.
    #[arg(long, value_name = "PERCENT")]
    budget: Option<String>,

    /// Do not snapshot after each top-level statement.
    #[arg(long)]
    no_statements: bool,

    /// Also record the first module and step whose output or gradient went
    /// non-finite (torch forward and gradient hooks, once the script imports
    /// torch) and the first numpy floating-point warning, as events
    /// (`snapline nan`). Slows training down: see bench/RESULTS.md.
    #[arg(long)]
    nan_hooks: bool,

    /// After each snapshot, pickle, load back and compare a sample of its
    /// new pickled objects: what would not come back the same at restore is
    /// a warning (`snapline warnings RUN`). Costs time.
    #[arg(long)]
    check_roundtrip: bool,

    /// Do not read the scalar variables loops assign at every iteration
    /// (their metric points then come from snapshots only).
    #[arg(long)]
    no_loop_metrics: bool,

    /// Run a module instead of a script, as `python -m` does:
    /// `snapline run [OPTIONS] -m package.module [ARGS]...` (what follows
    /// the module is its arguments).
    #[arg(short = 'm')]
    module: bool,

    /// The script (with -m: the module), then its own arguments.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "SCRIPT|MODULE [ARGS]...")]
    script_and_args: Vec<String>,
}

pub fn run(store: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let Some((script, script_args)) = args.script_and_args.split_first() else {
        bail!("no script given: snapline run [OPTIONS] script.py [ARGS]...");
    };
    if !args.module && !Path::new(script).is_file() {
        bail!("no such script: {script} (check the path; snapline's own options go before the script)");
    }
    let python = python::choose(args.python, None);
    python::ensure_exists(&python)?;
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
    if let Some(percent) = args.budget {
        cmd.arg("--budget").arg(percent);
    }
    if args.no_statements {
        cmd.arg("--no-statements");
    }
    if args.nan_hooks {
        cmd.arg("--nan-hooks");
    }
    if args.no_loop_metrics {
        cmd.arg("--no-loop-metrics");
    }
    if args.check_roundtrip {
        cmd.arg("--check-roundtrip");
    }
    if args.module {
        // The agent finds the module (or says, as python does, that there is none).
        cmd.arg("-m").arg(script).args(script_args);
    } else {
        cmd.arg("--").arg(script).args(script_args);
    }

    python::run_attached(cmd, python.as_os_str())
}
