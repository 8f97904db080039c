//! `snapline export`: a run or a snapshot into one bundle file (or a
//! snapshot's arrays into safetensors / npz for people without Snapline).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use snapline_bundle::{export_bundle, Progress, Scope};
use snapline_query::{export_tensors, resolve_snapshot, TensorFormat};

use crate::commands::{open_store, print_json};
use crate::format;

#[derive(Args)]
pub struct ExportArgs {
    /// RUN (every snapshot of the run) or RUN@SEQ (one snapshot, with its
    /// run's lineage and metrics). RUN is an id prefix or `last`.
    pub what: String,
    /// The file to write (replaced atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// snapline: a bundle `snapline import` reads back; safetensors or npz:
    /// the snapshot's arrays and tensors, for tools without Snapline.
    #[arg(long, value_enum, default_value_t = ExportFormat::Snapline)]
    pub format: ExportFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Snapline,
    Safetensors,
    Npz,
}

pub fn export(store: &Path, args: ExportArgs, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let tensor_format = match args.format {
        ExportFormat::Snapline => None,
        ExportFormat::Safetensors => Some(TensorFormat::Safetensors),
        ExportFormat::Npz => Some(TensorFormat::Npz),
    };
    if let Some(tensor_format) = tensor_format {
        let snap = resolve_snapshot(&store, &args.what)?;
        let done = export_tensors(&store, &snap, tensor_format, &args.output)?;
        if json {
            return print_json(&done);
        }
        say!(
            "wrote {} arrays of {snap} to {} ({}, {})",
            done.arrays,
            done.path.display(),
            tensor_format.name(),
            format::bytes(i64::try_from(done.bytes).unwrap_or(i64::MAX))
        );
        for s in &done.skipped {
            say!("  skipped {}: {}", s.path, s.reason);
        }
        return Ok(());
    }
    let (run, scope) = if args.what.contains('@') {
        let snap = resolve_snapshot(&store, &args.what)?;
        (snap.run, Scope::Snapshot(snap.seq))
    } else {
        (store.resolve_run(&args.what)?, Scope::Run)
    };
    let bar = Bar::new(json);
    let done = export_bundle(&store, &run, scope, &args.output, &bar)?;
    if json {
        return print_json(&done);
    }
    let what = match scope {
        Scope::Run => format!("run {run} ({} snapshots)", done.snapshots),
        Scope::Snapshot(seq) => format!("snapshot {run}@{seq}"),
    };
    say!(
        "exported {what} to {}: {} objects, {} chunks ({} raw), {} metric points, {}",
        done.path.display(),
        done.objects,
        done.chunks,
        format::bytes(i64::try_from(done.raw_bytes).unwrap_or(i64::MAX)),
        done.metrics,
        format::bytes(i64::try_from(done.bytes).unwrap_or(i64::MAX))
    );
    Ok(())
}

/// A progress bar on stderr that appears only once a phase has taken more
/// than a second, and never when stderr is not a terminal or with --json.
pub struct Bar {
    enabled: bool,
    state: Mutex<Option<(ProgressBar, Instant, bool)>>,
}

impl Bar {
    pub fn new(json: bool) -> Bar {
        Bar {
            enabled: !json && std::io::stderr().is_terminal(),
            state: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(phase.to_owned());
        if let Ok(mut state) = self.state.lock() {
            *state = Some((bar, Instant::now(), false));
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            if let Some((bar, started, shown)) = state.as_mut() {
                bar.inc(bytes);
                if !*shown && started.elapsed() > Duration::from_secs(1) {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    *shown = true;
                }
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut state) = self.state.lock() {
            if let Some((bar, _, _)) = state.take() {
                bar.finish_and_clear();
            }
        }
    }
}
