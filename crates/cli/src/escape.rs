//! Output escaping: every string that came from a run (script names,
//! labels, previews, types, paths, metric names, messages) reaches the
//! terminal with its control characters escaped, so a snapshot cannot move
//! the cursor, retitle the window or hide text (`\x1b[2J`, OSC 52...).
//! JSON output is left to serde_json, which escapes them itself.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and
/// the bidirectional overrides and isolates that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escaped(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// One run-derived value (a table cell, a name): every control character
/// escaped, newlines and tabs too.
pub fn text(s: &str) -> Cow<'_, str> {
    escaped(s, |_| false)
}

/// A whole line or block the CLI composed: control characters escaped but
/// the newlines and tabs of its own layout.
pub fn lines(s: &str) -> Cow<'_, str> {
    escaped(s, |c| c == '\n' || c == '\t')
}

/// `println!` for human output: the formatted text goes through [`lines`].
#[macro_export]
macro_rules! say {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", $crate::escape::lines(&format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_keeps_text() {
        assert_eq!(text("loss"), "loss");
        assert_eq!(text("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(text("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(text("\u{9b}31m"), "\\x9b31m");
        assert_eq!(text("\u{7f}"), "\\x7f");
        assert_eq!(text("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(text("naïve é 日本"), "naïve é 日本");
        assert_eq!(lines("a\n\tb\u{1b}]0;t\u{7}"), "a\n\tb\\x1b]0;t\\x07");
    }
}
