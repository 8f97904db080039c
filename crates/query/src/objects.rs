//! The objects of a snapshot: the flat list by path (`snapline show`) and one
//! object in detail. Everything comes from the JSON records; nothing is
//! unpickled.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use snapline_store::{value_chunks, EntryRow, ObjectKind, ObjectRecord, Stats, Store};

use crate::error::{QueryError, QueryResult};
use crate::reference::SnapshotRef;

mod array_preview;
mod record_preview;
pub(crate) use record_preview::Previews;
mod model_view;
pub use model_view::{
    model_view, order_by_importance, variable_categories, variable_category, LayerNode, ModelView,
    OptimizerView, ParameterInfo, ParameterState, VariableCategory,
};
pub(crate) mod value_text;
pub use value_text::render_value;

/// One object at one path (the stable `snapline show --json` shape).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ObjectView {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub kind: ObjectKind,
    pub shape: Option<Vec<i64>>,
    pub dtype: Option<String>,
    pub stats: Option<Stats>,
    pub restorable: bool,
    pub reason: Option<String>,
    pub preview: String,
    /// Identity within the snapshot: paths with the same node are one object.
    pub node: Option<i64>,
    /// The other paths reaching the same object.
    pub aliases: Vec<String>,
    pub hash: Option<String>,
    pub nbytes: u64,
    /// For `show PATH`: the value (plain values), the children, and details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildView>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, Value>,
}

/// A child of a container or instance, in `show PATH`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildView {
    pub path: String,
    /// The child's type, or "value" text for inline values.
    pub summary: String,
}

fn is_internal(path: &str) -> bool {
    path.starts_with('$')
}

fn view(
    entry: &EntryRow,
    record: &ObjectRecord,
    aliases: Vec<String>,
    preview: String,
) -> ObjectView {
    ObjectView {
        path: entry.path.clone(),
        type_name: record.type_name.clone(),
        kind: record.kind,
        shape: record.shape.clone(),
        dtype: record.dtype.clone(),
        stats: record.stats.clone(),
        restorable: record.restorable,
        reason: record.reason.clone(),
        preview,
        node: Some(entry.node),
        aliases,
        hash: Some(entry.hash.clone()),
        nbytes: record.nbytes,
        value: None,
        children: Vec::new(),
        extra: serde_json::Map::new(),
    }
}

fn alias_map(entries: &[EntryRow]) -> HashMap<i64, Vec<String>> {
    let mut by_node: HashMap<i64, Vec<String>> = HashMap::new();
    for e in entries {
        by_node.entry(e.node).or_default().push(e.path.clone());
    }
    by_node
}

/// The variable a path starts from: `params` for `params["W1"]`,
/// `train:model` for `train:model.fc1.weight`.
pub(crate) fn root_of(path: &str) -> &str {
    let end = path
        .char_indices()
        .skip(1)
        .find(|&(_, c)| matches!(c, '[' | '.' | '{'))
        .map(|(i, _)| i)
        .unwrap_or(path.len());
    if path.starts_with('$') {
        // `$rng.numpy` is one name.
        return path.find('[').map(|i| &path[..i]).unwrap_or(path);
    }
    &path[..end]
}

/// The objects of a snapshot: every variable, and every array or tensor
/// inside them, each once (its other paths are in `aliases`); with `all`,
/// every path of every nested object and the RNG states too.
/// Variables come in capture order, each followed by what it contains.
pub fn show_snapshot(store: &Store, snap: &SnapshotRef, all: bool) -> QueryResult<Vec<ObjectView>> {
    let mut entries = store.entries(&snap.run, snap.seq)?;
    let node_of: HashMap<String, i64> = entries.iter().map(|e| (e.path.clone(), e.node)).collect();
    let root_node = |path: &str| node_of.get(root_of(path)).copied().unwrap_or(i64::MAX);
    entries.sort_by(|a, b| (root_node(&a.path), &a.path).cmp(&(root_node(&b.path), &b.path)));
    let aliases = alias_map(&entries);
    let mut records: HashMap<String, ObjectRecord> = HashMap::new();
    // Nested arrays reached again by another path are listed once.
    let mut shown = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut previews = Previews::new(store);
    for e in &entries {
        if !all && is_internal(&e.path) {
            continue;
        }
        if !records.contains_key(&e.hash) {
            records.insert(e.hash.clone(), store.object(&e.hash)?);
        }
        if let Some(record) = records.get(&e.hash) {
            let nested = root_of(&e.path) != e.path;
            if !all && nested && (record.kind != ObjectKind::Array || !shown.insert(e.node)) {
                continue;
            }
            shown.insert(e.node);
            let others = aliases
                .get(&e.node)
                .map(|paths| paths.iter().filter(|p| **p != e.path).cloned().collect())
                .unwrap_or_default();
            out.push(view(e, record, others, previews.of(record)));
        }
    }
    Ok(out)
}

/// One object in detail: a stored path, or a path inside a plain value or
/// container (`cfg["lr"]`, `history[3]`).
pub fn show_object(store: &Store, snap: &SnapshotRef, path: &str) -> QueryResult<ObjectView> {
    let entries = store.entries(&snap.run, snap.seq)?;
    let unknown = || QueryError::UnknownPath {
        path: path.to_owned(),
        snapshot: snap.to_string(),
    };
    // The longest stored path that is the requested one or a prefix of it.
    let entry = entries
        .iter()
        .filter(|e| path == e.path || (path.starts_with(&e.path) && is_boundary(path, &e.path)))
        .max_by_key(|e| e.path.len())
        .ok_or_else(unknown)?;
    let record = store.object(&entry.hash)?;
    let aliases = alias_map(&entries)
        .remove(&entry.node)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| *p != entry.path)
        .collect();
    let mut v = view(entry, &record, aliases, Previews::new(store).of(&record));
    // A large value is in its chunks (content-defined: see the agent's graph.py).
    let value = crate::diff::record_value(store, &record)?;
    if entry.path == path {
        v.value = value.as_ref().map(render_value);
        v.children = children_of(&entry.path, &record);
        v.extra = record.extra.clone();
        v.extra.insert(
            "chunks".into(),
            Value::from(value_chunks(store, &record)?.len()),
        );
        return Ok(v);
    }
    // Descend into inline children and plain values.
    let rest = &path[entry.path.len()..];
    let inner = descend(&record, value.as_ref(), rest).ok_or_else(unknown)?;
    Ok(ObjectView {
        path: path.to_owned(),
        type_name: value_text::type_of(&inner).to_owned(),
        kind: ObjectKind::Value,
        shape: None,
        dtype: None,
        stats: value_text::number(&inner).map(Stats::of_scalar),
        restorable: record.restorable,
        reason: None,
        preview: render_value(&inner),
        node: None,
        aliases: Vec::new(),
        hash: None,
        nbytes: 0,
        value: Some(render_value(&inner)),
        children: Vec::new(),
        extra: serde_json::Map::new(),
    })
}

fn is_boundary(path: &str, prefix: &str) -> bool {
    matches!(path[prefix.len()..].chars().next(), Some('[' | '.' | '{'))
}

/// The path suffix of a child key, as the agent writes it. Pickles and
/// pandas frames keep the literal suffix as the key (`.index`, `["loss"]`).
pub(crate) fn child_suffix(record: &ObjectRecord, key: &Value) -> String {
    if record.extra.contains_key("pandas") {
        return key.as_str().unwrap_or_default().to_owned();
    }
    match record.kind {
        ObjectKind::Instance => format!(".{}", key.as_str().unwrap_or_default()),
        ObjectKind::Pickle => key.as_str().unwrap_or_default().to_owned(),
        _ => match key {
            Value::String(s) if record.type_name == "dict" => {
                format!("[{}]", Value::String(s.clone()))
            }
            Value::Number(n) if matches!(record.type_name.as_str(), "set" | "frozenset") => {
                format!("{{{n}}}")
            }
            Value::Number(n) => format!("[{n}]"),
            other => format!("[{}]", render_value(other)),
        },
    }
}

fn children_of(path: &str, record: &ObjectRecord) -> Vec<ChildView> {
    record
        .children
        .iter()
        .map(|c| ChildView {
            path: format!("{path}{}", child_suffix(record, &c.key)),
            summary: match (&c.value, &c.hash, &c.cycle) {
                (Some(v), _, _) => render_value(v),
                (None, Some(h), _) => format!("object {}", &h[..h.len().min(12)]),
                (None, None, Some(target)) => format!("(cycle: {target})"),
                (None, None, None) => "None".into(),
            },
        })
        .collect()
}

fn descend(record: &ObjectRecord, value: Option<&Value>, rest: &str) -> Option<Value> {
    if let Some(value) = value {
        return value_text::descend_value(value, rest);
    }
    let child = record
        .children
        .iter()
        .find(|c| rest.starts_with(&child_suffix(record, &c.key)))?;
    let tail = &rest[child_suffix(record, &child.key).len()..];
    let value = child.value.as_ref()?;
    value_text::descend_value(value, tail)
}

#[cfg(test)]
mod tests {
    use super::root_of;

    #[test]
    fn a_path_starts_from_its_variable() {
        assert_eq!(root_of(r#"params["W1"]"#), "params");
        assert_eq!(root_of("model.0.weight"), "model");
        assert_eq!(root_of("train:loss"), "train:loss");
        assert_eq!(root_of("train:model.fc1.weight"), "train:model");
        assert_eq!(root_of("$rng.numpy"), "$rng.numpy");
        assert_eq!(root_of("$rng.numpy[1]"), "$rng.numpy");
        assert_eq!(root_of("s{0}"), "s");
    }
}
