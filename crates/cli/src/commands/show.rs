use std::path::Path;

use snapline_query::{resolve_snapshot, show_object, show_snapshot, ObjectView, Stats};

use crate::commands::{open_store, print_json};
use crate::format;

pub fn show(
    store: &Path,
    snapshot: &str,
    path: Option<&str>,
    all: bool,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let snap = resolve_snapshot(&store, snapshot)?;
    if let Some(path) = path {
        let object = show_object(&store, &snap, path)?;
        return if json {
            print_json(&object)
        } else {
            print_detail(&object);
            Ok(())
        };
    }
    let objects = show_snapshot(&store, &snap, all)?;
    if json {
        return print_json(&objects);
    }
    say!("snapshot {snap}");
    let rows: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            vec![
                o.path.clone(),
                o.type_name.clone(),
                shape(o),
                o.dtype.clone().unwrap_or_default(),
                o.stats.as_ref().map(stats_text).unwrap_or_default(),
                if o.restorable {
                    one_line(&o.preview, 60)
                } else {
                    format!(
                        "NOT RESTORABLE: {}",
                        one_line(o.reason.as_deref().unwrap_or(""), 60)
                    )
                },
            ]
        })
        .collect();
    format::table(
        &["PATH", "TYPE", "SHAPE", "DTYPE", "STATS", "PREVIEW"],
        &rows,
    );
    Ok(())
}

fn shape(o: &ObjectView) -> String {
    match &o.shape {
        Some(s) if o.dtype.is_some() || s.len() > 1 => format!(
            "({})",
            s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
        Some(s) => s.first().map(|n| format!("len {n}")).unwrap_or_default(),
        None => String::new(),
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max - 3).collect::<String>())
    } else {
        flat
    }
}

fn stats_text(s: &Stats) -> String {
    if s.count <= 1 && s.nan + s.posinf + s.neginf == 0 {
        return String::new();
    }
    let mut parts = Vec::new();
    if let (Some(min), Some(max), Some(mean)) = (s.min, s.max, s.mean) {
        parts.push(format!(
            "min {} max {} mean {}",
            format::number(min),
            format::number(max),
            format::number(mean)
        ));
    }
    if s.nan > 0 {
        parts.push(format!("{} NaN", s.nan));
    }
    if s.posinf + s.neginf > 0 {
        parts.push(format!("{} Inf", s.posinf + s.neginf));
    }
    parts.join(", ")
}

fn print_detail(o: &ObjectView) {
    say!("path        {}", o.path);
    say!("type        {} ({:?})", o.type_name, o.kind);
    if let Some(shape) = &o.shape {
        say!("shape       {shape:?}");
    }
    if let Some(dtype) = &o.dtype {
        say!("dtype       {dtype}");
    }
    if let Some(s) = &o.stats {
        let opt = |v: Option<f64>| v.map(format::number).unwrap_or_else(|| "-".into());
        say!(
            "stats       count {}  nan {}  +inf {}  -inf {}",
            s.count,
            s.nan,
            s.posinf,
            s.neginf
        );
        say!(
            "            min {}  max {}  mean {}  l2 {}",
            opt(s.min),
            opt(s.max),
            opt(s.mean),
            opt(s.l2)
        );
    }
    if o.nbytes > 0 {
        say!("size        {}", format::bytes(o.nbytes as i64));
    }
    if !o.aliases.is_empty() {
        say!("same object {}", o.aliases.join(", "));
    }
    match &o.reason {
        Some(reason) => say!("restorable  no: {reason}"),
        None => say!("restorable  {}", if o.restorable { "yes" } else { "no" }),
    }
    for (key, value) in &o.extra {
        say!("{:<11} {value}", key);
    }
    match &o.value {
        Some(v) => say!("value       {v}"),
        None if !o.preview.is_empty() => {
            say!("preview");
            for line in o.preview.lines() {
                say!("  {line}");
            }
        }
        None => {}
    }
    if !o.children.is_empty() {
        say!("children");
        for c in &o.children {
            say!("  {}  {}", c.path, one_line(&c.summary, 80));
        }
    }
}
