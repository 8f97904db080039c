//! `snapline fsck [--repair]`: check every chunk and reference in the
//! store, name the snapshots each problem affects, and drop them cleanly.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use snapline_store::{FsckReport, ProblemKind, Progress, RepairReport};

use crate::commands::{open_store, print_json};
use crate::format;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 healthy (or repaired), 1 problems found and not \
repaired, 2 the store could not be read. Chunk files a killed capture left and runs still \
marked running are harmless left-overs: reported, reclaimed by --repair."
)]
pub struct FsckArgs {
    /// Drop what is damaged: the affected snapshots (row, entries, the
    /// metric points read from them), the damaged chunks and records, and
    /// reclaim kill -9 left-overs. Healthy snapshots are never touched.
    #[arg(long)]
    repair: bool,
}

/// `fsck --json`: the report, plus what the repair did.
#[derive(serde::Serialize)]
struct FsckOutput<'a> {
    healthy: bool,
    #[serde(flatten)]
    report: &'a FsckReport,
    repair: Option<&'a RepairReport>,
}

/// A progress bar on stderr for operations longer than a second; nothing
/// when stderr is not a terminal or the output is JSON.
pub struct Bars {
    enabled: bool,
    start: Instant,
    bar: Option<ProgressBar>,
    phase: &'static str,
}

impl Bars {
    pub fn new(json: bool) -> Bars {
        Bars {
            enabled: !json && std::io::stderr().is_terminal(),
            start: Instant::now(),
            bar: None,
            phase: "",
        }
    }

    pub fn update(&mut self, p: Progress) {
        if !self.enabled || self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>20} [{bar:30}] {pos}/{len} {eta}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        if self.phase != p.phase {
            self.phase = p.phase;
            bar.set_message(p.phase);
            bar.set_length(p.total);
            bar.reset_eta();
        }
        bar.set_position(p.done);
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn kind_text(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::MissingChunkFile => "missing chunk file",
        ProblemKind::DamagedChunk => "damaged chunk",
        ProblemKind::MissingChunkRow => "chunk with no catalog row",
        ProblemKind::MissingObject => "missing object",
        ProblemKind::BadRecord => "unreadable object record",
    }
}

/// "a@1, a@2 ... and 5 more".
pub fn list(items: &[String], max: usize) -> String {
    let mut out = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        out.push_str(&format!(" and {} more", items.len() - max));
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn fsck(store: &Path, args: FsckArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut store = open_store(store)?;
    let mut bars = Bars::new(json);
    let scan = store.fsck(&mut |p| bars.update(p));
    bars.finish();
    let scan = scan?;
    let report = scan.report.clone();
    let repaired = if args.repair && (!report.healthy() || has_leftovers(&report)) {
        let mut bars = Bars::new(json);
        let r = store.repair(scan, &mut |p| bars.update(p));
        bars.finish();
        Some(r?)
    } else {
        None
    };
    let fixed = repaired.as_ref().is_some_and(RepairReport::complete);
    let code = if report.healthy() || fixed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if json {
        print_json(&FsckOutput {
            healthy: report.healthy(),
            report: &report,
            repair: repaired.as_ref(),
        })?;
        return Ok(code);
    }
    say!(
        "checked {}, {}, {}, {} ({})",
        plural(report.runs as usize, "run", "runs"),
        plural(report.snapshots as usize, "snapshot", "snapshots"),
        plural(report.objects as usize, "object", "objects"),
        plural(report.chunks as usize, "chunk", "chunks"),
        format::bytes(report.chunk_bytes as i64)
    );
    for p in &report.problems {
        say!("{} {}: {}", kind_text(p.kind), p.subject, p.detail);
        if p.snapshots.is_empty() {
            say!("  no snapshot needs it");
        } else {
            say!(
                "  needed by {}: {}",
                plural(p.snapshots.len(), "snapshot", "snapshots"),
                list(&p.snapshots, 12)
            );
        }
    }
    let left = &report.leftovers;
    let mut notes = Vec::new();
    if !left.orphan_chunk_files.is_empty() {
        notes.push(format!(
            "{} no catalog row names (a snapshot in flight when its capture was killed)",
            plural(left.orphan_chunk_files.len(), "chunk file", "chunk files")
        ));
    }
    if !left.temp_files.is_empty() {
        notes.push(plural(
            left.temp_files.len(),
            "temporary file",
            "temporary files",
        ));
    }
    if left.orphan_bytes > 0 {
        notes.push(format!(
            "{} in those files",
            format::bytes(left.orphan_bytes as i64)
        ));
    }
    if !left.stale_runs.is_empty() {
        notes.push(format!(
            "{} still marked running though the process is gone ({})",
            plural(left.stale_runs.len(), "run", "runs"),
            list(&left.stale_runs, 5)
        ));
    }
    if left.orphan_rows > 0 {
        notes.push(format!(
            "{} of runs or snapshots that no longer exist",
            plural(left.orphan_rows as usize, "row", "rows")
        ));
    }
    if !notes.is_empty() {
        say!("left-overs, harmless: {}", notes.join("; "));
    }
    if !report.live_runs.is_empty() {
        say!(
            "being captured now: {} (chunk files in flight are not counted)",
            list(&report.live_runs, 5)
        );
    }
    match &repaired {
        Some(r) => print_repair(r),
        None if report.healthy() => {
            if notes.is_empty() {
                say!("healthy");
            } else {
                say!("healthy; `snapline fsck --repair` reclaims the left-overs");
            }
        }
        None => say!(
            "{} affecting {}; `snapline fsck --repair` drops those snapshots (the others are untouched)",
            plural(report.problems.len(), "problem", "problems"),
            plural(report.affected_snapshots.len(), "snapshot", "snapshots"),
        ),
    }
    Ok(code)
}

fn has_leftovers(report: &FsckReport) -> bool {
    let l = &report.leftovers;
    !l.orphan_chunk_files.is_empty()
        || !l.temp_files.is_empty()
        || !l.stale_runs.is_empty()
        || l.orphan_rows > 0
}

fn print_repair(r: &RepairReport) {
    if !r.dropped_snapshots.is_empty() {
        say!(
            "dropped {}: {}",
            plural(r.dropped_snapshots.len(), "snapshot", "snapshots"),
            list(&r.dropped_snapshots, 12)
        );
    }
    say!(
        "removed {}, {}, {} ({} freed)",
        plural(
            r.objects_removed as usize,
            "object record",
            "object records"
        ),
        plural(r.chunks_removed as usize, "chunk", "chunks"),
        plural(r.files_removed as usize, "file", "files"),
        format::bytes(r.bytes_freed as i64)
    );
    if !r.runs_marked_killed.is_empty() {
        say!("marked killed: {}", list(&r.runs_marked_killed, 5));
    }
    if r.orphan_rows_removed > 0 {
        say!(
            "removed {} of vanished runs or snapshots",
            plural(r.orphan_rows_removed as usize, "row", "rows")
        );
    }
    if r.complete() {
        say!("repaired");
    } else {
        if !r.skipped_snapshots.is_empty() {
            say!(
                "left {} of runs being captured: {}",
                plural(
                    r.skipped_snapshots.len(),
                    "damaged snapshot",
                    "damaged snapshots"
                ),
                list(&r.skipped_snapshots, 12)
            );
        }
        say!(
            "not finished: run {} is being captured; run `snapline fsck --repair` again when it ends",
            list(&r.live_runs, 3)
        );
    }
}
