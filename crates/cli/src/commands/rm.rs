//! `snapline rm RUN`: delete a run and reclaim what only it used.

use std::path::Path;
use std::process::ExitCode;

use crate::commands::fsck::Bars;
use crate::commands::gc::print_sweep;
use crate::commands::{open_store, print_json};

#[derive(clap::Args)]
pub struct RmArgs {
    /// Run id prefix or `last`.
    run: String,
    /// Remove it even while it is being captured (that capture will then
    /// write snapshots that name missing objects and chunks).
    #[arg(long)]
    force: bool,
    /// Say what would be removed; change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn rm(store: &Path, args: RmArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut store = open_store(store)?;
    let id = store.resolve_run(&args.run)?;
    if !args.force && store.run_is_live(&id)? {
        anyhow::bail!(
            "run {id} is still being captured (its process is alive); stop it first, or pass --force to remove it anyway"
        );
    }
    let mut bars = Bars::new(json);
    let report = store.remove_run(&id, args.force, args.dry_run, &mut |p| bars.update(p));
    bars.finish();
    let report = report?;
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let snapshots = report.runs.first().map(|r| r.removed.len()).unwrap_or(0);
    say!(
        "{} run {id} ({snapshots} snapshots)",
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        }
    );
    print_sweep(&report);
    Ok(ExitCode::SUCCESS)
}
