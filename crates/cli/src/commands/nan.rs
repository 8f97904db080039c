//! `snapline nan RUN`: where NaN or Inf first appeared.

use std::path::Path;

use snapline_query::{
    first_nonfinite, group_nan, is_group_name, resolve_group, resolve_run_name, BadObject,
    GroupNanReport, NanReport,
};

use crate::commands::{open_store, print_json};
use crate::format;

pub fn nan(store: &Path, run: &str, json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    if is_group_name(run) {
        let group = resolve_group(&store, run)?;
        let report = group_nan(&store, &group)?;
        if json {
            return print_json(&report);
        }
        print_group_report(&report);
        return Ok(());
    }
    let run = resolve_run_name(&store, run)?;
    let report = first_nonfinite(&store, &run)?;
    if json {
        return print_json(&report);
    }
    print_report(&report);
    Ok(())
}

/// `snapline nan GROUP`: the rank that went non-finite first, then each
/// rank's first NaN.
fn print_group_report(r: &GroupNanReport) {
    let Some(first) = r.first_rank else {
        say!(
            "run group {} ({} ranks): no NaN or Inf in any rank's state or metrics",
            r.group,
            r.world_size
        );
        return;
    };
    say!(
        "run group {} ({} ranks): rank {first} went non-finite first",
        r.group,
        r.world_size
    );
    let rows: Vec<Vec<String>> = r
        .ranks
        .iter()
        .map(|k| {
            let (at, began) = match &k.first {
                Some(p) => (
                    format!(
                        "{}@{} ({})",
                        k.run,
                        p.seq,
                        place(&p.loops, p.file.as_deref(), p.line, p.label.as_deref())
                    ),
                    k.began
                        .iter()
                        .take(3)
                        .map(|o| o.path.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                None => match k.metrics.first() {
                    Some(m) => (
                        format!("{} (metric {} at step {})", k.run, m.name, m.step),
                        String::new(),
                    ),
                    None => (format!("{} (finite throughout)", k.run), String::new()),
                },
            };
            vec![
                format!("r{}", k.rank),
                at,
                began,
                k.last_clean.map(|s| s.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    format::table(
        &["RANK", "FIRST NON-FINITE", "BEGAN IN", "LAST CLEAN"],
        &rows,
    );
    say!("one rank in detail: `snapline nan {}/r{first}`", r.group);
}

fn place(loops: &[i64], file: Option<&str>, line: Option<i64>, label: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(label) = label {
        parts.push(label.to_owned());
    }
    if !loops.is_empty() {
        let counters = loops
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("loop counters [{counters}]"));
    }
    if let (Some(f), Some(l)) = (file, line) {
        let name = Path::new(f)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.to_owned());
        parts.push(format!("{name}:{l}"));
    }
    parts.join(", ")
}

fn counts(o: &BadObject) -> String {
    let mut parts = Vec::new();
    if o.nan > 0 {
        parts.push(format!("{} NaN", o.nan));
    }
    if o.posinf > 0 {
        parts.push(format!("{} +Inf", o.posinf));
    }
    if o.neginf > 0 {
        parts.push(format!("{} -Inf", o.neginf));
    }
    format!("{} of {}", parts.join(", "), o.count)
}

fn object_row(o: &BadObject) -> Vec<String> {
    vec![
        o.seq.to_string(),
        o.path.clone(),
        if o.scalar {
            format!("{} (metric)", o.type_name)
        } else {
            o.type_name.clone()
        },
        counts(o),
        o.began_as.clone(),
    ]
}

fn print_report(r: &NanReport) {
    if r.snapshots == 0 && r.metrics.is_empty() && r.hooks.is_empty() {
        say!("run {} has no snapshots yet: nothing to search", r.run);
        return;
    }
    let Some(first) = &r.first else {
        say!(
            "run {}: no NaN or Inf in the program's state in its {} snapshots{}",
            r.run,
            r.snapshots,
            if r.metrics.is_empty() {
                " or its metric series"
            } else {
                ""
            }
        );
        print_metrics(r);
        print_apart(r);
        print_hooks(r);
        return;
    };
    say!(
        "run {}: NaN/Inf first appeared at snapshot {} ({} snapshot{}{})",
        r.run,
        first.seq,
        first.trigger.as_str(),
        if place(
            &first.loops,
            first.file.as_deref(),
            first.line,
            first.label.as_deref()
        )
        .is_empty()
        {
            ""
        } else {
            ", "
        },
        place(
            &first.loops,
            first.file.as_deref(),
            first.line,
            first.label.as_deref()
        )
    );
    match r.last_clean {
        Some(seq) => say!(
            "last clean snapshot: {seq} (everything finite; restore it with `snapline restore {}@{seq}`)",
            r.run
        ),
        None => say!("no clean snapshot: the first snapshot already held NaN or Inf"),
    }
    if !r.began.is_empty() {
        say!("\nwent bad first:");
        format::table(
            &["SNAPSHOT", "PATH", "TYPE", "NON-FINITE", "BEGAN AS"],
            &r.began.iter().map(object_row).collect::<Vec<_>>(),
        );
    }
    if !r.followed.is_empty() {
        say!(
            "\nfollowed (in the {} non-finite snapshots searched):",
            r.searched
        );
        format::table(
            &["SNAPSHOT", "PATH", "TYPE", "NON-FINITE", "BEGAN AS"],
            &r.followed.iter().map(object_row).collect::<Vec<_>>(),
        );
    }
    print_metrics(r);
    print_apart(r);
    print_hooks(r);
}

/// What is non-finite by design and therefore not reported: the user's
/// sentinels and the values library objects hold.
fn print_apart(r: &NanReport) {
    if !r.sentinels.is_empty() {
        say!("\nsentinels (±Inf from their first value, by design; not counted):");
        for s in &r.sentinels {
            let until = match s.finite_from {
                Some(seq) => format!("until snapshot {seq}"),
                None => "throughout".to_owned(),
            };
            say!("  {} = {} {until}", s.name, format::number(s.value));
        }
    }
    if !r.library.is_empty() {
        say!("\nheld by library objects by design (ignored):");
        for h in &r.library {
            let mut kinds = Vec::new();
            if h.nan > 0 {
                kinds.push("NaN");
            }
            if h.posinf > 0 || h.neginf > 0 {
                kinds.push("±Inf");
            }
            say!(
                "  {} ({}) holds {} in {} object{} (snapshot {})",
                h.holder,
                h.type_name,
                kinds.join(" and "),
                h.objects,
                if h.objects == 1 { "" } else { "s" },
                h.seq
            );
        }
    }
}

fn print_metrics(r: &NanReport) {
    if r.metrics.is_empty() {
        return;
    }
    say!("\nmetric series that turned non-finite:");
    let rows: Vec<Vec<String>> = r
        .metrics
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                format::number(m.step),
                m.epoch.map(|e| e.to_string()).unwrap_or_default(),
                m.seq.map(|s| s.to_string()).unwrap_or_else(|| "log".into()),
                format::number(m.value),
            ]
        })
        .collect();
    format::table(&["SERIES", "STEP", "EPOCH", "SNAPSHOT", "VALUE"], &rows);
}

fn print_hooks(r: &NanReport) {
    if r.hooks.is_empty() {
        return;
    }
    say!("\ncaught by --nan-hooks:");
    for h in &r.hooks {
        let d = &h.detail;
        let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let mut line = if text("message").is_empty() {
            d.to_string()
        } else {
            text("message").to_owned()
        };
        if let (f, Some(l)) = (text("file"), d.get("line").and_then(|l| l.as_i64())) {
            if !f.is_empty() {
                let name = Path::new(f)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                line += &format!(" at {name}:{l}");
            }
        }
        if let Some(seq) = h.after_seq {
            line += &format!(" (after snapshot {seq})");
        }
        say!("  {line}");
        if let Some(inputs) = d.get("inputs").and_then(|i| i.as_array()) {
            for (i, input) in inputs.iter().enumerate() {
                let num = |k: &str| {
                    input
                        .get(k)
                        .and_then(|v| v.as_f64())
                        .map(format::number)
                        .unwrap_or_else(|| "-".into())
                };
                say!(
                    "    input {i}: shape {}  range [{}, {}]  NaN {}  Inf {}",
                    input
                        .get("shape")
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    num("min"),
                    num("max"),
                    input.get("nan").and_then(|v| v.as_u64()).unwrap_or(0),
                    input.get("posinf").and_then(|v| v.as_u64()).unwrap_or(0)
                        + input.get("neginf").and_then(|v| v.as_u64()).unwrap_or(0),
                );
            }
        }
    }
}
