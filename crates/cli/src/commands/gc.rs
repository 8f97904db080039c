//! `snapline gc`: thin out snapshots by retention rules and reclaim what
//! nothing references any more.

use std::path::Path;
use std::process::ExitCode;

use snapline_store::{KeepRules, SweepReport};

use crate::commands::fsck::{list, Bars};
use crate::commands::{open_store, print_json};
use crate::format;

#[derive(clap::Args)]
#[command(
    after_help = "Per run, the first and last snapshots always stay, and so does any \
snapshot a resumed run branched from; a run being captured is left whole. Without a keep \
option no snapshot is removed: gc only deletes object records and chunks nothing references \
(and the chunk files a killed capture left). Metric series stay whole. While a run is being \
captured, chunks are not deleted: run gc again when it ends."
)]
pub struct GcArgs {
    /// Keep the last N snapshots of every run.
    #[arg(long, value_name = "N")]
    keep_last: Option<u64>,
    /// Keep every snapshot whose seq is a multiple of K.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    keep_every: Option<u64>,
    /// Keep snapshots labeled with `snapline.checkpoint(label=...)`
    /// (notebook cells' automatic `In [N]` labels do not count).
    #[arg(long)]
    keep_labeled: bool,
    /// Say what would be removed; change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn gc(store: &Path, args: GcArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut store = open_store(store)?;
    let rules = KeepRules {
        last: args.keep_last,
        every: args.keep_every,
        labeled: args.keep_labeled,
    };
    let mut bars = Bars::new(json);
    let report = store.gc(&rules, args.dry_run, &mut |p| bars.update(p));
    bars.finish();
    let report = report?;
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rules.any() {
        for run in &report.runs {
            match &run.skipped {
                Some(why) => say!("{}: kept all {} ({why})", run.run, run.kept),
                None => say!(
                    "{}: kept {}, {} {}",
                    run.run,
                    run.kept,
                    if args.dry_run {
                        "would remove"
                    } else {
                        "removed"
                    },
                    run.removed.len()
                ),
            }
        }
    } else {
        say!("no keep rule given (--keep-last, --keep-every, --keep-labeled): every snapshot stays; sweeping only");
    }
    print_sweep(&report);
    Ok(ExitCode::SUCCESS)
}

/// The sweep's totals, shared with `rm`.
pub fn print_sweep(report: &SweepReport) {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    say!(
        "{verb} {} snapshots, {} object records, {} chunks, {} files: {} {}",
        report.snapshots_removed,
        report.objects_removed,
        report.chunks_removed,
        report.files_removed,
        format::bytes(report.bytes_freed as i64),
        if report.dry_run { "to free" } else { "freed" }
    );
    if report.catalog_bytes_freed > 0 {
        say!(
            "catalog packed: {} freed",
            format::bytes(report.catalog_bytes_freed as i64)
        );
    }
    if report.chunks_deferred > 0 || !report.live_runs.is_empty() {
        say!(
            "run {} is being captured: its snapshots stay, and {} unreferenced chunks stay until it ends (run gc again then)",
            list(&report.live_runs, 3),
            report.chunks_deferred
        );
    }
}
