//! `snapline import`: a bundle into the store, verified whole first.

use std::path::Path;

use snapline_bundle::import_bundle;

use crate::commands::export::Bar;
use crate::commands::print_json;

pub fn import(store: &Path, bundle: &Path, json: bool) -> anyhow::Result<()> {
    let bar = Bar::new(json);
    let done = import_bundle(store, bundle, &bar)?;
    if json {
        return print_json(&done);
    }
    let from = done
        .origin
        .get("host")
        .and_then(|h| h.as_str())
        .unwrap_or("?");
    match done.outcome.as_str() {
        "already imported" => say!(
            "{}: already imported (run {}); nothing to do",
            bundle.display(),
            done.run
        ),
        _ => say!(
            "imported run {} from {from}: {} snapshot(s) ({}), {} objects, {} chunks ({} new files), {} metric points",
            done.run,
            done.seqs.len(),
            seq_list(&done.seqs),
            done.objects,
            done.chunks,
            done.chunk_files_written,
            done.metrics
        ),
    }
    Ok(())
}

fn seq_list(seqs: &[i64]) -> String {
    match seqs {
        [] => "none".into(),
        [one] => format!("@{one}"),
        [first, .., last] => format!("@{first}..@{last}"),
    }
}
