//! The shell command that restores a snapshot, as front ends show it for
//! copying (`snapline --store DIR restore RUN@SEQ [--resume|--jupyter]`).

use std::path::Path;

use crate::reference::SnapshotRef;

/// How a restored snapshot comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestoreMode {
    /// A Python prompt holding the snapshot's state.
    #[default]
    Prompt,
    /// The script goes on from the snapshot, as a new run.
    Resume,
    /// A Jupyter kernel holding the state.
    Jupyter,
}

impl RestoreMode {
    /// The mode a front end names: `repl`/`prompt`, `resume`, `kernel`/`jupyter`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "repl" | "prompt" => Some(RestoreMode::Prompt),
            "resume" => Some(RestoreMode::Resume),
            "kernel" | "jupyter" => Some(RestoreMode::Jupyter),
            _ => None,
        }
    }

    /// The flag `snapline restore` takes for this mode ("" for the prompt).
    pub fn flag(self) -> &'static str {
        match self {
            RestoreMode::Prompt => "",
            RestoreMode::Resume => " --resume",
            RestoreMode::Jupyter => " --jupyter",
        }
    }
}

/// One shell word: plain words as they are, others in single quotes.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command line restoring `snap` from the store at `store_dir`.
pub fn restore_line(store_dir: &Path, snap: &SnapshotRef, mode: RestoreMode) -> String {
    format!(
        "snapline --store {} restore {}{}",
        shell_quote(&store_dir.display().to_string()),
        shell_quote(&snap.to_string()),
        mode.flag()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_the_shell_would_split() {
        let snap = SnapshotRef {
            run: "ab12".into(),
            seq: 7,
        };
        assert_eq!(
            restore_line(Path::new("/tmp/my store"), &snap, RestoreMode::Resume),
            "snapline --store '/tmp/my store' restore ab12@7 --resume"
        );
        assert_eq!(
            restore_line(Path::new("/s"), &snap, RestoreMode::Prompt),
            "snapline --store /s restore ab12@7"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
