//! `snapline restore`: resolves the snapshot here (an unknown one fails
//! fast), picks the interpreter (by default the one the run was captured
//! with), then hands over to `python -m snapline restore RUN@SEQ` with the
//! terminal attached: a prompt, a Jupyter kernel, `-c CODE`, or the script
//! resumed from the snapshot as a new run.
//!
//! A run imported from elsewhere is restored in safe mode (no code from it
//! runs; see `restore/safety.py`) unless `--trust`, and its recorded
//! interpreter is not used.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use snapline_query::{
    group_members, is_group_name, resolve_group, resolve_snapshot, run_summary, SnapshotRef,
};

use crate::commands::{open_store, python};

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// RUN@SEQ, RUN@first, RUN@last or RUN@step:N (a bare RUN means its
    /// last snapshot); with --resume, GROUP@step:N resumes a run group.
    snapshot: String,

    /// Continue the script from the snapshot, captured as a new run that
    /// branches from this one (`snapline runs` shows where). Of a run group
    /// (GROUP@step:N): the same number of ranks relaunched through
    /// `python -m torch.distributed.run`, each from its own rank's snapshot.
    #[arg(long, conflicts_with_all = ["jupyter", "command"])]
    resume: bool,

    /// Start a Jupyter kernel holding the snapshot's state.
    #[arg(long, conflicts_with = "command")]
    jupyter: bool,

    /// With --jupyter: write the kernel's connection file here (default:
    /// $SNAPLINE_CONNECTION_FILE, else Jupyter's runtime directory).
    #[arg(long, value_name = "FILE", requires = "jupyter")]
    connection_file: Option<PathBuf>,

    /// With --resume: resume even where it cannot be exact (the reasons are printed).
    #[arg(long, requires = "resume")]
    force: bool,

    /// Run no code from the snapshot: load only data (arrays, tensors,
    /// scalars, strings, containers) and well-known types (numpy, torch,
    /// torch.nn modules, pandas, datetime...); the script's functions,
    /// classes and settings do not run again, and everything else is
    /// reported as withheld. The default for a snapshot imported from
    /// elsewhere.
    #[arg(long, conflicts_with_all = ["trust", "resume"])]
    safe: bool,

    /// Load a snapshot imported from elsewhere in full, as if captured here,
    /// after listing what safe mode would withhold. Needed to --resume one.
    #[arg(long)]
    trust: bool,

    /// The Python interpreter (default: $SNAPLINE_PYTHON, else the one the
    /// run was captured with if it still exists, else the `python` beside
    /// this binary, else python3 on PATH). It needs the snapline package
    /// and the packages the snapshot's objects use.
    #[arg(long)]
    python: Option<PathBuf>,

    /// Run CODE in the restored state instead of opening a prompt (the
    /// fidelity report goes to stderr).
    #[arg(short = 'c', value_name = "CODE", allow_hyphen_values = true)]
    command: Option<String>,

    /// After `--`: arguments passed as they are to `python -m snapline restore`.
    #[arg(last = true, value_name = "ARGS")]
    passthrough: Vec<String>,
}

/// The interpreter the run was captured with, from its lineage.
fn recorded_python(lineage: &serde_json::Value) -> Option<PathBuf> {
    lineage
        .get("python")?
        .get("executable")?
        .as_str()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// A run group's resume: each rank's own snapshot at the named point
/// (`GROUP@step:N`, or the same seq in every rank), in rank order. None when
/// the name is not a bare group (a `GROUP/rK` rank resumes alone).
fn group_snapshots(
    store: &snapline_query::Store,
    name: &str,
) -> anyhow::Result<Option<(String, Vec<SnapshotRef>)>> {
    let (group_part, seq_part) = name.split_once('@').unwrap_or((name, "last"));
    if !is_group_name(group_part) {
        return Ok(None);
    }
    let group = resolve_group(store, group_part)?;
    let members = group_members(store, &group)?;
    let world = run_summary(store, &members[0])?.world_size.unwrap_or(0);
    if usize::try_from(world).ok() != Some(members.len()) {
        anyhow::bail!(
            "run group {group} has {world} ranks but this store holds {}: resuming it needs every rank's snapshot (bring the other ranks' runs into this store first)",
            members.len()
        );
    }
    let mut refs = Vec::with_capacity(members.len());
    for (rank, run) in members.iter().enumerate() {
        let summary = run_summary(store, run)?;
        if summary.rank != i64::try_from(rank).ok() {
            anyhow::bail!("run group {group} has no rank {rank} in this store: resuming it needs every rank's snapshot");
        }
        refs.push(resolve_snapshot(store, &format!("{run}@{seq_part}"))?);
    }
    Ok(Some((group, refs)))
}

pub fn restore(store_dir: &Path, args: RestoreArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(store_dir)?;
    let group = if args.resume {
        group_snapshots(&store, &args.snapshot)?
    } else {
        None
    };
    let snapshot = match &group {
        Some((_, refs)) => refs[0].clone(),
        None => resolve_snapshot(&store, &args.snapshot)?,
    };
    let run = run_summary(&store, &snapshot.run)?;
    let imported = store.run(&snapshot.run)?.origin.is_some();
    drop(store);

    // An imported run's interpreter path comes from elsewhere: never run it
    // unless trusted.
    let recorded = if imported && !args.trust {
        None
    } else {
        recorded_python(&run.lineage)
    };
    let python = python::choose(args.python, recorded);
    python::ensure_snapline(&python, "snapline.restore")?;

    // The Python side changes into the run's working directory: give it
    // the store by absolute path.
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store_abs = cwd.join(store_dir);
    let mut cmd = Command::new(&python);
    if let Some((group, refs)) = &group {
        // The same number of ranks again, through torchrun; each rank picks
        // its own snapshot from SNAPLINE_GROUP_SNAPSHOTS by its RANK.
        eprintln!(
            "snapline: resuming run group {group}: {} ranks through torchrun, from {}",
            refs.len(),
            refs.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        cmd.args(["-m", "torch.distributed.run", "--standalone"])
            .arg(format!("--nproc-per-node={}", refs.len()))
            .env(
                "SNAPLINE_GROUP_SNAPSHOTS",
                refs.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
    }
    cmd.arg("-m")
        .arg("snapline")
        .arg("restore")
        .arg(snapshot.to_string())
        .arg("--store")
        .arg(&store_abs);
    if args.resume {
        cmd.arg("--resume");
    }
    if args.jupyter {
        cmd.arg("--jupyter");
    }
    if let Some(file) = &args.connection_file {
        // Relative to where the user is, not to the run's directory.
        cmd.arg("--connection-file").arg(cwd.join(file));
    }
    if args.force {
        cmd.arg("--force");
    }
    if args.safe {
        cmd.arg("--safe");
    }
    if args.trust {
        cmd.arg("--trust");
    }
    if let Some(code) = &args.command {
        cmd.arg("-c").arg(code);
    }
    if json {
        cmd.arg("--json");
    }
    cmd.args(&args.passthrough);
    // The scratch directory a sandboxed (foreign, untrusted) restore may
    // write to: made here, removed when the restore ends.
    let scratch = Scratch::make();
    if let Some(dir) = &scratch {
        cmd.env("SNAPLINE_SCRATCH", &dir.0);
    }
    let code = python::run_attached(cmd, python.as_os_str());
    drop(scratch);
    code
}

/// A private temporary directory, removed (links not followed) when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn make() -> Option<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "snapline-restore-{}-{nanos:08x}",
            std::process::id()
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .ok()
            .map(|()| Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        restore: RestoreArgs,
    }

    #[test]
    fn safe_excludes_trust_and_resume() {
        let parse = |args: &[&str]| Cli::try_parse_from(["restore", "last@1"].iter().chain(args));
        assert!(parse(&["--safe", "-c", "pass"]).is_ok_and(|cli| cli.restore.safe));
        assert!(parse(&["--trust", "--resume"]).is_ok_and(|cli| cli.restore.trust));
        assert!(parse(&["--safe", "--trust"]).is_err());
        assert!(parse(&["--safe", "--resume"]).is_err());
    }

    #[test]
    fn reads_the_recorded_interpreter() {
        let lineage = serde_json::json!({"python": {"executable": "/venv/bin/python"}});
        assert_eq!(
            recorded_python(&lineage),
            Some(PathBuf::from("/venv/bin/python"))
        );
        assert_eq!(recorded_python(&serde_json::json!({})), None);
        assert_eq!(
            recorded_python(&serde_json::json!({"python": {"executable": ""}})),
            None
        );
    }
}
