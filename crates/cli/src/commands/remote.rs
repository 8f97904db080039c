//! `snapline remote add/list/remove`, `push`, `pull`, and the `--remote`
//! of `runs`, `log`, `show`, `metrics`, `nan` and `plot` (which answer from
//! a local cache of the remote's rows and the chunks they need).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use snapline_remote::{
    fill_cache, pull_runs, push_runs, CacheNeed, Manifest, Remote, RemoteSpec, Remotes,
};

use crate::commands::export::Bar;
use crate::commands::print_json;
use crate::format;

#[derive(Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    action: RemoteAction,
}

#[derive(Subcommand)]
enum RemoteAction {
    /// Name an S3-compatible location: `snapline remote add team s3://bucket/prefix`.
    /// Credentials, endpoint and region come from the AWS_* environment
    /// variables and ~/.aws/credentials and ~/.aws/config (AWS_PROFILE).
    Add {
        /// A short name (letters, digits, '-', '_').
        name: String,
        /// s3://BUCKET/PREFIX
        url: String,
    },
    /// The remotes of this store (the first is the default).
    List,
    /// Forget a remote (nothing on it is deleted).
    Remove {
        /// The remote's name.
        name: String,
    },
    /// Benchmark baseline (bench/remote_bench.py): upload FILE as one
    /// object KEY under the remote's prefix, through the same client, with
    /// no chunking or checks.
    #[command(hide = true)]
    RawPut {
        name: String,
        key: String,
        file: PathBuf,
    },
    /// Benchmark baseline: download object KEY into FILE.
    #[command(hide = true)]
    RawGet {
        name: String,
        key: String,
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct PushArgs {
    /// A run (id prefix or `last`) or a run group (its id, `g...`).
    target: String,
    /// The remote to push to (default: the first one added).
    #[arg(long = "to", value_name = "NAME")]
    to: Option<String>,
}

#[derive(Args)]
pub struct PullArgs {
    /// A run on the remote (id, id prefix or `last`) or a run group's id.
    target: String,
    /// The remote to pull from (default: the first one added).
    #[arg(long = "from", value_name = "NAME")]
    from: Option<String>,
}

fn connect(store: &Path, name: Option<&str>) -> anyhow::Result<Remote> {
    let spec: RemoteSpec = Remotes::load(store)?.resolve(name)?;
    Ok(Remote::connect(&spec)?)
}

pub fn remote(store: &Path, args: RemoteArgs, json: bool) -> anyhow::Result<()> {
    let mut remotes = Remotes::load(store)?;
    match args.action {
        RemoteAction::Add { name, url } => {
            let spec = remotes.add(&name, &url)?;
            remotes.save(store)?;
            if json {
                return print_json(&spec);
            }
            say!("added remote {} -> {}", spec.name, spec.url);
        }
        RemoteAction::List => {
            if json {
                return print_json(&remotes.remotes);
            }
            if remotes.remotes.is_empty() {
                say!("no remotes; add one with `snapline remote add NAME s3://BUCKET/PREFIX`");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = remotes
                .remotes
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let default = if i == 0 { "yes" } else { "" };
                    vec![r.name.clone(), r.url.clone(), default.to_owned()]
                })
                .collect();
            format::table(&["NAME", "URL", "DEFAULT"], &rows);
        }
        RemoteAction::RawPut { name, key, file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e} (give a readable file)", file.display()))?;
            let len = bytes.len();
            connect(store, Some(&name))?.put_raw(&key, bytes)?;
            if json {
                return print_json(&serde_json::json!({ "key": key, "bytes": len }));
            }
            say!("put {len} bytes at {key}");
        }
        RemoteAction::RawGet { name, key, file } => {
            let Some(bytes) = connect(store, Some(&name))?.get_raw(&key)? else {
                anyhow::bail!("{key} is not on the remote {name} (put it first)");
            };
            std::fs::write(&file, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e} (give a writable path)", file.display()))?;
            if json {
                return print_json(&serde_json::json!({ "key": key, "bytes": bytes.len() }));
            }
            say!("got {} bytes from {key}", bytes.len());
        }
        RemoteAction::Remove { name } => {
            let spec = remotes.remove(&name)?;
            remotes.save(store)?;
            if json {
                return print_json(&spec);
            }
            say!(
                "removed remote {} ({}); nothing on it was deleted",
                spec.name,
                spec.url
            );
        }
    }
    Ok(())
}

/// The local runs a PUSH target names: a group's ranks, or one run.
fn local_runs(store: &Path, target: &str) -> anyhow::Result<Vec<String>> {
    let store = crate::commands::open_store(store)?;
    if snapline_query::is_group_name(target) {
        if let Ok(group) = snapline_query::resolve_group(&store, target) {
            return Ok(snapline_query::group_members(&store, &group)?);
        }
    }
    Ok(vec![store.resolve_run(target)?])
}

pub fn push(store: &Path, args: PushArgs, json: bool) -> anyhow::Result<()> {
    let runs = local_runs(store, &args.target)?;
    let remote = connect(store, args.to.as_deref())?;
    let bar = Bar::new(json);
    let done = push_runs(store, &remote, &runs, &bar)?;
    if json {
        return print_json(&done);
    }
    for r in &done.runs {
        say!(
            "pushed run {} ({}, {} snapshot(s), {} chunks) to {}",
            r.run,
            r.status,
            r.snapshots,
            r.chunks,
            done.url
        );
    }
    say!(
        "{} chunk(s) sent ({}), {} already there",
        done.chunks_sent,
        format::bytes(i64::try_from(done.bytes_sent).unwrap_or(i64::MAX)),
        done.chunks_skipped
    );
    Ok(())
}

pub fn pull(store: &Path, args: PullArgs, json: bool) -> anyhow::Result<()> {
    let remote = connect(store, args.from.as_deref())?;
    let manifests = remote.select(&args.target)?;
    let bar = Bar::new(json);
    let done = pull_runs(store, &remote, &manifests, &bar)?;
    if json {
        return print_json(&done);
    }
    for r in &done.runs {
        match r.outcome.as_str() {
            "already here" => say!("run {}: already here; nothing to do", r.run),
            outcome => say!(
                "run {}: {outcome} from {}: {} snapshot(s), {} chunk(s) fetched ({})",
                r.run,
                done.url,
                r.seqs.len(),
                r.chunks_fetched,
                format::bytes(i64::try_from(r.bytes_fetched).unwrap_or(i64::MAX))
            ),
        }
    }
    Ok(())
}

/// What a `--remote` command reads: the cache directory to use as the
/// store, and each run name replaced by the full id it means there.
pub struct RemoteView {
    pub cache: PathBuf,
}

/// Fills the cache of remote `name` for a command naming `runs` (none:
/// every run on the remote), with `need` besides the rows; returns the
/// cache directory and the full run ids, in the order of `runs`.
pub fn remote_view(
    store: &Path,
    name: &str,
    runs: Option<&[String]>,
    need: impl Fn(&[Manifest]) -> CacheNeed,
    json: bool,
) -> anyhow::Result<(RemoteView, Vec<String>)> {
    let remote = connect(store, Some(name))?;
    let manifests = match runs {
        None => remote.manifests()?,
        Some(names) => {
            let mut all = Vec::new();
            for n in names {
                all.extend(remote.select(n)?);
            }
            all
        }
    };
    let ids: Vec<String> = manifests.iter().map(|m| m.rows.run.id.clone()).collect();
    let bar = Bar::new(json);
    let cached = fill_cache(store, &remote, &manifests, &need(&manifests), &bar)?;
    Ok((RemoteView { cache: cached.dir }, ids))
}
