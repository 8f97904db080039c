//! The content hash of an object record, made here from the record dict
//! `graph.py` built: the canonical JSON Python's `canonical_json` writes
//! (sorted keys, no spaces, `ensure_ascii`, `float.__repr__`), hashed as
//! `hash_bytes` hashes it. An epoch snapshot of a model whose weights all
//! changed hashes a new record per tensor, and Python's json module took
//! about 30 us for each (issue #16: the fixed cost of a snapshot).
//!
//! `commit_json` writes a snapshot's commit the same way, keys in the
//! dicts' order: the text `json.dumps` writes (`agent._commit_json`).
//!
//! Byte for byte the text of the Python path, so both give one hash
//! (`capture-agent/tests/test_plain_values.py` compares them). What this
//! does not mirror exactly (subclasses, non-string keys, NaN, lone
//! surrogates, very deep records) gives None, and Python hashes as before.

use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::plain_values::{push_ascii_json_string, push_float_repr};

/// Records nest a few levels (extra, stats, children); deeper is Python's.
const MAX_DEPTH: usize = 32;

/// Whether a dict's keys are written sorted (the canonical JSON a record
/// hashes) or in the dict's order (a commit: serde reads either).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Sorted,
    AsIs,
}

fn encode(out: &mut String, obj: &Bound<'_, PyAny>, depth: usize, order: Order) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    if obj.is_none() {
        out.push_str("null");
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if obj.is_exact_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(n) => {
                let _ = write!(out, "{n}");
            }
            // (json writes a big int's repr)
            Err(_) => out.push_str(&obj.repr().ok()?.to_cow().ok()?),
        }
    } else if let Ok(f) = obj.cast_exact::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() {
            return None; // allow_nan=False: Python's path raises
        }
        push_float_repr(out, v);
    } else if let Ok(s) = obj.cast_exact::<PyString>() {
        push_ascii_json_string(out, &s.to_cow().ok()?);
    } else if let Ok(list) = obj.cast_exact::<PyList>() {
        encode_items(out, list.iter(), depth, order)?;
    } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        encode_items(out, tuple.iter(), depth, order)?;
    } else {
        let dict = obj.cast_exact::<PyDict>().ok()?;
        let mut items = Vec::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let key = key
                .cast_exact::<PyString>()
                .ok()?
                .to_cow()
                .ok()?
                .into_owned();
            items.push((key, value));
        }
        if order == Order::Sorted {
            items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        out.push('{');
        for (i, (key, value)) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_ascii_json_string(out, key);
            out.push(':');
            encode(out, value, depth + 1, order)?;
        }
        out.push('}');
    }
    Some(())
}

/// A list's or tuple's items, as a JSON array.
fn encode_items<'py>(
    out: &mut String,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    order: Order,
) -> Option<()> {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode(out, &item, depth + 1, order)?;
    }
    out.push(']');
    Some(())
}

/// `canonical_json(record)`, or None where Python must write it.
#[pyfunction]
fn record_json(record: &Bound<'_, PyAny>) -> Option<String> {
    let mut out = String::with_capacity(512);
    encode(&mut out, record, 0, Order::Sorted)?;
    Some(out)
}

/// A snapshot's commit as JSON, as `json.dumps` would write it (keys in
/// the dicts' order, no spaces, `ensure_ascii`), or None where Python must
/// (`agent._commit_json`).
#[pyfunction]
fn commit_json(payload: &Bound<'_, PyAny>) -> Option<String> {
    let mut out = String::with_capacity(1 << 16);
    encode(&mut out, payload, 0, Order::AsIs)?;
    Some(out)
}

/// `hash_bytes(canonical_json(record).encode())`, or None where Python
/// must write the JSON.
#[pyfunction]
fn record_digest(record: &Bound<'_, PyAny>) -> Option<String> {
    let mut out = String::with_capacity(512);
    encode(&mut out, record, 0, Order::Sorted)?;
    Some(snapline_array_scan::hash_bytes(out.as_bytes()).to_hex())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(record_json, m)?)?;
    m.add_function(wrap_pyfunction!(commit_json, m)?)?;
    m.add_function(wrap_pyfunction!(record_digest, m)?)?;
    Ok(())
}
