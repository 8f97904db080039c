//! Human-readable rendering: sizes, durations, times, aligned tables.

/// 1536 -> "1.5 KiB".
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Seconds -> "1m 05s", "3.2s".
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m {:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    }
}

/// Whether times are shown in UTC (`--utc`) instead of local time.
static UTC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Shows every time from now on in UTC (the global `--utc` flag).
pub fn use_utc(utc: bool) {
    UTC.store(utc, std::sync::atomic::Ordering::Relaxed);
}

/// Unix seconds -> "2026-12-06 17:02:11 CET": local time with the zone's
/// name (its offset where the zone has no name), or UTC with `--utc`.
pub fn timestamp(unix: f64) -> String {
    let utc = UTC.load(std::sync::atomic::Ordering::Relaxed);
    let zone = if utc {
        jiff::tz::TimeZone::UTC
    } else {
        jiff::tz::TimeZone::system()
    };
    timestamp_in(unix, &zone)
}

fn timestamp_in(unix: f64, zone: &jiff::tz::TimeZone) -> String {
    let Ok(t) = jiff::Timestamp::from_second(unix.max(0.0).floor() as i64) else {
        return format!("{unix}");
    };
    let zoned = t.to_zoned(zone.clone());
    let name = zoned.strftime("%Z").to_string();
    // A zone without an abbreviation reads as its offset (+01:00).
    if name.is_empty() || name.starts_with(['+', '-']) {
        zoned.strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
    } else {
        zoned.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

/// A number the way a person reads it: 4 significant digits.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 || (v.abs() >= 1e-3 && v.abs() < 1e6) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    } else {
        format!("{v:.3e}")
    }
}

/// The terminal's width in columns: `COLUMNS` when set, else the width
/// of the terminal standard output is on; `None` when it is not a terminal
/// (piped output is never wrapped).
fn terminal_width() -> Option<u16> {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
    {
        return (w > 0).then_some(w);
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; on failure (not a
    // terminal) the return value is -1 and the struct is ignored.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::isatty(libc::STDOUT_FILENO) == 1
            && libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0
            && size.ws_col > 0
        {
            return Some(size.ws_col);
        }
    }
    None
}

/// Rows as columns separated by two spaces, no borders, fitted to the
/// terminal's width (long cells wrap) when output is a terminal.
pub fn render_table(header: &[&str], rows: &[Vec<String>], width: Option<u16>) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table};
    let mut table = Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    match width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table.set_header(header.iter().map(|h| h.to_string()));
    for row in rows {
        // Every cell came from a run: control characters escaped, newlines too.
        table.add_row(row.iter().map(|c| crate::escape::text(c).into_owned()));
    }
    let last = header.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { 2 }));
        column.set_cell_alignment(CellAlignment::Left);
    }
    table.trim_fmt()
}

/// Above this many rows a table is laid out by hand (`plain_table`):
/// comfy-table takes 6-8 times as long (0.5 s for a 100,000-snapshot
/// `log`, bench/RESULTS.md), and a table that long is scrolled or piped,
/// not read at the terminal's width.
const FITTED_ROWS: usize = 1000;

/// Prints rows as columns separated by two spaces: fitted to the
/// terminal (`render_table`) up to `FITTED_ROWS` rows, else `plain_table`.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    if rows.len() <= FITTED_ROWS {
        println!("{}", render_table(header, rows, terminal_width()));
    } else {
        print!("{}", plain_table(header, rows));
    }
}

/// Rows as columns separated by two spaces, the last column not padded,
/// never wrapped: the same text as `render_table` without a width.
pub fn plain_table(header: &[&str], rows: &[Vec<String>]) -> String {
    // Every cell came from a run: control characters escaped, newlines too.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| crate::escape::text(c).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            if i == last {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in &rows {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration(65.0), "1m 05s");
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(timestamp_in(0.0, &utc), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            timestamp_in(1_795_000_000.0, &utc),
            "2026-11-18 11:06:40 UTC"
        );
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            timestamp_in(1_795_000_000.0, &paris),
            "2026-11-18 12:06:40 CET"
        );
        let fixed = jiff::tz::TimeZone::fixed(jiff::tz::offset(1));
        assert!(timestamp_in(1_795_000_000.0, &fixed).ends_with("12:06:40 +01:00"));
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::NAN), "nan");
        assert_eq!(number(1.0e-7), "1.000e-7");
    }

    #[test]
    fn tables_fit_the_width() {
        let rows = vec![
            vec!["a1".to_owned(), "x".repeat(60), "end".to_owned()],
            vec!["b".to_owned(), "short".to_owned(), "z".to_owned()],
        ];
        let plain = render_table(&["ID", "TEXT", "LAST"], &rows, None);
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  TEXT"), "{plain}");
        assert!(lines[2].starts_with("b   short"), "{plain}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{plain}");
        assert_eq!(
            plain_table(&["ID", "TEXT", "LAST"], &rows),
            format!("{plain}\n")
        );
        let fitted = render_table(&["ID", "TEXT", "LAST"], &rows, Some(40));
        assert!(fitted.lines().all(|l| l.chars().count() <= 40), "{fitted}");
        assert!(fitted.lines().count() > 3, "{fitted}");
    }
}
