//! The CLI's table layout on a `snapline log`-sized table: comfy-table
//! (crates/cli/src/format.rs `render_table`) against the hand-written
//! layout it falls back to above 1000 rows (`plain_table`). Prints seconds
//! and ratios: `cargo run --release -p snapline-bench --bin table_layout -- 100000`.

use std::time::Instant;
fn old(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
    out
}
fn new(header: &[&str], rows: &[Vec<String>], width: Option<u16>) -> String {
    use comfy_table::{ContentArrangement, Table};
    let mut t = Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(header.iter().map(|h| h.to_string()));
    for r in rows {
        t.add_row(r.clone());
    }
    let last = header.len() - 1;
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, if i == last { 0 } else { 2 }));
    }
    t.trim_fmt()
}
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let header = [
        "SEQ", "TRIGGER", "WHERE", "LOOPS", "LABEL", "NEW", "REUSED", "CAPTURE",
    ];
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            vec![
                i.to_string(),
                "iteration".into(),
                format!("train.py:{}", 40 + i % 7),
                format!("[{}, {}]", i / 100, i % 100),
                format!("step {i}"),
                format!("{}.{} KiB", i % 900, i % 10),
                "1.2 MiB".into(),
                format!("{}.{}ms", i % 50, i % 10),
            ]
        })
        .collect();
    for _ in 0..2 {
        let t = Instant::now();
        let a = old(&header, &rows);
        let t_old = t.elapsed();
        let t = Instant::now();
        let b = new(&header, &rows, None);
        let t_new = t.elapsed();
        let t = Instant::now();
        let c = new(&header, &rows, Some(100));
        let t_fit = t.elapsed();
        println!(
            "{n} rows: hand-written {:.3}s, comfy-table (piped) {:.3}s ({:.2}x), comfy-table fitted to 100 cols {:.3}s ({:.2}x); same text piped: {}; {} {}",
            t_old.as_secs_f64(),
            t_new.as_secs_f64(),
            t_new.as_secs_f64() / t_old.as_secs_f64(),
            t_fit.as_secs_f64(),
            t_fit.as_secs_f64() / t_old.as_secs_f64(),
            a.trim_end() == b.trim_end(),
            a.len(),
            c.len()
        );
    }
}
