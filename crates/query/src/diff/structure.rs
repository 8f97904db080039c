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
}

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

/// The JSON of a value record: inline, or read from its chunks.
pub fn record_value(store: &Store, record: &ObjectRecord) -> QueryResult<Option<Value>> {
    if let Some(v) = &record.value {
        return Ok(Some(v.clone()));
    }
    if record.extra.get("encoding").and_then(|e| e.as_str()) != Some("json") {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    for h in &record.chunks {
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

/// Old and new text of two plain values; item counts for sequences.
pub fn diff_values(old: &Value, new: &Value) -> ValueDiff {
    let (a, b) = (items(old), items(new));
    let changed = match (a, b) {
        (Some(a), Some(b)) => {
            Some(a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len()))
        }
        _ => None,
    };
    ValueDiff {
        old: render_value(old),
        new: render_value(new),
        old_len: a.map(Vec::len),
        new_len: b.map(Vec::len),
        items_changed: changed,
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
