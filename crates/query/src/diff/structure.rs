//! Diffs of everything that is not an array: plain values, containers and
//! instances (keys and attributes), pandas frames (column by column), and
//! pickles (by size only: they are never unpickled).

use serde::Serialize;
use serde_json::Value;
use snapline_store::{ObjectKind, ObjectRecord, Store};

use crate::diff::array::diff_arrays;
use crate::error::QueryResult;
use crate::objects::{child_suffix, render_value};

/// Old and new value of a plain value (numbers, strings, lists...).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValueDiff {
    pub old: String,
    pub new: String,
    /// For sequences: their lengths and how many items differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_changed: Option<usize>,
    /// For lists, tuples and dicts: the first [`CHANGED_KEYS_SHOWN`] items
    /// that differ (changed, added or removed), as paths below the value
    /// (`[12]`, `["word3"]`: what `snapline show` takes after its name).
    pub changed_keys: Vec<String>,
}

/// At most this many `changed_keys` per value.
pub const CHANGED_KEYS_SHOWN: usize = 20;

/// What changed inside a container or instance.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StructureDiff {
    /// Child paths (keys, attributes) that appeared / disappeared.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Children held inline (plain values) whose value changed.
    pub values: Vec<ChildValueChange>,
    /// Children that are objects of their own and changed (each is also
    /// listed as a change of its own path).
    pub objects: Vec<String>,
}

/// An inline child whose value changed.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildValueChange {
    pub path: String,
    pub old: String,
    pub new: String,
}

/// What changed in a pandas DataFrame or Series.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FrameDiff {
    pub old_shape: Option<Vec<i64>>,
    pub new_shape: Option<Vec<i64>>,
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
    pub dtype_changes: Vec<DtypeChange>,
    /// Columns with changed cells, in column order.
    pub cells: Vec<ColumnCells>,
    pub index_changed: bool,
}

/// A column whose dtype changed.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DtypeChange {
    pub column: String,
    pub old: String,
    pub new: String,
}

/// Changed cells of one column.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnCells {
    pub column: String,
    /// Changed cells; `None` when the rows changed and cells cannot be paired.
    pub changed: Option<u64>,
}

/// The JSON of a value record: inline, or read from its chunks (listed in
/// the record, or in its chunk-list tree).
pub fn record_value(store: &Store, record: &ObjectRecord) -> QueryResult<Option<Value>> {
    if let Some(v) = &record.value {
        return Ok(Some(v.clone()));
    }
    if record.extra.get("encoding").and_then(|e| e.as_str()) != Some("json") {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    for h in &snapline_store::value_chunks(store, record)? {
        bytes.extend_from_slice(&store.read_chunk(h)?);
    }
    Ok(serde_json::from_slice(&bytes).ok())
}

/// The items of a tagged sequence value (list, tuple, set).
fn items(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        Value::Object(o) if o.len() == 1 => o
            .get("$tuple")
            .or_else(|| o.get("$set"))
            .or_else(|| o.get("$frozenset"))
            .and_then(|x| x.as_array()),
        _ => None,
    }
}

/// The `[key, value]` pairs of a tagged dict value.
fn pairs(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Object(o) if o.len() == 1 => o.get("$dict").and_then(|x| x.as_array()),
        _ => None,
    }
}

/// Indices of the items of two sequences that differ (sets excluded: their
/// items have no place), and how many.
fn sequence_changes(old: &Value, new: &Value) -> Option<(usize, Vec<String>)> {
    let (a, b) = (items(old)?, items(new)?);
    if matches!(old, Value::Object(o) if !o.contains_key("$tuple")) {
        let count = a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len());
        return Some((count, Vec::new()));
    }
    let mut keys = Vec::new();
    let mut count = 0;
    for i in 0..a.len().max(b.len()) {
        if a.get(i) != b.get(i) {
            count += 1;
            if keys.len() < CHANGED_KEYS_SHOWN {
                keys.push(format!("[{i}]"));
            }
        }
    }
    Some((count, keys))
}

/// Keys of two dicts whose items differ (changed, added, removed), and how
/// many, in the new dict's order then the removed ones.
fn dict_changes(old: &Value, new: &Value) -> Option<(usize, Vec<String>)> {
    let (a, b) = (pairs(old)?, pairs(new)?);
    let entry = |p: &Value| {
        let p = p.as_array()?;
        Some((p.first()?.to_string(), p.get(1)?.clone()))
    };
    let before: std::collections::HashMap<String, Value> = a.iter().filter_map(entry).collect();
    let mut seen = std::collections::HashSet::new();
    let (mut count, mut keys) = (0, Vec::new());
    let mut note = |key: &str| {
        count += 1;
        if keys.len() < CHANGED_KEYS_SHOWN {
            keys.push(format!("[{key}]"));
        }
    };
    for (key, value) in b.iter().filter_map(entry) {
        if before.get(&key) != Some(&value) {
            note(&key);
        }
        seen.insert(key);
    }
    for (key, _) in a.iter().filter_map(entry) {
        if !seen.contains(&key) {
            note(&key);
        }
    }
    Some((count, keys))
}

/// Old and new text of two plain values; for lists, tuples, sets and
/// dicts their lengths and how many items differ, and which (not for sets).
pub fn diff_values(old: &Value, new: &Value) -> ValueDiff {
    let len = |v: &Value| items(v).or_else(|| pairs(v)).map(Vec::len);
    let changes = sequence_changes(old, new).or_else(|| dict_changes(old, new));
    let (items_changed, changed_keys) = match changes {
        Some((count, keys)) => (Some(count), keys),
        None => (None, Vec::new()),
    };
    ValueDiff {
        old: render_value(old),
        new: render_value(new),
        old_len: len(old),
        new_len: len(new),
        items_changed,
        changed_keys,
    }
}

fn child_text(value: &Option<Value>, hash: &Option<String>) -> String {
    match (value, hash) {
        (Some(v), _) => render_value(v),
        (None, Some(h)) => format!("object {}", &h[..h.len().min(12)]),
        _ => "None".into(),
    }
}

/// Keys, attributes and inline values of two containers or instances.
pub fn diff_children(path: &str, old: &ObjectRecord, new: &ObjectRecord) -> StructureDiff {
    let mut out = StructureDiff::default();
    let suffix = |r: &ObjectRecord, k: &Value| format!("{path}{}", child_suffix(r, k));
    for c in &new.children {
        let Some(o) = old.children.iter().find(|o| o.key == c.key) else {
            out.added.push(suffix(new, &c.key));
            continue;
        };
        if o == c {
            continue;
        }
        match (&o.hash, &c.hash) {
            (Some(_), Some(_)) => out.objects.push(suffix(new, &c.key)),
            _ => out.values.push(ChildValueChange {
                path: suffix(new, &c.key),
                old: child_text(&o.value, &o.hash),
                new: child_text(&c.value, &c.hash),
            }),
        }
    }
    for o in &old.children {
        if !new.children.iter().any(|c| c.key == o.key) {
            out.removed.push(suffix(old, &o.key));
        }
    }
    out
}

fn is_frame(record: &ObjectRecord) -> bool {
    record.extra.contains_key("pandas")
}

/// Both records are pandas objects stored by column.
pub fn both_frames(old: &ObjectRecord, new: &ObjectRecord) -> bool {
    is_frame(old) && is_frame(new) && old.kind == ObjectKind::Instance
}

fn labels(record: &ObjectRecord) -> Vec<Value> {
    record
        .extra
        .get("columns")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default()
}

fn dtypes(record: &ObjectRecord) -> Vec<String> {
    match record.extra.get("dtypes").and_then(|d| d.as_array()) {
        Some(list) => list
            .iter()
            .map(|d| d.as_str().unwrap_or_default().to_owned())
            .collect(),
        // A Series: one column, its values.
        None => vec![record
            .extra
            .get("dtype")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_owned()],
    }
}

/// The child holding a column's values: `["label"]` in a frame, `.values`
/// in a series.
fn column_child<'a>(record: &'a ObjectRecord, label: Option<&Value>) -> Option<&'a str> {
    let key = match label {
        Some(l) => format!("[{}]", key_text(l)),
        None => ".values".to_owned(),
    };
    record
        .children
        .iter()
        .find(|c| c.key.as_str() == Some(key.as_str()))
        .and_then(|c| c.hash.as_deref())
}

/// A label as the agent writes it in a path: JSON for strings, the value otherwise.
fn key_text(label: &Value) -> String {
    match label {
        Value::String(_) => label.to_string(),
        other => render_value(other),
    }
}

fn index_of(record: &ObjectRecord) -> (Option<&Value>, Option<&str>) {
    let child = record
        .children
        .iter()
        .find(|c| c.key.as_str() == Some(".index"))
        .and_then(|c| c.hash.as_deref());
    (record.extra.get("index"), child)
}

/// Column-by-column diff of two pandas frames (or series).
pub fn diff_frames(
    store: &Store,
    old: &ObjectRecord,
    new: &ObjectRecord,
) -> QueryResult<FrameDiff> {
    let series = !new.extra.contains_key("columns");
    let (old_labels, new_labels) = (labels(old), labels(new));
    let (old_types, new_types) = (dtypes(old), dtypes(new));
    let rows = |r: &ObjectRecord| r.shape.as_ref().and_then(|s| s.first().copied());
    let mut out = FrameDiff {
        old_shape: old.shape.clone(),
        new_shape: new.shape.clone(),
        index_changed: index_of(old) != index_of(new),
        ..FrameDiff::default()
    };
    let rows_equal = rows(old) == rows(new);
    let columns: Vec<(Option<Value>, String)> = if series {
        vec![(None, "values".into())]
    } else {
        new_labels
            .iter()
            .map(|l| (Some(l.clone()), render_value(l)))
            .collect()
    };
    for l in &old_labels {
        if !new_labels.contains(l) {
            out.columns_removed.push(render_value(l));
        }
    }
    for (new_pos, (label, name)) in columns.iter().enumerate() {
        let old_pos = match label {
            Some(l) => old_labels.iter().position(|x| x == l),
            None => Some(0),
        };
        let Some(old_pos) = old_pos else {
            out.columns_added.push(name.clone());
            continue;
        };
        let ot = old_types.get(old_pos).cloned().unwrap_or_default();
        let nt = new_types.get(new_pos).cloned().unwrap_or_default();
        if ot != nt {
            out.dtype_changes.push(DtypeChange {
                column: name.clone(),
                old: ot,
                new: nt,
            });
        }
        let (a, b) = (
            column_child(old, label.as_ref()),
            column_child(new, label.as_ref()),
        );
        if a == b {
            continue;
        }
        let changed = match (a, b) {
            (Some(a), Some(b)) if rows_equal => column_cells(store, a, b)?,
            _ => None,
        };
        out.cells.push(ColumnCells {
            column: name.clone(),
            changed,
        });
    }
    Ok(out)
}

/// Changed cells between two stored columns (arrays or value lists).
fn column_cells(store: &Store, a: &str, b: &str) -> QueryResult<Option<u64>> {
    let (ra, rb) = (store.object(a)?, store.object(b)?);
    if ra.kind == ObjectKind::Array && rb.kind == ObjectKind::Array {
        let d = diff_arrays(store, &ra, &rb, 0)?;
        return Ok(d.compared.then_some(d.changed));
    }
    match (record_value(store, &ra)?, record_value(store, &rb)?) {
        (Some(x), Some(y)) => Ok(diff_values(&x, &y)
            .items_changed
            .map(|n| u64::try_from(n).unwrap_or(u64::MAX))),
        _ => Ok(None),
    }
}

/// Two pickles: only their size is known without unpickling.
pub fn pickle_note(old: &ObjectRecord, new: &ObjectRecord) -> String {
    format!(
        "pickled content changed ({} -> {} bytes); pickles are compared by hash, never unpickled",
        old.nbytes, new.nbytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dict_value_names_its_changed_keys() {
        let old = json!({"$dict": [["a", 1], ["b", 2], ["c", 3]]});
        let new = json!({"$dict": [["a", 1], ["b", 5], ["d", 4]]});
        let d = diff_values(&old, &new);
        assert_eq!(d.changed_keys, vec![r#"["b"]"#, r#"["d"]"#, r#"["c"]"#]);
        assert_eq!(
            (d.old_len, d.new_len, d.items_changed),
            (Some(3), Some(3), Some(3))
        );
    }

    #[test]
    fn a_list_value_names_its_changed_indices_up_to_a_limit() {
        let old = json!([0, 1, 2, 3]);
        let new = json!([0, 9, 2, 3, 4]);
        let d = diff_values(&old, &new);
        assert_eq!(d.changed_keys, vec!["[1]", "[4]"]);
        assert_eq!(d.items_changed, Some(2));
        let many: Vec<i64> = (0..100).collect();
        let d = diff_values(&json!([]), &json!(many));
        assert_eq!(d.changed_keys.len(), CHANGED_KEYS_SHOWN);
        assert_eq!(d.items_changed, Some(100));
        // Sets: how many, not which (their items have no place).
        let d = diff_values(&json!({"$set": [1, 2]}), &json!({"$set": [1, 3]}));
        assert_eq!((d.items_changed, d.changed_keys.len()), (Some(1), 0));
    }
}
