use std::path::Path;

use snapline_query::{run_warnings, AgentWarning, Store};

use crate::commands::{open_store, print_json};
use crate::format;

/// `snapline warnings RUN`: what the capture agent could not do in a run.
pub fn warnings(store: &Path, run: &str, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let (id, rows) = run_warnings(&store, run)?;
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        say!("run {id}: no agent warnings");
        return Ok(());
    }
    say!("run {id}: {}", count_text(rows.len()));
    for w in &rows {
        say!("\n+{} {}", format::duration(w.offset), w.message.trim_end());
    }
    Ok(())
}

/// "1 agent warning" / "3 agent warnings".
pub fn count_text(n: usize) -> String {
    format!("{n} agent warning{}", if n == 1 { "" } else { "s" })
}

/// The line `runs` and `log` print under a run that has warnings.
pub fn notice(store: &Store, id: &str) -> anyhow::Result<Option<String>> {
    let (_, rows): (String, Vec<AgentWarning>) = run_warnings(store, id)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let last = rows.last().map(|w| w.summary.clone()).unwrap_or_default();
    Ok(Some(format!(
        "{} (last: {}); see `snapline warnings {id}`",
        count_text(rows.len()),
        last
    )))
}
