use std::path::Path;
use std::process::ExitCode;

use snapline_query::{run_log, run_summary, verify_snapshot, SnapshotRow, Verification};

use crate::commands::{open_store, print_json};
use crate::format;

/// A log row with its verification (`snapline log --verify --json`).
#[derive(serde::Serialize)]
struct VerifiedRow<'a> {
    #[serde(flatten)]
    row: &'a SnapshotRow,
    verified: bool,
    problem: Option<String>,
}

pub fn log(store: &Path, run: &str, verify: bool, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(store)?;
    let (id, rows) = run_log(&store, run)?;
    let checks: Vec<Verification> = if verify {
        rows.iter()
            .map(|r| verify_snapshot(&store, &id, r.seq))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let damaged = checks.iter().filter(|c| !c.ok).count();
    let code = if damaged > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if json {
        if verify {
            let out: Vec<VerifiedRow<'_>> = rows
                .iter()
                .zip(&checks)
                .map(|(row, c)| VerifiedRow {
                    row,
                    verified: c.ok,
                    problem: c.problem.clone(),
                })
                .collect();
            print_json(&out)?;
        } else {
            print_json(&rows)?;
        }
        return Ok(code);
    }
    let parent = run_summary(&store, &id)?.parent;
    let mut header = match &parent {
        Some(p) => format!("run {id}\nbranched from {p}"),
        None => format!("run {id}"),
    };
    // A snapshot that failed is a gap the agent's warnings explain.
    if let Some(line) = crate::commands::warnings::notice(&store, &id)? {
        header = format!("{header}\n{line}");
    }
    if rows.is_empty() {
        say!("{header}\nno snapshots yet");
        return Ok(code);
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
            if let Some(c) = checks.iter().find(|c| c.seq == s.seq) {
                note = match &c.problem {
                    None => format!("{note} verified").trim().to_owned(),
                    Some(p) => format!("{note} DAMAGED: {p}").trim().to_owned(),
                };
            }
            if s.nonfinite > 0 {
                note = format!("{note} {} non-finite", s.nonfinite)
                    .trim()
                    .to_owned();
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
    say!("{header}");
    format::table(
        &[
            "SEQ", "TRIGGER", "WHERE", "LOOPS", "TIME", "NEW", "REUSED", "CAPTURE", "",
        ],
        &table,
    );
    if verify {
        if damaged > 0 {
            eprintln!("snapline: {damaged} damaged snapshot(s) in run {id}");
        } else {
            say!("all {} snapshots verified", rows.len());
        }
    }
    Ok(code)
}
