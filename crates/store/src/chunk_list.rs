//! Long chunk lists as trees of content-defined pieces (issue #16).
//!
//! A large value (the JSON of a long list, dict or set) is stored in
//! content-defined chunks, so one changed item stores a chunk or two. Its
//! record listing every chunk hash would still be O(size) per snapshot, so
//! past [`CHUNK_LIST_OVER`] chunks the list is a tree of `chunk_list`
//! object records instead:
//!
//! - a leaf node lists a run of the value's chunks in `chunks`;
//! - an inner node lists its child nodes in `extra.chunk_lists`;
//! - the value record names the root in `extra.chunk_list`.
//!
//! A node ends after an entry whose hash ends in four zero bits (about 16
//! entries per node, at most [`NODE_MAX`]): the boundaries depend on the
//! entries alone, so one changed chunk changes one node per level, and a
//! snapshot of a container changed in one place writes O(1) bytes, the
//! record included. Nodes are ordinary content-addressed records:
//! `references.rs` follows them (gc, fsck, export, verify, remote), and
//! every reader gets the value's chunks back with [`value_chunks`].

use crate::error::{StoreError, StoreResult};
use crate::model::{ObjectKind, ObjectRecord};
use crate::Store;
use snapline_array_scan::hash_bytes;

/// A value with more chunks than this gets a chunk-list tree; one with
/// fewer lists its chunks in its own record (as before issue #16).
pub const CHUNK_LIST_OVER: usize = 16;
/// At most this many entries per node, whatever their hashes.
pub const NODE_MAX: usize = 128;
/// A node ends after an entry whose hash has these low bits all zero.
const BOUNDARY_MASK: u8 = 0x0f;
/// Deeper trees are refused when read (a tree of 16^8 chunks would be
/// petabytes), so a hostile record cannot make a reader loop.
const MAX_DEPTH: usize = 8;

/// The `type` and `kind` of a node record.
pub const CHUNK_LIST_TYPE: &str = "chunk_list";

/// A chunk list as a tree: the root node's record hash and every node
/// record, each with its hash (leaves first, the root last).
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkListTree {
    pub root: String,
    pub nodes: Vec<(String, ObjectRecord)>,
}

/// Whether an entry (a chunk or node hash) ends a node.
fn ends_node(hash: &str) -> bool {
    hash.get(hash.len().saturating_sub(2)..)
        .and_then(|tail| u8::from_str_radix(tail, 16).ok())
        .is_some_and(|byte| byte & BOUNDARY_MASK == 0)
}

/// Splits `entries` into content-defined runs (see the module docs).
pub fn chunk_list_pieces(entries: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut pieces = Vec::with_capacity(entries.len() / 8 + 1);
    let mut start = 0;
    for (i, hash) in entries.iter().enumerate() {
        if ends_node(hash) || i + 1 - start == NODE_MAX {
            pieces.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < entries.len() {
        pieces.push(start..entries.len());
    }
    pieces
}

fn node_record(level: usize, entries: &[String]) -> ObjectRecord {
    let mut record = ObjectRecord {
        kind: ObjectKind::ChunkList,
        type_name: CHUNK_LIST_TYPE.to_owned(),
        shape: Some(vec![i64::try_from(entries.len()).unwrap_or(i64::MAX)]),
        dtype: None,
        stats: None,
        preview: String::new(),
        restorable: false,
        reason: None,
        value: None,
        chunks: Vec::new(),
        nbytes: 0,
        children: Vec::new(),
        extra: serde_json::Map::new(),
    };
    if level == 0 {
        record.chunks = entries.to_vec();
    } else {
        record
            .extra
            .insert("chunk_lists".into(), serde_json::json!(entries));
    }
    record
}

/// The tree of a value's chunk list (`chunks` in order); its node records
/// are addressed by the xxh3 of their JSON, as other records.
pub fn build_chunk_list(chunks: &[String]) -> ChunkListTree {
    let mut nodes = Vec::new();
    let mut level = 0;
    let mut entries = chunks.to_vec();
    loop {
        let mut next = Vec::new();
        for piece in chunk_list_pieces(&entries) {
            let record = node_record(level, &entries[piece]);
            // Serializing a record of strings and numbers cannot fail.
            let json = serde_json::to_vec(&record).unwrap_or_default();
            let hash = hash_bytes(&json).to_hex();
            next.push(hash.clone());
            nodes.push((hash, record));
        }
        if next.len() <= 1 {
            let root = next.pop().unwrap_or_else(|| {
                // No chunks at all: an empty leaf is the root.
                let record = node_record(0, &[]);
                let json = serde_json::to_vec(&record).unwrap_or_default();
                let hash = hash_bytes(&json).to_hex();
                nodes.push((hash.clone(), record));
                hash
            });
            return ChunkListTree { root, nodes };
        }
        entries = next;
        level += 1;
    }
}

/// The child node hashes of an inner node (`extra.chunk_lists`).
pub(crate) fn inner_entries(record: &ObjectRecord) -> Vec<String> {
    match record.extra.get("chunk_lists") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The root node a value record names (`extra.chunk_list`), if any.
pub fn chunk_list_root(record: &ObjectRecord) -> Option<&str> {
    record.extra.get("chunk_list").and_then(|v| v.as_str())
}

/// Every chunk of the tree rooted at `root`, in order.
pub fn chunk_list_chunks(store: &Store, root: &str) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    collect(store, root, 0, &mut out)?;
    Ok(out)
}

fn collect(store: &Store, hash: &str, depth: usize, out: &mut Vec<String>) -> StoreResult<()> {
    let bad = |detail: &str| StoreError::BadRecord {
        hash: hash.to_owned(),
        detail: format!("{detail} (`snapline fsck` names the snapshots that need it)"),
    };
    if depth > MAX_DEPTH {
        return Err(bad(
            "is a chunk list nested deeper than any Snapline writes",
        ));
    }
    let record = store.object(hash)?;
    if record.kind != ObjectKind::ChunkList {
        return Err(bad("is named as a chunk list but is not one"));
    }
    out.extend(record.chunks.iter().cloned());
    for child in inner_entries(&record) {
        collect(store, &child, depth + 1, out)?;
    }
    Ok(())
}

/// The chunks holding a record's content, in order: its own `chunks`, or
/// those of its chunk-list tree (a large value since issue #16).
pub fn value_chunks(store: &Store, record: &ObjectRecord) -> StoreResult<Vec<String>> {
    match chunk_list_root(record) {
        Some(root) => chunk_list_chunks(store, root),
        None => Ok(record.chunks.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn hashes(n: usize, salt: &str) -> Vec<String> {
        (0..n)
            .map(|i| hash_bytes(format!("{salt}{i}").as_bytes()).to_hex())
            .collect()
    }

    /// The leaves of a tree, read back from its node records alone.
    fn leaves(tree: &ChunkListTree) -> Vec<String> {
        let by_hash: HashMap<&str, &ObjectRecord> =
            tree.nodes.iter().map(|(h, r)| (h.as_str(), r)).collect();
        fn walk(h: &str, by: &HashMap<&str, &ObjectRecord>, out: &mut Vec<String>) {
            let r = by[h];
            out.extend(r.chunks.iter().cloned());
            for c in inner_entries(r) {
                walk(&c, by, out);
            }
        }
        let mut out = Vec::new();
        walk(&tree.root, &by_hash, &mut out);
        out
    }

    #[test]
    fn a_tree_lists_its_chunks_in_order() {
        for n in [0, 1, 17, 300, 5_000] {
            let chunks = hashes(n, "a");
            let tree = build_chunk_list(&chunks);
            assert_eq!(leaves(&tree), chunks, "{n} chunks");
            assert_eq!(tree.nodes.last().map(|(h, _)| h.clone()), Some(tree.root));
            for (hash, record) in &tree.nodes {
                let json = serde_json::to_vec(record).unwrap();
                assert_eq!(&hash_bytes(&json).to_hex(), hash);
                assert!(record.chunks.len() + inner_entries(record).len() <= NODE_MAX);
                let back: ObjectRecord = serde_json::from_slice(&json).unwrap();
                assert_eq!(&back, record);
            }
        }
    }

    #[test]
    fn one_changed_chunk_writes_one_node_per_level() {
        let mut chunks = hashes(5_000, "b");
        let before = build_chunk_list(&chunks);
        let old: HashSet<String> = before.nodes.iter().map(|(h, _)| h.clone()).collect();
        let depth = |t: &ChunkListTree| {
            let mut d = 0;
            let mut h = t.root.clone();
            loop {
                let r = &t.nodes.iter().find(|(x, _)| *x == h).unwrap().1;
                match inner_entries(r).first() {
                    Some(c) => {
                        h = c.clone();
                        d += 1;
                    }
                    None => return d + 1,
                }
            }
        };
        chunks[2_500] = hash_bytes(b"changed").to_hex();
        chunks.push(hash_bytes(b"appended").to_hex());
        let after = build_chunk_list(&chunks);
        let new = after.nodes.iter().filter(|(h, _)| !old.contains(h)).count();
        // Two places changed: at most two nodes per level (plus a split).
        assert!(
            new <= 2 * depth(&after) + 2,
            "{new} new nodes of {}",
            after.nodes.len()
        );
        assert!(after.nodes.len() > 100);
        let bytes: usize = after
            .nodes
            .iter()
            .filter(|(h, _)| !old.contains(h))
            .map(|(_, r)| serde_json::to_vec(r).unwrap().len())
            .sum();
        assert!(bytes < 16 * 1024, "{bytes} bytes of new nodes");
    }

    #[test]
    fn pieces_end_at_boundaries_or_the_cap() {
        let entries = hashes(10_000, "c");
        let pieces = chunk_list_pieces(&entries);
        assert_eq!(pieces.first().map(|p| p.start), Some(0));
        assert_eq!(pieces.last().map(|p| p.end), Some(entries.len()));
        for pair in pieces.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            let last = &entries[pair[0].end - 1];
            assert!(ends_node(last) || pair[0].len() == NODE_MAX);
        }
        // About 16 entries a piece.
        assert!(pieces.len() > 10_000 / 40 && pieces.len() < 10_000 / 8);
        assert!(chunk_list_pieces(&[]).is_empty());
    }
}
