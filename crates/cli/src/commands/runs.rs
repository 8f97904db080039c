use std::path::Path;

use snapline_query::list_runs;

use crate::commands::{open_store, print_json};
use crate::format;

pub fn runs(store: &Path, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let runs = list_runs(&store)?;
    if json {
        return print_json(&runs);
    }
    if runs.is_empty() {
        say!("no runs yet; capture one with `snapline run script.py`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.script.clone(),
                r.status.clone(),
                r.snapshots.to_string(),
                format::timestamp(r.started_at),
                format::duration(r.duration),
                format::bytes(r.bytes_stored),
                from_column(r),
            ]
        })
        .collect();
    format::table(
        &[
            "ID",
            "SCRIPT",
            "STATUS",
            "SNAPSHOTS",
            "STARTED (UTC)",
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

/// The FROM column: the snapshot a resumed run branched from, and where an
/// imported run came from.
fn from_column(run: &snapline_query::RunSummary) -> String {
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
