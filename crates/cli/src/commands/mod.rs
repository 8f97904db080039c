//! One module per subcommand; each parses nothing, asks crates/query, renders.

pub mod diff;
pub mod export;
pub mod fsck;
pub mod gc;
pub mod import;
pub mod log;
pub mod metrics;
pub mod nan;
pub mod open;
pub mod plot;
pub mod python;
pub mod remote;
pub mod restore;
pub mod rm;
pub mod run;
pub mod runs;
pub mod show;
pub mod view;
pub mod warnings;

use std::path::Path;

use snapline_query::Store;

/// Opens an existing store for reading.
pub fn open_store(dir: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(dir)?)
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
