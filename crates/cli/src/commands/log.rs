use std::path::Path;

use snapline_query::run_log;

use crate::commands::{open_store, print_json};
use crate::format;

pub fn log(store: &Path, run: &str, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let (id, rows) = run_log(&store, run)?;
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("run {id} has no snapshots yet");
        return Ok(());
    }
    let start = rows.first().map(|r| r.time).unwrap_or_default();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            let file = s
                .file
                .as_deref()
                .and_then(|f| Path::new(f).file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let loops = if s.loops.is_empty() {
                String::new()
            } else {
                s.loops
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let mut note = s.label.clone().unwrap_or_default();
            if s.nonfinite > 0 {
                note = format!("{note} {} non-finite", s.nonfinite).trim().to_owned();
            }
            vec![
                s.seq.to_string(),
                s.trigger.as_str().to_owned(),
                match s.line {
                    Some(l) => format!("{file}:{l}"),
                    None => file,
                },
                loops,
                format!("+{:.2}s", s.time - start),
                format::bytes(s.bytes_new),
                format::bytes(s.bytes_reused),
                format!("{:.1}ms", s.capture_ms),
                note,
            ]
        })
        .collect();
    println!("run {id}");
    format::table(
        &["SEQ", "TRIGGER", "WHERE", "LOOPS", "TIME", "NEW", "REUSED", "CAPTURE", ""],
        &table,
    );
    Ok(())
}
