//! Runs compared like MLflow's `search_runs`: one row per run, with
//! columns from what the run was started with and its final metrics;
//! filtered (`run_filter.rs`), sorted and cut to the columns asked for.
//!
//! Columns, by source:
//! - `run`: `script`, `status`, `snapshots`, `duration` (seconds).
//! - `argument`: the command line (`--lr 0.01`, `--lr=0.01`, `-n 3`, a bare
//!   `--flag` is true; dashes become underscores as argparse does), then
//!   any top-level `argparse.Namespace` of the last snapshot (its typed
//!   values win over the command line's text).
//! - `config`: top-level variables named config/cfg/args/hparams/
//!   hyperparameters (or ending in `_config`/`_cfg`) holding a dict or an
//!   object of plain values, and any top-level object of plain values shown
//!   as `Type(a=..., b=...)` (a dataclass).
//! - `hyperparameter`: a framework's own settings: a Hugging Face
//!   `TrainingArguments` and a Lightning module's `hparams`.
//! - `metric`: `final:NAME`, `min:NAME`, `max:NAME` of every series whose
//!   value changed (the last value; the smallest and largest finite one).
//!
//! A key already taken by an earlier source is named `VARIABLE.key`.
//! Everything is read from the stored records; nothing is unpickled.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use snapline_store::{ObjectKind, ObjectRecord, Store};

use crate::error::{QueryError, QueryResult};
use crate::metrics::{list_all_series, list_series};
use crate::objects::root_of;
use crate::objects::value_text::{number, render_value};
use crate::run_filter::{Cell, Filter};
use crate::runs::{list_runs, RunSummary};

/// Where a column's values come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ColumnSource {
    Run,
    Argument,
    Config,
    Hyperparameter,
    Metric,
}

/// A column of the runs table.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunColumn {
    pub name: String,
    pub source: ColumnSource,
}

/// One run's row: its id and start, and a cell per column it has.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunRow {
    pub id: String,
    /// Unix seconds (UTC); front ends show it in local time with the zone.
    pub started_at: f64,
    /// Column name -> cell; a column the run lacks is absent.
    pub values: BTreeMap<String, Cell>,
}

/// The runs table (`snapline runs --json` with `--where`/`--columns`/`--sort`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunTable {
    /// The columns shown, in order.
    pub columns: Vec<RunColumn>,
    /// Every column some run has (what `columns` and filters may name).
    pub available: Vec<RunColumn>,
    /// The runs that match the filter, sorted.
    pub rows: Vec<RunRow>,
    /// Runs in the store before filtering.
    pub total_runs: usize,
}

/// What to show: a filter, the columns, the order.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(serde::Deserialize)]
pub struct RunTableOptions {
    /// A filter expression (see `run_filter.rs`), e.g. `lr < 0.01 and final val_acc > 0.9`.
    pub filter: Option<String>,
    /// Columns to show, in order; `None`: the status, arguments,
    /// configs, the hyperparameters that differ between runs, and the final
    /// value of every metric.
    pub columns: Option<Vec<String>>,
    /// A column to sort by (runs without it last); `None`: oldest first.
    pub sort: Option<String>,
    pub descending: bool,
}

struct Built {
    row: RunRow,
    sources: Vec<(String, ColumnSource)>,
}

/// The runs table of a store as `opts` asks.
pub fn run_table(store: &Store, opts: &RunTableOptions) -> QueryResult<RunTable> {
    let filter = opts
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(Filter::parse)
        .transpose()
        .map_err(|e| QueryError::InvalidFilter(e.to_string()))?;
    let runs = list_runs(store)?;
    let total_runs = runs.len();
    // A series is a metric when it changed in some run (a val_acc stuck
    // at one value in one run is still compared with the others').
    let mut metrics: HashSet<String> = HashSet::new();
    for run in &runs {
        metrics.extend(list_series(store, &run.id)?.into_iter().map(|s| s.name));
    }
    let mut built = Vec::with_capacity(runs.len());
    for run in &runs {
        built.push(build_row(store, run, &metrics)?);
    }
    // Every column, in source order, then first appearance.
    let mut available: Vec<RunColumn> = Vec::new();
    let mut seen = HashSet::new();
    let mut order: Vec<(ColumnSource, usize, String)> = Vec::new();
    for b in &built {
        for (name, source) in &b.sources {
            if seen.insert(name.clone()) {
                order.push((*source, order.len(), name.clone()));
            }
        }
    }
    order.sort();
    for (source, _, name) in order {
        available.push(RunColumn { name, source });
    }
    let names: Vec<&str> = available.iter().map(|c| c.name.as_str()).collect();
    let resolve = |wanted: &str, position: Option<usize>| -> QueryResult<String> {
        resolve_column(wanted, &names).ok_or_else(|| {
            let at = position.map_or(String::new(), |p| format!(" (character {p} of the filter)"));
            QueryError::InvalidFilter(format!(
                "unknown column '{wanted}'{at}: the runs have {}",
                if names.is_empty() {
                    "no columns".to_owned()
                } else {
                    names.join(", ")
                }
            ))
        })
    };
    // Filter columns resolved once (`final val_acc` finds `final:train:val_acc`).
    let mut renamed: HashMap<String, String> = HashMap::new();
    if let Some(f) = &filter {
        for (name, position) in f.columns() {
            let full = resolve(name, Some(position))?;
            renamed.insert(name.to_owned(), full);
        }
    }
    let mut rows: Vec<RunRow> = built.into_iter().map(|b| b.row).collect();
    if let Some(f) = &filter {
        rows.retain(|r| {
            f.matches(&|name: &str| r.values.get(renamed.get(name).map_or(name, String::as_str)))
        });
    }
    if let Some(sort) = &opts.sort {
        let key = resolve(sort, None)?;
        rows.sort_by(|a, b| {
            use std::cmp::Ordering;
            match (a.values.get(&key), b.values.get(&key)) {
                (Some(x), Some(y)) => {
                    let o = order_cells(x, y);
                    if opts.descending {
                        o.reverse()
                    } else {
                        o
                    }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        });
    }
    let columns = match &opts.columns {
        Some(wanted) => {
            let mut out = Vec::new();
            for w in wanted.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
                let full = resolve(w, None).map_err(|e| match e {
                    QueryError::InvalidFilter(m) => QueryError::InvalidColumns(m),
                    other => other,
                })?;
                if let Some(c) = available.iter().find(|c| c.name == full) {
                    out.push(c.clone());
                }
            }
            out
        }
        None => default_columns(&available, &rows),
    };
    Ok(RunTable {
        columns,
        available,
        rows,
        total_runs,
    })
}

fn default_columns(available: &[RunColumn], rows: &[RunRow]) -> Vec<RunColumn> {
    available
        .iter()
        .filter(|c| match c.source {
            ColumnSource::Metric => c.name.starts_with("final:"),
            ColumnSource::Hyperparameter => {
                // Only those that tell the runs apart (a TrainingArguments has a hundred).
                let mut values = rows.iter().filter_map(|r| r.values.get(&c.name));
                let first = values.next();
                rows.len() > 1 && values.any(|v| Some(v) != first)
            }
            ColumnSource::Run => c.name == "status",
            _ => true,
        })
        .cloned()
        .collect()
}

fn order_cells(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => x.total_cmp(y),
        _ => a.text().cmp(&b.text()),
    }
}

/// A column by its exact name, or `final:NAME` (and min/max) by the last
/// part of a series name when one series has it.
fn resolve_column(wanted: &str, names: &[&str]) -> Option<String> {
    if names.contains(&wanted) {
        return Some(wanted.to_owned());
    }
    let (agg, leaf) = wanted.split_once(':')?;
    if !matches!(agg, "final" | "min" | "max") {
        return None;
    }
    let quoted = format!("[{}]", Value::String(leaf.to_owned()));
    let found: Vec<&&str> = names
        .iter()
        .filter(|n| {
            n.strip_prefix(agg)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|series| {
                    series
                        .strip_suffix(leaf)
                        .is_some_and(|h| h.ends_with(':') || h.ends_with('.'))
                        || series.ends_with(&quoted)
                })
        })
        .collect();
    match found.as_slice() {
        [one] => Some((**one).to_owned()),
        _ => None,
    }
}

fn cell_of(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::None,
        Value::Bool(b) => Cell::Bool(*b),
        Value::String(s) => Cell::Text(s.clone()),
        other => match number(other) {
            Some(n) => Cell::Number(n),
            None => Cell::Text(render_value(other)),
        },
    }
}

/// A command-line word as a cell: a number when it reads as one.
fn word_cell(word: &str) -> Cell {
    match word.parse::<f64>() {
        Ok(n)
            if !word.eq_ignore_ascii_case("nan") && !word.to_ascii_lowercase().contains("inf") =>
        {
            Cell::Number(n)
        }
        _ => Cell::Text(word.to_owned()),
    }
}

/// `--lr 0.01`, `--lr=0.01`, `-n 3`, `--flag` (true) from an argv whose
/// first word is the script. Positional words are left out.
pub fn parse_argv(argv: &[String]) -> Vec<(String, Cell)> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let word = &argv[i];
        i += 1;
        if word == "--" {
            break;
        }
        let Some(stripped) = word.strip_prefix("--").or_else(|| {
            word.strip_prefix('-')
                .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic()))
        }) else {
            continue;
        };
        let (name, value) = match stripped.split_once('=') {
            Some((n, v)) => (n, Some(word_cell(v))),
            None => {
                let next = argv.get(i);
                let is_value =
                    next.is_some_and(|n| !n.starts_with('-') || n.parse::<f64>().is_ok());
                if is_value {
                    i += 1;
                    (stripped, next.map(|n| word_cell(n)))
                } else {
                    (stripped, Some(Cell::Bool(true)))
                }
            }
        };
        if name.is_empty() {
            continue;
        }
        out.push((name.replace('-', "_"), value.unwrap_or(Cell::Bool(true))));
    }
    out
}

fn is_config_name(name: &str) -> bool {
    let n = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
    matches!(
        n.as_str(),
        "config" | "cfg" | "conf" | "args" | "hparams" | "hyperparameters" | "params" | "settings"
    ) || n.ends_with("_config")
        || n.ends_with("_cfg")
        || n.ends_with("_args")
}

/// The plain values of a dict or of an object of plain values, by key;
/// `None` when something in it is not a plain value.
fn plain_fields(store: &Store, record: &ObjectRecord) -> QueryResult<Option<Vec<(String, Cell)>>> {
    let plain = |v: &Value| match v {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
        other => number(other).is_some() || render_value(other).len() <= 80,
    };
    match record.kind {
        ObjectKind::Instance | ObjectKind::Container => {
            let mut out = Vec::new();
            for c in &record.children {
                let Some(key) = c.key.as_str() else {
                    return Ok(None);
                };
                match &c.value {
                    Some(v) if plain(v) => out.push((key.to_owned(), cell_of(v))),
                    _ => return Ok(None),
                }
            }
            Ok(Some(out))
        }
        ObjectKind::Value => {
            let Some(value) = crate::diff::record_value(store, record)? else {
                return Ok(None);
            };
            let pairs: Vec<(String, Value)> = match &value {
                Value::Object(map) if !map.keys().any(|k| k.starts_with('$')) => {
                    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                }
                Value::Object(map) => match map.get("$dict") {
                    Some(Value::Array(pairs)) => pairs
                        .iter()
                        .filter_map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([Value::String(k), v]) => Some((k.clone(), v.clone())),
                            _ => None,
                        })
                        .collect(),
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            };
            Ok(Some(
                pairs
                    .into_iter()
                    .filter(|(_, v)| plain(v))
                    .map(|(k, v)| (k, cell_of(&v)))
                    .collect(),
            ))
        }
        _ => Ok(None),
    }
}

/// A shown repr `Type(a=1, b=2)`: how a dataclass (or Namespace) prints.
fn looks_like_dataclass(record: &ObjectRecord) -> bool {
    let short = record
        .type_name
        .rsplit('.')
        .next()
        .unwrap_or(&record.type_name);
    record.kind == ObjectKind::Instance
        && !record.children.is_empty()
        && !record.extra.contains_key("torch_module")
        && record.preview.starts_with(&format!("{short}("))
}

struct RowBuilder {
    row: RunRow,
    sources: Vec<(String, ColumnSource)>,
}

impl RowBuilder {
    /// Sets a column; `prefix` names it `prefix.key` when `key` is taken.
    fn put(&mut self, key: &str, cell: Cell, source: ColumnSource, prefix: Option<&str>) {
        let name = match (self.row.values.contains_key(key), prefix) {
            (true, Some(p)) => format!("{p}.{key}"),
            _ => key.to_owned(),
        };
        if !self.row.values.contains_key(&name) {
            self.sources.push((name.clone(), source));
        }
        self.row.values.insert(name, cell);
    }
}

fn build_row(store: &Store, run: &RunSummary, metrics: &HashSet<String>) -> QueryResult<Built> {
    let mut b = RowBuilder {
        row: RunRow {
            id: run.id.clone(),
            started_at: run.started_at,
            values: BTreeMap::new(),
        },
        sources: Vec::new(),
    };
    b.put(
        "script",
        Cell::Text(run.script.clone()),
        ColumnSource::Run,
        None,
    );
    b.put(
        "status",
        Cell::Text(run.status.clone()),
        ColumnSource::Run,
        None,
    );
    b.put(
        "snapshots",
        Cell::Number(run.snapshots as f64),
        ColumnSource::Run,
        None,
    );
    b.put(
        "duration",
        Cell::Number(run.duration),
        ColumnSource::Run,
        None,
    );
    let argv: Vec<String> = run
        .lineage
        .get("argv")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for (name, cell) in parse_argv(&argv) {
        b.put(&name, cell, ColumnSource::Argument, None);
    }
    if let Some((_, last)) = store.seq_range(&run.id)? {
        read_configs(store, &run.id, last, &mut b)?;
    }
    for series in list_all_series(store, &run.id)? {
        if !metrics.contains(&series.name) {
            continue;
        }
        let points = store.metric_points(&run.id, &series.name)?;
        let Some(last) = points.last() else { continue };
        b.put(
            &format!("final:{}", series.name),
            Cell::Number(last.value),
            ColumnSource::Metric,
            None,
        );
        let finite = points.iter().map(|p| p.value).filter(|v| v.is_finite());
        let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if min <= max {
            b.put(
                &format!("min:{}", series.name),
                Cell::Number(min),
                ColumnSource::Metric,
                None,
            );
            b.put(
                &format!("max:{}", series.name),
                Cell::Number(max),
                ColumnSource::Metric,
                None,
            );
        }
    }
    Ok(Built {
        row: b.row,
        sources: b.sources,
    })
}

fn read_configs(store: &Store, run: &str, seq: i64, b: &mut RowBuilder) -> QueryResult<()> {
    let entries = store.entries(run, seq)?;
    let mut namespaces = Vec::new();
    let mut configs = Vec::new();
    let mut hparams = Vec::new();
    for e in &entries {
        if e.path.starts_with('$') || root_of(&e.path) != e.path {
            continue;
        }
        let record = store.object(&e.hash)?;
        let short = record.type_name.rsplit('.').next().unwrap_or("");
        if record.type_name == "argparse.Namespace" {
            namespaces.push((e.path.clone(), record));
        } else if short.ends_with("TrainingArguments") || short == "TrainingArguments" {
            hparams.push((e.path.clone(), record));
        } else if record.extra.contains_key("torch_module") {
            // A Lightning module's `hparams` (an AttributeDict in `_hparams`).
            if let Some(hash) = record
                .children
                .iter()
                .find(|c| c.key.as_str() == Some("_hparams"))
                .and_then(|c| c.hash.clone())
            {
                hparams.push((e.path.clone(), store.object(&hash)?));
            }
        } else if is_config_name(&e.path) || looks_like_dataclass(&record) {
            configs.push((e.path.clone(), record));
        }
    }
    for (path, record) in namespaces {
        if let Some(fields) = plain_fields(store, &record)? {
            for (k, cell) in fields {
                // The Namespace's typed value replaces the command line's text.
                if b.row.values.contains_key(&k)
                    && b.sources
                        .iter()
                        .any(|(n, s)| *n == k && *s == ColumnSource::Argument)
                {
                    b.row.values.insert(k, cell);
                } else {
                    b.put(&k, cell, ColumnSource::Argument, Some(&path));
                }
            }
        }
    }
    for (path, record) in configs {
        if let Some(fields) = plain_fields(store, &record)? {
            for (k, cell) in fields {
                b.put(&k, cell, ColumnSource::Config, Some(&path));
            }
        }
    }
    for (path, record) in hparams {
        let fields = match plain_fields(store, &record)? {
            Some(f) => f,
            // TrainingArguments hold a few objects too: keep the plain values.
            None => record
                .children
                .iter()
                .filter_map(|c| Some((c.key.as_str()?.to_owned(), cell_of(c.value.as_ref()?))))
                .filter(|(k, _)| !k.starts_with('_'))
                .collect(),
        };
        for (k, cell) in fields {
            b.put(&k, cell, ColumnSource::Hyperparameter, Some(&path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn argv_reads_like_argparse() {
        let parsed = parse_argv(&words(
            "train.py --lr 0.01 --batch-size=32 --shuffle -n 3 data.csv --name run1 --offset -1",
        ));
        assert_eq!(
            parsed,
            vec![
                ("lr".into(), Cell::Number(0.01)),
                ("batch_size".into(), Cell::Number(32.0)),
                ("shuffle".into(), Cell::Bool(true)),
                ("n".into(), Cell::Number(3.0)),
                ("name".into(), Cell::Text("run1".into())),
                ("offset".into(), Cell::Number(-1.0)),
            ]
        );
    }

    #[test]
    fn series_columns_resolve_by_their_last_part() {
        let names = ["lr", "final:train:val_acc", "final:loss", "min:loss"];
        assert_eq!(
            resolve_column("final:val_acc", &names).as_deref(),
            Some("final:train:val_acc")
        );
        assert_eq!(
            resolve_column("min:loss", &names).as_deref(),
            Some("min:loss")
        );
        assert_eq!(resolve_column("max:loss", &names), None);
        assert_eq!(resolve_column("batch", &names), None);
    }

    #[test]
    fn config_names() {
        assert!(
            is_config_name("cfg") && is_config_name("train_config") && is_config_name("hparams")
        );
        assert!(!is_config_name("model"));
    }
}
