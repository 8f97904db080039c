//! What changed between two snapshots, of one run or of two.
//!
//! Objects are matched by path; paths present on one side only are then
//! matched by content hash, so an object that moved to another name is a
//! move, not a removal plus an addition. Equal hashes short-circuit
//! everything: an unchanged object is never read. Changed arrays are
//! compared chunk by chunk in Rust, containers key by key, pandas frames
//! column by column; pickles only by hash and size (nothing is unpickled).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use snapline_store::{EntryRow, ObjectKind, ObjectRecord, Store};

use crate::error::QueryResult;
use crate::objects::{render_value, Previews};
use crate::reference::SnapshotRef;

pub(crate) mod array;
mod structure;

pub(crate) use structure::record_value;

pub use array::{ArrayDiff, ElementChange, StatsDelta, DEFAULT_ELEMENTS};
pub use structure::{
    ChildValueChange, ColumnCells, DtypeChange, FrameDiff, StructureDiff, ValueDiff,
};

/// What to compare and how much to list.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Include the agent's internal roots (`$rng.*`, `$loopN.*`).
    pub internal: bool,
    /// Changed elements listed per array.
    pub elements: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            internal: false,
            elements: DEFAULT_ELEMENTS,
        }
    }
}

/// The stable `snapline diff --json` shape.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotDiff {
    pub a: SnapshotRef,
    pub b: SnapshotRef,
    /// Every path holds the same content on both sides.
    pub identical: bool,
    /// No path and no object in common.
    pub disjoint: bool,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub moved: usize,
    /// Paths present on both sides with equal content (not listed).
    pub unchanged: usize,
    /// By path. Objects nested in an added, removed or moved one are folded
    /// into it (`nested`).
    pub changes: Vec<Change>,
}

/// How a path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    Moved,
}

/// One changed path.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Change {
    pub change: ChangeKind,
    /// The path in B (in A for a removal).
    pub path: String,
    /// A move: the path it had in A.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// An addition that is another name of an object present on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    /// Other paths to the same changed object (listed once, under its first path).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    /// The type in A, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_type: Option<String>,
    /// Paths inside this object folded into this change.
    pub nested: usize,
    pub preview: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

/// What changed inside an object, by kind.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Detail {
    Array(Box<ArrayDiff>),
    Value(ValueDiff),
    Structure(StructureDiff),
    Frame(FrameDiff),
    Opaque { note: String },
}

/// Records by hash, each read once.
struct Records<'s> {
    store: &'s Store,
    cache: HashMap<String, ObjectRecord>,
}

impl Records<'_> {
    fn get(&mut self, hash: &str) -> QueryResult<&ObjectRecord> {
        if !self.cache.contains_key(hash) {
            let record = self.store.object(hash)?;
            self.cache.insert(hash.to_owned(), record);
        }
        Ok(&self.cache[hash])
    }
}

fn visible(entries: Vec<EntryRow>, internal: bool) -> Vec<EntryRow> {
    entries
        .into_iter()
        .filter(|e| internal || !e.path.starts_with('$'))
        .collect()
}

/// One side only: an addition, removal or move, before folding.
struct OneSided<'e> {
    change: ChangeKind,
    entry: &'e EntryRow,
    from: Option<&'e str>,
}

/// Compares snapshot `a` (before) with snapshot `b` (after).
pub fn diff_snapshots(
    store: &Store,
    a: &SnapshotRef,
    b: &SnapshotRef,
    options: &DiffOptions,
) -> QueryResult<SnapshotDiff> {
    let ea = visible(store.entries(&a.run, a.seq)?, options.internal);
    let eb = visible(store.entries(&b.run, b.seq)?, options.internal);
    let mut previews = Previews::new(store);
    let mut out = SnapshotDiff {
        a: a.clone(),
        b: b.clone(),
        identical: false,
        disjoint: false,
        added: 0,
        removed: 0,
        changed: 0,
        moved: 0,
        unchanged: 0,
        changes: Vec::new(),
    };
    // Entries come sorted by path: equal lists mean identical snapshots.
    if ea.len() == eb.len()
        && ea
            .iter()
            .zip(&eb)
            .all(|(x, y)| x.path == y.path && x.hash == y.hash)
    {
        out.identical = true;
        out.unchanged = eb.len();
        return Ok(out);
    }
    let in_a: HashMap<&str, &EntryRow> = ea.iter().map(|e| (e.path.as_str(), e)).collect();
    let in_b: HashSet<&str> = eb.iter().map(|e| e.path.as_str()).collect();

    // Paths on both sides.
    let mut changed = Vec::new();
    for e in &eb {
        if let Some(old) = in_a.get(e.path.as_str()) {
            if old.hash == e.hash {
                out.unchanged += 1;
            } else {
                changed.push((*old, e));
            }
        }
    }
    // One side only: moves by content, then additions and removals.
    let mut gone: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in ea.iter().filter(|e| !in_b.contains(e.path.as_str())) {
        gone.entry(e.hash.as_str())
            .or_default()
            .push(e.path.as_str());
    }
    let mut sided: Vec<OneSided> = Vec::new();
    let mut moved_from: HashSet<&str> = HashSet::new();
    for e in eb.iter().filter(|e| !in_a.contains_key(e.path.as_str())) {
        let from = gone
            .get_mut(e.hash.as_str())
            .filter(|paths| !paths.is_empty())
            .map(|paths| paths.remove(0));
        if let Some(f) = from {
            moved_from.insert(f);
        }
        sided.push(OneSided {
            change: if from.is_some() {
                ChangeKind::Moved
            } else {
                ChangeKind::Added
            },
            entry: e,
            from,
        });
    }
    for e in ea
        .iter()
        .filter(|e| !in_b.contains(e.path.as_str()) && !moved_from.contains(e.path.as_str()))
    {
        sided.push(OneSided {
            change: ChangeKind::Removed,
            entry: e,
            from: None,
        });
    }
    out.disjoint = out.unchanged == 0
        && changed.is_empty()
        && !sided.iter().any(|s| s.change == ChangeKind::Moved)
        && !ea.is_empty()
        && !eb.is_empty();

    // Another name of an object that is on both sides.
    let mut common_of_node: HashMap<i64, &str> = HashMap::new();
    for e in &eb {
        if in_a.contains_key(e.path.as_str()) {
            common_of_node.entry(e.node).or_insert(e.path.as_str());
        }
    }
    let mut records = Records {
        store,
        cache: HashMap::new(),
    };
    for kind in [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Moved] {
        let of_kind: Vec<&OneSided> = sided.iter().filter(|s| s.change == kind).collect();
        let set: HashSet<&str> = of_kind.iter().map(|s| s.entry.path.as_str()).collect();
        for s in of_kind {
            if let Some(parent) = folded_into(&s.entry.path, &set) {
                if let Some(c) = out.changes.iter_mut().rev().find(|c| c.path == parent) {
                    c.nested += 1;
                }
                continue;
            }
            let record = records.get(&s.entry.hash)?;
            out.changes.push(Change {
                change: kind,
                path: s.entry.path.clone(),
                from: s.from.map(str::to_owned),
                alias_of: (kind == ChangeKind::Added)
                    .then(|| common_of_node.get(&s.entry.node).map(|p| (*p).to_owned()))
                    .flatten(),
                aliases: Vec::new(),
                type_name: record.type_name.clone(),
                old_type: None,
                nested: 0,
                preview: short(&previews.without_arrays(record)),
                detail: None,
            });
            match kind {
                ChangeKind::Added => out.added += 1,
                ChangeKind::Removed => out.removed += 1,
                _ => out.moved += 1,
            }
        }
    }
    // One object reached by several paths changes once, under its first path.
    let mut listed: HashMap<i64, usize> = HashMap::new();
    for (old, new) in changed {
        if let Some(&i) = listed.get(&new.node) {
            out.changes[i].aliases.push(new.path.clone());
            continue;
        }
        listed.insert(new.node, out.changes.len());
        let before = records.get(&old.hash)?.clone();
        let after = records.get(&new.hash)?.clone();
        let detail = detail_of(store, &new.path, &before, &after, options)?;
        out.changes.push(Change {
            change: ChangeKind::Changed,
            path: new.path.clone(),
            from: None,
            alias_of: None,
            aliases: Vec::new(),
            type_name: after.type_name.clone(),
            old_type: (before.type_name != after.type_name).then(|| before.type_name.clone()),
            nested: 0,
            preview: short(&previews.without_arrays(&after)),
            detail: Some(detail),
        });
        out.changed += 1;
    }
    out.changes.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(out)
}

fn short(preview: &str) -> String {
    let first = preview.lines().next().unwrap_or_default();
    if first.chars().count() > 80 {
        format!("{}...", first.chars().take(77).collect::<String>())
    } else {
        first.to_owned()
    }
}

/// The outermost ancestor of `path` that is in `set`, if any.
fn folded_into<'a>(path: &str, set: &HashSet<&'a str>) -> Option<&'a str> {
    boundaries(path)
        .into_iter()
        .find_map(|end| set.get(&path[..end]).copied())
}

/// Where the ancestors of a path end: before each `[`, `.` or `{` that is
/// not inside a quoted key, outermost first.
fn boundaries(path: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in path.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '.' | '{' if i > 0 => out.push(i),
            _ => {}
        }
    }
    out
}

fn detail_of(
    store: &Store,
    path: &str,
    old: &ObjectRecord,
    new: &ObjectRecord,
    options: &DiffOptions,
) -> QueryResult<Detail> {
    use ObjectKind::{Array, Container, Instance, Pickle, Reference, Value};
    Ok(match (old.kind, new.kind) {
        (Array, Array) => Detail::Array(Box::new(array::diff_arrays(
            store,
            old,
            new,
            options.elements,
        )?)),
        (Instance, Instance) if structure::both_frames(old, new) => {
            Detail::Frame(structure::diff_frames(store, old, new)?)
        }
        (Value, Value) => match (
            structure::record_value(store, old)?,
            structure::record_value(store, new)?,
        ) {
            (Some(a), Some(b)) => Detail::Value(structure::diff_values(&a, &b)),
            _ => previews(store, old, new),
        },
        (Container, Container) | (Instance, Instance) => {
            Detail::Structure(structure::diff_children(path, old, new))
        }
        (Pickle, Pickle) => Detail::Opaque {
            note: structure::pickle_note(old, new),
        },
        (Reference, Reference) => Detail::Value(ValueDiff {
            old: reference_text(old),
            new: reference_text(new),
            old_len: None,
            new_len: None,
            items_changed: None,
            changed_keys: Vec::new(),
        }),
        _ => previews(store, old, new),
    })
}

fn previews(store: &Store, old: &ObjectRecord, new: &ObjectRecord) -> Detail {
    let mut previews = Previews::new(store);
    let mut text = |r: &ObjectRecord| match &r.value {
        Some(v) => render_value(v),
        None => short(&previews.without_arrays(r)),
    };
    Detail::Value(ValueDiff {
        old: text(old),
        new: text(new),
        old_len: None,
        new_len: None,
        items_changed: None,
        changed_keys: Vec::new(),
    })
}

fn reference_text(r: &ObjectRecord) -> String {
    let field = |k: &str| r.extra.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let line = r
        .extra
        .get("line")
        .and_then(|l| l.as_i64())
        .map(|l| format!(" (line {l})"))
        .unwrap_or_default();
    format!("{}.{}{line}", field("module"), field("qualname"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_end_at_unquoted_boundaries() {
        assert_eq!(boundaries("model.fc1.weight"), vec![5, 9]);
        assert_eq!(boundaries(r#"cfg["a.b"][0]"#), vec![3, 10]);
        assert_eq!(boundaries("s{0}"), vec![1]);
        let set: HashSet<&str> = ["cfg", "model.fc1"].into_iter().collect();
        assert_eq!(folded_into(r#"cfg["a.b"]"#, &set), Some("cfg"));
        assert_eq!(folded_into("model.fc1.weight", &set), Some("model.fc1"));
        assert_eq!(folded_into("model", &set), None);
    }
}
