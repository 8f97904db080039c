use std::path::Path;

use snapline_query::{list_runs, run_table, RunSummary, RunTable, RunTableOptions};

use crate::commands::{open_store, print_json};
use crate::format;

/// `snapline runs`: the list, or with a filter, columns or a sort, the runs table.
#[derive(clap::Args, Debug, Default)]
pub struct RunsArgs {
    /// Keep the runs matching EXPR: comparisons (<, <=, >, >=, ==, !=) of
    /// columns, numbers and 'strings', joined by and/or/not and
    /// parentheses; `final NAME`, `min NAME`, `max NAME` for a series'
    /// last, smallest and largest value. Example:
    /// `lr < 0.01 and final val_acc > 0.9`.
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Columns to show, comma-separated: argument and config names
    /// (`lr,batch_size`), `final:NAME`, `min:NAME`, `max:NAME`, `status`,
    /// `script`, `snapshots`, `duration`. Default: arguments, configs and
    /// final metrics.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Sort by this column (runs without it last).
    #[arg(long, value_name = "COLUMN")]
    sort: Option<String>,
    /// With --sort: largest first.
    #[arg(long, requires = "sort")]
    desc: bool,
}

impl RunsArgs {
    fn wants_table(&self) -> bool {
        self.filter.is_some() || self.columns.is_some() || self.sort.is_some()
    }
}

pub fn runs(store: &Path, args: &RunsArgs, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    if args.wants_table() {
        let table = run_table(
            &store,
            &RunTableOptions {
                filter: args.filter.clone(),
                columns: args.columns.clone(),
                sort: args.sort.clone(),
                descending: args.desc,
            },
        )?;
        if json {
            return print_json(&table);
        }
        print_run_table(&table);
        return Ok(());
    }
    let runs = list_runs(&store)?;
    if json {
        return print_json(&runs);
    }
    if runs.is_empty() {
        say!("no runs yet; capture one with `snapline run script.py`");
        return Ok(());
    }
    let rows = table_rows(&runs);
    format::table(
        &[
            "ID",
            "SCRIPT",
            "STATUS",
            "SNAPSHOTS",
            "STARTED",
            "DURATION",
            "STORED",
            "FROM",
        ],
        &rows,
    );
    for r in &runs {
        if let Some(line) = crate::commands::warnings::notice(&store, &r.id)? {
            say!("run {}: {line}", r.id);
        }
    }
    Ok(())
}

fn run_row(r: &RunSummary, id: String) -> Vec<String> {
    vec![
        id,
        r.script.clone(),
        r.status.clone(),
        r.snapshots.to_string(),
        format::timestamp(r.started_at),
        format::duration(r.duration),
        format::bytes(r.bytes_stored),
        from_column(r),
    ]
}

/// One row per solo run; a run group (the ranks of one torchrun job) is one
/// row where its first rank would be (group id, world size, a status
/// summary, the script, totals), followed by its ranks indented.
fn table_rows(runs: &[RunSummary]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut shown: Vec<&str> = Vec::new();
    for r in runs {
        let Some(group) = r.group.as_deref() else {
            rows.push(run_row(r, r.id.clone()));
            continue;
        };
        if shown.contains(&group) {
            continue;
        }
        shown.push(group);
        let mut ranks: Vec<&RunSummary> = runs
            .iter()
            .filter(|m| m.group.as_deref() == Some(group))
            .collect();
        ranks.sort_by_key(|m| m.rank);
        rows.push(group_row(group, &ranks));
        for m in ranks {
            rows.push(run_row(m, format!("  r{} {}", m.rank.unwrap_or(0), m.id)));
        }
    }
    rows
}

fn group_row(group: &str, ranks: &[&RunSummary]) -> Vec<String> {
    let world = ranks.iter().filter_map(|m| m.world_size).max().unwrap_or(0);
    let mut statuses: Vec<(String, usize)> = Vec::new();
    for m in ranks {
        match statuses.iter_mut().find(|(s, _)| *s == m.status) {
            Some(slot) => slot.1 += 1,
            None => statuses.push((m.status.clone(), 1)),
        }
    }
    let status = statuses
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let started = ranks
        .iter()
        .map(|m| m.started_at)
        .fold(f64::INFINITY, f64::min);
    let duration = ranks.iter().map(|m| m.duration).fold(0.0, f64::max);
    let script = ranks.first().map(|m| m.script.clone()).unwrap_or_default();
    let missing = usize::try_from(world)
        .unwrap_or(0)
        .saturating_sub(ranks.len());
    let mut size = format!("group of {world} ranks");
    if missing > 0 {
        size.push_str(&format!(", {missing} not captured here"));
    }
    vec![
        group.to_owned(),
        script,
        status,
        ranks.iter().map(|m| m.snapshots).sum::<i64>().to_string(),
        format::timestamp(started),
        format::duration(duration),
        format::bytes(ranks.iter().map(|m| m.bytes_stored).sum()),
        size,
    ]
}

/// The runs table: id, start, then the columns asked for.
fn print_run_table(table: &RunTable) {
    if table.rows.is_empty() {
        say!(
            "no run matches ({} run{} in the store)",
            table.total_runs,
            if table.total_runs == 1 { "" } else { "s" }
        );
        return;
    }
    let mut header: Vec<String> = vec!["ID".into(), "STARTED".into()];
    header.extend(table.columns.iter().map(|c| c.name.clone()));
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.id.clone(), format::timestamp(r.started_at)];
            row.extend(table.columns.iter().map(|c| {
                r.values
                    .get(&c.name)
                    .map_or_else(|| "-".to_owned(), |v| v.text())
            }));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    format::table(&header, &rows);
}

/// The FROM column: the snapshot a resumed run branched from, and where an
/// imported run came from.
fn from_column(run: &RunSummary) -> String {
    let imported = run.origin.as_ref().map(|o| {
        let host = o.get("host").and_then(|h| h.as_str()).unwrap_or("?");
        format!("imported from {host}")
    });
    match (run.parent.clone(), imported) {
        (Some(p), Some(i)) => format!("{p}, {i}"),
        (Some(p), None) => p,
        (None, Some(i)) => i,
        (None, None) => String::new(),
    }
}
