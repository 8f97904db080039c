//! `snapline`: capture Python training runs and read them back.

#[macro_use]
mod escape;
mod commands;
mod format;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Snapline: a time-travel debugger for ML sessions.
///
/// Capture a Python training run with `snapline run train.py`, then look at
/// it with `snapline runs`, `log`, `show` and `metrics`, and bring any
/// snapshot back with `snapline restore`. Snapshots are named RUN@SEQ,
/// RUN@first or RUN@last, where RUN is an id prefix or `last`.
#[derive(Parser)]
#[command(name = "snapline", version, propagate_version = true)]
struct Cli {
    /// Print JSON instead of tables (stable field names, see docs/cli-json.md).
    #[arg(long, global = true)]
    json: bool,

    /// Show times in UTC instead of local time with the zone.
    #[arg(long, global = true)]
    utc: bool,

    /// The store directory.
    #[arg(
        long,
        global = true,
        env = "SNAPLINE_STORE",
        default_value = ".snapline"
    )]
    store: PathBuf,

    /// Answer from a team remote instead of the store (`runs`, `log`,
    /// `show`, `metrics`, `nan`, `plot`): its rows, and only the chunks the
    /// command needs, are fetched into a cache in the store.
    #[arg(long, global = true, value_name = "NAME")]
    remote: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Python script under capture: `snapline run [OPTIONS] script.py [ARGS]...` (or `-m package.module [ARGS]...`)
    Run(commands::run::RunArgs),
    /// Bring a snapshot back: a Python prompt holding its state, `-c CODE`
    /// run there, a Jupyter kernel, or the script resumed from it.
    Restore(commands::restore::RestoreArgs),
    /// Every run in the store: id, script, status, snapshots, duration, the
    /// run it branched from. With --where, --columns or --sort: the runs
    /// table, a column per argument, config value and final metric.
    Runs(commands::runs::RunsArgs),
    /// What the capture agent could not do in a run (a snapshot that failed,
    /// a value it could not record): the program itself was not changed.
    Warnings {
        /// Run id prefix or `last`.
        #[arg(default_value = "last")]
        run: String,
    },
    /// A run's snapshots: seq, trigger, file:line, loop counters, new/reused bytes.
    Log {
        /// Run id prefix or `last`.
        #[arg(default_value = "last")]
        run: String,
        /// Read back every chunk of every snapshot and check its hash.
        #[arg(long)]
        verify: bool,
    },
    /// The variables at a snapshot, or one object in detail.
    Show {
        /// RUN@SEQ, RUN@first or RUN@last (a bare RUN means its last snapshot).
        snapshot: String,
        /// A path such as 'params["W1"]' or 'model.fc1.weight' to show in detail.
        path: Option<String>,
        /// List every nested object and the RNG states ($rng.*), not just variables and arrays.
        #[arg(long)]
        all: bool,
    },
    /// What changed between two snapshots (of one run or of two): objects
    /// added, removed, moved and changed, down to array elements, DataFrame
    /// cells and dict keys. Nothing is unpickled.
    Diff {
        /// The earlier snapshot: RUN@SEQ, RUN@first or RUN@last.
        a: String,
        /// The later snapshot.
        b: String,
        /// Changed elements listed per array.
        #[arg(long, default_value_t = snapline_query::DiffOptions::default().elements)]
        elements: usize,
        /// Compare the agent's internal roots too (RNG states, loop entry states).
        #[arg(long)]
        all: bool,
    },
    /// Where NaN or Inf first appeared in a run: the snapshot, the objects
    /// (and whether they began as NaN or Inf), those that followed, the
    /// metrics that turned non-finite, the last clean snapshot, and what
    /// `run --nan-hooks` caught.
    Nan {
        /// Run id prefix or `last`.
        #[arg(default_value = "last")]
        run: String,
    },
    /// A run's metric series; with names, their points.
    Metrics {
        /// Run id prefix or `last`.
        #[arg(default_value = "last")]
        run: String,
        /// Series names (a full name, or its last part: `loss` finds `train:loss`).
        names: Vec<String>,
        /// The x of each point: step (the training step: framework step,
        /// else the loop's iteration count, else the epoch), epoch
        /// (completed iterations of the outermost loop), snapshot (the
        /// snapshot it was taken at) or time (seconds since the run started).
        #[arg(
            long = "x",
            value_name = "AXIS",
            value_enum,
            default_value_t = commands::metrics::AxisArg::Step
        )]
        x: commands::metrics::AxisArg,
        /// Without names: list values that never changed too (a series of
        /// one value is a variable, not a curve, and is left out by default).
        #[arg(long)]
        all: bool,
    },
    /// Draw metric series as a chart: `snapline plot [RUN...] SERIES... -o FILE.png|FILE.svg`.
    Plot(commands::plot::PlotArgs),
    /// Check every chunk and reference in the store; name the snapshots a
    /// problem affects (exit 1); `--repair` drops them and nothing else.
    Fsck(commands::fsck::FsckArgs),
    /// Thin out snapshots (--keep-last, --keep-every, --keep-labeled; the
    /// first and last of each run always stay) and reclaim unused chunks.
    Gc(commands::gc::GcArgs),
    /// Delete a run and reclaim what only it used.
    Rm(commands::rm::RmArgs),
    /// Write a run (RUN) or one snapshot (RUN@SEQ) to one self-contained
    /// bundle file: `snapline export last@12 -o nan.snapline`.
    Export(commands::export::ExportArgs),
    /// The team remotes (S3-compatible object storage) runs are pushed to
    /// and pulled from: `remote add NAME s3://BUCKET/PREFIX`, `list`, `remove`.
    Remote(commands::remote::RemoteArgs),
    /// Upload a run or a run group to a remote: only the chunks it lacks,
    /// then the run's manifest (a live run sends what is committed; push
    /// again for the rest).
    Push(commands::remote::PushArgs),
    /// Download a run or a run group from a remote into the store: only
    /// the chunks the store lacks, each checked, then one transaction.
    /// Pulled runs are foreign (restored safely, as imported bundles are).
    Pull(commands::remote::PullArgs),
    /// Read a bundle into the store: verified whole before anything is
    /// written; importing the same bundle twice does nothing.
    Import {
        /// The bundle file (`snapline export ... -o FILE`).
        bundle: PathBuf,
    },
    /// Open the desktop app on this store; with a bundle, import it and
    /// open its run.
    Open {
        /// A bundle (`.snapline`) to import and open.
        bundle: Option<PathBuf>,
        /// A run to open first (an id prefix or `last`).
        #[arg(long)]
        run: Option<String>,
        /// Wait for the window to close (default: return at once).
        #[arg(long)]
        wait: bool,
    },
    /// The native viewer: runs, a timeline to scrub, metric charts, variables,
    /// first NaN, diffs and restore commands; follows a live run. With
    /// `--json`, prints what it would open and opens nothing.
    View {
        /// A run to open first (an id prefix or `last`; default: the newest).
        run: Option<String>,
    },
}

fn main() -> ExitCode {
    // Behave like other Unix tools when piped into `head`: end quietly.
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut cli = Cli::parse();
    format::use_utc(cli.utc);
    if let Some(name) = cli.remote.clone() {
        match remote_view(&cli.store, &name, &mut cli.command, cli.json) {
            Ok(cache) => cli.store = cache,
            Err(err) => {
                eprintln!("snapline: error: {}", escape::lines(&format!("{err:#}")));
                return ExitCode::from(2);
            }
        }
    }
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&cli.store, args),
        Command::Restore(args) => commands::restore::restore(&cli.store, args, cli.json),
        Command::Runs(args) => {
            commands::runs::runs(&cli.store, &args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Warnings { run } => {
            commands::warnings::warnings(&cli.store, &run, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Log { run, verify } => commands::log::log(&cli.store, &run, verify, cli.json),
        Command::Show {
            snapshot,
            path,
            all,
        } => commands::show::show(&cli.store, &snapshot, path.as_deref(), all, cli.json)
            .map(|()| ExitCode::SUCCESS),
        Command::Diff {
            a,
            b,
            elements,
            all,
        } => {
            let options = snapline_query::DiffOptions {
                internal: all,
                elements,
            };
            commands::diff::diff(&cli.store, &a, &b, &options, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Nan { run } => {
            commands::nan::nan(&cli.store, &run, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Metrics { run, names, x, all } => {
            commands::metrics::metrics(&cli.store, &run, &names, x.into(), all, cli.json)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Plot(args) => {
            commands::plot::plot(&cli.store, args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Fsck(args) => commands::fsck::fsck(&cli.store, args, cli.json),
        Command::Gc(args) => commands::gc::gc(&cli.store, args, cli.json),
        Command::Rm(args) => commands::rm::rm(&cli.store, args, cli.json),
        Command::Export(args) => {
            commands::export::export(&cli.store, args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Remote(args) => {
            commands::remote::remote(&cli.store, args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Push(args) => {
            commands::remote::push(&cli.store, args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Pull(args) => {
            commands::remote::pull(&cli.store, args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Import { bundle } => {
            commands::import::import(&cli.store, &bundle, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Open { bundle, run, wait } => commands::open::open(
            &cli.store,
            bundle.as_deref(),
            run.as_deref(),
            wait,
            cli.json,
        )
        .map(|()| ExitCode::SUCCESS),
        Command::View { run } => {
            commands::view::view(&cli.store, run.as_deref(), cli.json).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("snapline: error: {}", escape::lines(&format!("{err:#}")));
            ExitCode::from(2)
        }
    }
}

/// `--remote NAME`: fills the remote's cache with what `command` reads,
/// points its run names at the full ids there, and returns the cache
/// directory, which the command then reads as its store.
fn remote_view(
    store: &std::path::Path,
    name: &str,
    command: &mut Command,
    json: bool,
) -> anyhow::Result<PathBuf> {
    use commands::remote::remote_view as fill;
    use snapline_remote::CacheNeed;
    let rows = |_: &[snapline_remote::Manifest]| CacheNeed::Rows;
    let one = |run: &mut String, ids: Vec<String>| {
        if let [id] = ids.as_slice() {
            *run = id.clone();
        }
    };
    let view = match command {
        Command::Runs(_) | Command::Plot(_) => fill(store, name, None, rows, json)?.0,
        Command::Log { run, .. } | Command::Nan { run } | Command::Metrics { run, .. } => {
            let (view, ids) = fill(store, name, Some(std::slice::from_ref(run)), rows, json)?;
            one(run, ids);
            view
        }
        Command::Show { snapshot, path, .. } => {
            let (run_name, seq) = match snapshot.split_once('@') {
                Some((r, s)) => (r.to_owned(), s.to_owned()),
                None => (snapshot.clone(), "last".to_owned()),
            };
            let wanted = path.clone();
            let pick = |m: &[snapline_remote::Manifest]| {
                let Some(m) = m.first() else {
                    return CacheNeed::Rows;
                };
                let seqs = m.rows.snapshots.iter().map(|s| s.seq);
                let at = match seq.as_str() {
                    "first" => seqs.min(),
                    "last" => seqs.max(),
                    n => n.parse().ok(),
                };
                match (at, &wanted) {
                    (Some(seq), Some(path)) => CacheNeed::Objects {
                        run: m.rows.run.id.clone(),
                        seq,
                        path: path.clone(),
                    },
                    _ => CacheNeed::Rows,
                }
            };
            let (view, ids) = fill(store, name, Some(&[run_name]), pick, json)?;
            if let [id] = ids.as_slice() {
                *snapshot = format!("{id}@{seq}");
            }
            view
        }
        _ => anyhow::bail!(
            "--remote works with runs, log, show, metrics, nan and plot; for the rest, `snapline pull RUN --from {name}` first"
        ),
    };
    Ok(view.cache)
}
