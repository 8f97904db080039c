//! What refers to what in a store: the one rule for which chunks and
//! object records a run's lineage, an object record and a snapshot need.
//!
//! Every reader that follows references uses these functions and nothing
//! else, so they cannot disagree:
//!
//! - `snapline export` / bundles (`transfer.rs`, crates/bundle): what
//!   travels with a run;
//! - `snapline gc` / `rm` (`retention.rs`): what stays reachable;
//! - `snapline fsck` (`health.rs`): what must exist;
//! - `snapline verify` (crates/query `verify.rs`): what must read back.
//!
//! The rule:
//!
//! - [`record_chunks`]: an object record needs its content `chunks` and
//!   every chunk list of `extra.buffers` (a pickle's out-of-band buffers).
//! - [`record_children`]: an object record needs the object records its
//!   children name (`children[*].hash`) and, for a large value, the nodes
//!   of its chunk-list tree (`extra.chunk_list`, then each node's
//!   `extra.chunk_lists`; a leaf node's chunks are its `chunks`); a
//!   snapshot needs the records its entries name, and everything they
//!   need in turn.
//! - [`lineage_chunks`]: a run needs every chunk its lineage names. Today
//!   that is `script_hash` (the script's source), `modules.*.chunks`
//!   (local modules' sources) and a notebook run's `cells[*]`: `hash` and
//!   `code` (a cell's source and its transformed Python, one chunk each)
//!   and `hash_chunks` / `code_chunks` (the chunk lists of a larger
//!   cell). The rule is written so a new lineage key is covered without
//!   changing it: any string in the lineage that has the form of a chunk
//!   name ([`is_chunk_name`]) counts. So gc never drops a source a new
//!   key names; export carries those the store holds and skips the rest
//!   (a 32-hex-digit argv that is not a chunk costs nothing).
//!
//! - [`keep_delta_bases`]: a chunk stored as a delta frame (or a twist
//!   frame: Mersenne Twister words, `twist.rs`) needs its base chunk, and
//!   that base's base when it is a delta too (a chain), down to a plain
//!   chunk (gc keeps them; fsck and every read decode through them).
//!
//! A new kind of reference (a remote's manifest)
//! belongs here, as a new function or a new case of these, so that export,
//! gc, fsck and verify all follow it.

use crate::model::ObjectRecord;

/// Whether `s` has the form of a chunk name: 32 lowercase hex digits (a
/// 128-bit content hash). Hostile names (paths, `..`) never pass.
pub fn is_chunk_name(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every chunk an object record references, in order: its content
/// `chunks`, then the chunk lists of `extra.buffers` (a pickle's
/// out-of-band buffers). May repeat a hash.
pub fn record_chunks(record: &ObjectRecord) -> Vec<String> {
    let mut all = record.chunks.clone();
    if let Some(serde_json::Value::Array(buffers)) = record.extra.get("buffers") {
        for list in buffers {
            if let serde_json::Value::Array(hashes) = list {
                all.extend(hashes.iter().filter_map(|h| h.as_str().map(str::to_owned)));
            }
        }
    }
    all
}

/// The object records an object record names: its children's
/// (`children[*].hash`), and the nodes of a chunk-list tree (a large
/// value's root in `extra.chunk_list`, an inner node's `extra.chunk_lists`;
/// see `chunk_list.rs`).
pub fn record_children(record: &ObjectRecord) -> Vec<String> {
    let mut all: Vec<String> = record
        .children
        .iter()
        .filter_map(|c| c.hash.clone())
        .collect();
    if let Some(root) = crate::chunk_list::chunk_list_root(record) {
        all.push(root.to_owned());
    }
    all.extend(crate::chunk_list::inner_entries(record));
    all
}

/// Every chunk a run's lineage names (see the module docs for the keys),
/// in document order. May repeat a hash.
pub fn lineage_chunks(lineage: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![lineage];
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::String(s) if is_chunk_name(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => pending.extend(items.iter().rev()),
            serde_json::Value::Object(map) => {
                let values: Vec<&serde_json::Value> = map.values().collect();
                pending.extend(values.into_iter().rev());
            }
            _ => {}
        }
    }
    out
}

/// A chunk stored as a delta or twist frame needs its base chunk (the
/// `base` column of `chunks`, written from the frame's header; see
/// `delta.rs`, `twist.rs`). Removes
/// from `doomed` (chunks about to be deleted) every base that a chunk
/// staying in the store still needs. Export needs no rule: a delta or
/// twist frame leaves the store decoded (`Store::chunk_frame`,
/// `Store::portable_frame`).
pub(crate) fn keep_delta_bases(
    conn: &rusqlite::Connection,
    doomed: &mut std::collections::HashSet<String>,
) -> rusqlite::Result<()> {
    let pairs: Vec<(String, String)> = conn
        .prepare_cached("SELECT hash, base FROM chunks WHERE base IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // A base may be a delta itself (a chain): loop to a fixed point, so a
    // kept chunk keeps its whole chain.
    loop {
        let mut kept = false;
        for (hash, base) in &pairs {
            if !doomed.contains(hash) && doomed.remove(base) {
                kept = true;
            }
        }
        if !kept {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_chunks_names_script_modules_and_every_cell_source() {
        let a = "0123456789abcdef0123456789abcdef";
        let b = "11111111111111111111111111111111";
        let c = "22222222222222222222222222222222";
        let d = "33333333333333333333333333333333";
        let e = "44444444444444444444444444444444";
        let lineage = serde_json::json!({
            "script_hash": a,
            "argv": ["train.py", "--lr", "0.1"],
            "git": {"commit": "0123456789abcdef0123456789abcdef01234567"},
            "modules": {"helpers": {"path": "/x/helpers.py", "hash": b, "chunks": [b]}},
            "cells": [
                {"execution_count": 1, "seq": 0, "hash": c},
                {"execution_count": 2, "seq": 1, "hash": d, "code": e,
                 "hash_chunks": [d], "code_chunks": [e]},
            ],
        });
        let mut found = lineage_chunks(&lineage);
        found.sort();
        found.dedup();
        assert_eq!(found, vec![a, b, c, d, e]);
    }

    #[test]
    fn a_large_value_needs_its_chunk_list_tree() {
        let chunks: Vec<String> = (0..400)
            .map(|i| snapline_array_scan::hash_bytes(format!("{i}").as_bytes()).to_hex())
            .collect();
        let tree = crate::chunk_list::build_chunk_list(&chunks);
        let value: ObjectRecord = serde_json::from_value(serde_json::json!({
            "kind": "value", "type": "dict", "restorable": true, "nbytes": 1000,
            "extra": {"encoding": "json", "chunk_list": tree.root},
        }))
        .unwrap();
        assert_eq!(record_children(&value), vec![tree.root.clone()]);
        assert!(record_chunks(&value).is_empty());
        // Following record_children and record_chunks from the value
        // reaches every node and every chunk.
        let nodes: std::collections::HashMap<_, _> = tree.nodes.iter().cloned().collect();
        let (mut pending, mut seen) = (record_children(&value), Vec::new());
        while let Some(h) = pending.pop() {
            let node = &nodes[&h];
            pending.extend(record_children(node));
            seen.extend(record_chunks(node));
        }
        seen.sort();
        let mut want = chunks;
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn chunk_names_are_32_lowercase_hex_digits() {
        assert!(is_chunk_name("0123456789abcdef0123456789abcdef"));
        assert!(!is_chunk_name("0123456789ABCDEF0123456789ABCDEF"));
        assert!(!is_chunk_name("../../../../etc/passwd0123456789a"));
        assert!(!is_chunk_name("0123456789abcdef"));
    }
}
