//! `snapline diff A B`: what changed between two snapshots.

use std::path::Path;

use snapline_query::{
    diff_snapshots, resolve_snapshot, ArrayDiff, Change, ChangeKind, Detail, DiffOptions,
    FrameDiff, SnapshotDiff, StructureDiff,
};

use crate::commands::{open_store, print_json};
use crate::format;

pub fn diff(
    store: &Path,
    a: &str,
    b: &str,
    options: &DiffOptions,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let (a, b) = (resolve_snapshot(&store, a)?, resolve_snapshot(&store, b)?);
    let diff = diff_snapshots(&store, &a, &b, options)?;
    if json {
        return print_json(&diff);
    }
    print_diff(&diff);
    Ok(())
}

fn print_diff(d: &SnapshotDiff) {
    say!("diff {} -> {}", d.a, d.b);
    if d.identical {
        say!("identical: the same {} objects on both sides", d.unchanged);
        return;
    }
    if d.disjoint {
        say!(
            "the two snapshots have nothing in common (no shared name, no shared object): \
             everything in the first is removed, everything in the second added"
        );
    }
    say!(
        "{} changed, {} added, {} removed, {} moved ({} unchanged)",
        d.changed,
        d.added,
        d.removed,
        d.moved,
        d.unchanged
    );
    for c in &d.changes {
        print_change(c);
    }
}

fn head(c: &Change) -> String {
    let nested = if c.nested > 0 {
        let s = if c.nested == 1 { "" } else { "s" };
        format!(" (and {} object{s} inside)", c.nested)
    } else {
        String::new()
    };
    match c.change {
        ChangeKind::Added => {
            let alias = c
                .alias_of
                .as_ref()
                .map(|p| format!(", another name for {p}"))
                .unwrap_or_default();
            format!(
                "+ {}  {}{alias}{nested}  {}",
                c.path, c.type_name, c.preview
            )
        }
        ChangeKind::Removed => format!("- {}  {}{nested}  {}", c.path, c.type_name, c.preview),
        ChangeKind::Moved => format!(
            "> {} <- {}  {} (moved, content unchanged){nested}",
            c.path,
            c.from.as_deref().unwrap_or_default(),
            c.type_name
        ),
        ChangeKind::Changed => {
            let also = if c.aliases.is_empty() {
                String::new()
            } else {
                format!(" (also {})", c.aliases.join(", "))
            };
            match &c.old_type {
                Some(old) => format!("~ {}{also}  {old} -> {}", c.path, c.type_name),
                None => format!("~ {}{also}  {}", c.path, c.type_name),
            }
        }
    }
}

fn print_change(c: &Change) {
    let line = head(c);
    match &c.detail {
        None => say!("  {line}"),
        Some(Detail::Value(v)) => {
            let lens = match (v.old_len, v.new_len, v.items_changed) {
                (Some(a), Some(b), Some(n)) if a != b => {
                    format!("  (length {a} -> {b}, {n} items differ)")
                }
                (Some(_), Some(_), Some(n)) => format!("  ({n} items differ)"),
                _ => String::new(),
            };
            say!("  {line}  {} -> {}{lens}", v.old, v.new);
            if !v.changed_keys.is_empty() {
                let more = match v.items_changed {
                    Some(n) if n > v.changed_keys.len() => {
                        format!(" (and {} more)", n - v.changed_keys.len())
                    }
                    _ => String::new(),
                };
                say!("      at {}{more}", v.changed_keys.join(", "));
            }
        }
        Some(Detail::Opaque { note }) => say!("  {line}: {note}"),
        Some(Detail::Structure(s)) => say!("  {line}{}", structure_text(s)),
        Some(Detail::Array(a)) => {
            say!("  {line} {}", array_head(a));
            for l in array_lines(a) {
                say!("      {l}");
            }
        }
        Some(Detail::Frame(f)) => say!("  {line}  {}", frame_text(f)),
    }
}

fn structure_text(s: &StructureDiff) -> String {
    let mut parts = Vec::new();
    for v in &s.values {
        parts.push(format!("{} {} -> {}", v.path, v.old, v.new));
    }
    if !s.added.is_empty() {
        parts.push(format!("+ {}", s.added.join(", ")));
    }
    if !s.removed.is_empty() {
        parts.push(format!("- {}", s.removed.join(", ")));
    }
    if !s.objects.is_empty() {
        parts.push(format!("{} objects inside changed", s.objects.len()));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

fn dims(shape: &Option<Vec<i64>>) -> String {
    shape
        .as_ref()
        .map(|s| {
            format!(
                "[{}]",
                s.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .unwrap_or_default()
}

fn array_head(a: &ArrayDiff) -> String {
    let dtype = a.new_dtype.clone().unwrap_or_default();
    if a.old_shape != a.new_shape || a.old_dtype != a.new_dtype {
        return format!(
            "{} {} -> {} {}",
            a.old_dtype.clone().unwrap_or_default(),
            dims(&a.old_shape),
            dtype,
            dims(&a.new_shape)
        );
    }
    format!("{dtype} {}", dims(&a.new_shape))
}

fn array_lines(a: &ArrayDiff) -> Vec<String> {
    let mut lines = Vec::new();
    if a.compared {
        let mut l = format!(
            "{} of {} elements changed",
            group(a.changed),
            group(a.elements)
        );
        if let (Some(max), Some(mean)) = (a.max_abs_diff, a.mean_abs_diff) {
            l += &format!(
                "; max |d| {}, mean |d| {}",
                format::number(max),
                format::number(mean)
            );
        }
        if a.became_nonfinite > 0 {
            l += &format!("; {} became NaN/Inf", group(a.became_nonfinite));
        }
        lines.push(l);
    } else if let Some(why) = &a.not_compared {
        lines.push(format!("elements not compared: {why}"));
    }
    let d = &a.delta;
    let mut stats = Vec::new();
    let signed = |v: f64| {
        if v >= 0.0 {
            format!("+{}", format::number(v))
        } else {
            format::number(v)
        }
    };
    if let Some(v) = d.norm {
        stats.push(format!("norm {}", signed(v)));
    }
    if let Some(v) = d.mean {
        stats.push(format!("mean {}", signed(v)));
    }
    if d.nan != 0 {
        stats.push(format!("NaN {:+}", d.nan));
    }
    if d.inf != 0 {
        stats.push(format!("Inf {:+}", d.inf));
    }
    if !stats.is_empty() {
        lines.push(stats.join("  "));
    }
    for e in &a.first_changes {
        let index = e
            .index
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(format!(
            "[{index}]  {} -> {}",
            format::number(e.old),
            format::number(e.new)
        ));
    }
    if a.changed as usize > a.first_changes.len() && !a.first_changes.is_empty() {
        lines.push(format!(
            "... {} more",
            group(a.changed - a.first_changes.len() as u64)
        ));
    }
    lines
}

fn frame_text(f: &FrameDiff) -> String {
    let mut parts = Vec::new();
    if f.old_shape != f.new_shape {
        parts.push(format!(
            "shape {} -> {}",
            dims(&f.old_shape),
            dims(&f.new_shape)
        ));
    }
    if !f.columns_added.is_empty() {
        parts.push(format!("+ columns {}", f.columns_added.join(", ")));
    }
    if !f.columns_removed.is_empty() {
        parts.push(format!("- columns {}", f.columns_removed.join(", ")));
    }
    for t in &f.dtype_changes {
        parts.push(format!("{} dtype {} -> {}", t.column, t.old, t.new));
    }
    if !f.cells.is_empty() {
        let cells = f
            .cells
            .iter()
            .map(|c| match c.changed {
                Some(n) => format!("{} {}", c.column, group(n)),
                None => format!("{} (rows changed)", c.column),
            })
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("cells changed: {cells}"));
    }
    if f.index_changed {
        parts.push("index changed".into());
    }
    parts.join("; ")
}

/// 1234567 -> "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
