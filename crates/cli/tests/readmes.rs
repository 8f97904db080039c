//! The crate READMEs name what they describe: every subcommand of
//! `snapline --help` is in crates/cli/README.md, and every module of
//! crates/store (`src/*.rs`) is in crates/store/README.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::Path;
use std::process::Command;

/// The subcommand names of `snapline --help` (its `Commands:` section).
fn subcommands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_snapline"))
        .arg("--help")
        .output()
        .expect("snapline --help runs");
    assert!(out.status.success(), "snapline --help failed");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut names = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.trim_end() == "Commands:" {
            in_commands = true;
            continue;
        }
        if !in_commands {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with("  ") {
            break;
        }
        // A command line is indented by two; its help's wrapped lines by more.
        if line.starts_with("   ") {
            continue;
        }
        if let Some(name) = line.split_whitespace().next() {
            if name != "help" {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names `readme` does not mention as code (`` `name` ``).
fn not_named<'a>(readme: &str, names: &'a [String]) -> Vec<&'a String> {
    names
        .iter()
        .filter(|n| !readme.contains(&format!("`{n}`")))
        .collect()
}

#[test]
fn cli_readme_names_every_subcommand() {
    let names = subcommands();
    assert!(
        names.len() >= 10 && names.iter().any(|n| n == "run"),
        "could not read the subcommands from snapline --help: {names:?}"
    );
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let missing = not_named(&readme, &names);
    assert!(
        missing.is_empty(),
        "crates/cli/README.md does not name these subcommands (add a row for each): {missing:?}"
    );
}

#[test]
fn store_readme_names_every_module() {
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store");
    let readme = read(&store.join("README.md"));
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(store.join("src")).expect("crates/store/src is readable") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy().into_owned();
        if name.ends_with(".rs") && name != "lib.rs" {
            modules.push(name);
        }
    }
    assert!(modules.len() >= 5, "no store modules found: {modules:?}");
    let missing = not_named(&readme, &modules);
    assert!(
        missing.is_empty(),
        "crates/store/README.md does not name these modules (add a line for each): {missing:?}"
    );
}
