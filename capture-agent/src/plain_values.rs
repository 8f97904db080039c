//! The graph walk's fast path for plain values: the content hash of the
//! record `graph.py`'s `GraphBuilder._value` makes of a list, tuple or dict
//! of numbers, strings, None, bools and small tuples, computed here without
//! building the record in Python. A snapshot where such a value did not
//! change then costs one call per value, not an encode, a `json.dumps` and
//! a hash of the record (issue #16: the fixed cost of a snapshot). A large
//! one seen for the first time gets its JSON text made here too
//! (`plain_value_json`), which `_value` stores in chunks.
//!
//! The text is byte for byte what Python's `canonical_json` writes (sorted
//! keys, `ensure_ascii`, `float.__repr__`), so the hash is the same on both
//! paths; `capture-agent/tests/test_plain_values.py` checks it. Anything
//! this does not mirror exactly (sets, bytes, complex and numpy numbers,
//! subclasses, strings with lone surrogates, values stored in chunks) gives
//! None, and Python decides as before.

use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// `values.INLINE_TEXT_LIMIT`: longer strings are not plain values.
const INLINE_TEXT_LIMIT: usize = 4096;
/// `graph.INLINE_JSON_LIMIT`: a value whose JSON is longer goes to chunks.
const INLINE_JSON_LIMIT: usize = 4096;
/// `values.is_plain_value`'s nesting limit: containers at this depth are not plain.
const PLAIN_DEPTH: usize = 3;
/// Integers beyond this magnitude are tagged `{"$int": "..."}` (`values.encode`).
const JSON_INT_LIMIT: i64 = 1 << 53;

/// The canonical JSON of the record `_value` makes of `obj` (less its
/// preview), or None where the Python path must decide.
fn record_json(obj: &Bound<'_, PyAny>) -> Option<String> {
    let (type_name, len) = if let Ok(list) = obj.cast_exact::<PyList>() {
        ("list", list.len())
    } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        ("tuple", tuple.len())
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        ("dict", dict.len())
    } else {
        return None;
    };
    let mut value = String::new();
    encode_container(&mut value, obj, 0, INLINE_JSON_LIMIT)?;
    if value.len() > INLINE_JSON_LIMIT {
        return None;
    }
    Some(format!(
        r#"{{"kind":"value","restorable":true,"shape":[{len}],"type":"{type_name}","value":{value}}}"#
    ))
}

/// A list, tuple or dict at `depth`: its items must be immutable (atomics
/// and tuples), as `_describe` wants of a value stored whole. None too once
/// `out` passes `limit` bytes (the caller wants no longer text).
fn encode_container(
    out: &mut String,
    obj: &Bound<'_, PyAny>,
    depth: usize,
    limit: usize,
) -> Option<()> {
    if depth >= PLAIN_DEPTH {
        return None;
    }
    if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        out.push_str(r#"{"$tuple":["#);
        for (i, item) in tuple.iter().enumerate() {
            if out.len() > limit {
                return None;
            }
            if i > 0 {
                out.push(',');
            }
            encode_item(out, &item, depth + 1, limit)?;
        }
        out.push_str("]}");
        return Some(());
    }
    if depth > 0 {
        return None; // a list or dict inside: mutable, walked as a node of its own
    }
    if let Ok(list) = obj.cast_exact::<PyList>() {
        out.push('[');
        for (i, item) in list.iter().enumerate() {
            if out.len() > limit {
                return None; // (a record's value: stored in chunks, Python's path)
            }
            if i > 0 {
                out.push(',');
            }
            encode_item(out, &item, 1, limit)?;
        }
        out.push(']');
        return Some(());
    }
    let dict = obj.cast_exact::<PyDict>().ok()?;
    out.push_str(r#"{"$dict":["#);
    for (i, (key, value)) in dict.iter().enumerate() {
        if out.len() > limit {
            return None;
        }
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        encode_atomic(out, &key)?;
        out.push(',');
        encode_item(out, &value, 1, limit)?;
        out.push(']');
    }
    out.push_str("]}");
    Some(())
}

/// An item inside a plain value: an atomic or a tuple.
fn encode_item(out: &mut String, obj: &Bound<'_, PyAny>, depth: usize, limit: usize) -> Option<()> {
    if obj.is_exact_instance_of::<PyTuple>() {
        return encode_container(out, obj, depth, limit);
    }
    encode_atomic(out, obj)
}

/// None, a bool, an int, a float or a short str, as `values.encode` tags it.
fn encode_atomic(out: &mut String, obj: &Bound<'_, PyAny>) -> Option<()> {
    if obj.is_none() {
        out.push_str("null");
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if obj.is_exact_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(n) if -JSON_INT_LIMIT < n && n < JSON_INT_LIMIT => {
                let _ = write!(out, "{n}");
            }
            _ => {
                let text = obj.str().ok()?;
                let _ = write!(out, r#"{{"$int":"{}"}}"#, text.to_cow().ok()?);
            }
        }
    } else if let Ok(f) = obj.cast_exact::<PyFloat>() {
        let v = f.value();
        if v.is_nan() {
            out.push_str(r#"{"$float":"nan"}"#);
        } else if v.is_infinite() {
            out.push_str(if v > 0.0 {
                r#"{"$float":"inf"}"#
            } else {
                r#"{"$float":"-inf"}"#
            });
        } else {
            push_float_repr(out, v);
        }
    } else if let Ok(s) = obj.cast_exact::<PyString>() {
        // (Lone surrogates fail here: Python tags those as `$str`.)
        let text = s.to_cow().ok()?;
        if text.len() > INLINE_TEXT_LIMIT && text.chars().count() > INLINE_TEXT_LIMIT {
            return None;
        }
        push_ascii_json_string(out, &text);
    } else {
        return None;
    }
    Some(())
}

/// `float.__repr__` of a finite float: the shortest digits that round-trip,
/// fixed notation for exponents from -4 to 15, else `1e-05` / `1.5e+16`.
pub(crate) fn push_float_repr(out: &mut String, v: f64) {
    // The shortest digits that round-trip ("-1.2345e3") say how many;
    // Python's repr picks, among those as short, the one nearest the value
    // (ties to even): the correctly rounded value at that precision.
    let shortest = format!("{v:e}");
    let count = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let sci = format!("{:.*e}", count.saturating_sub(1), v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.push_str(sign);
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        return;
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`: only
/// printable ASCII as is, `\uXXXX` in lowercase hex, surrogate pairs).
pub(crate) fn push_ascii_json_string(out: &mut String, text: &str) {
    out.push('"');
    // Most strings are printable ASCII with no quote or backslash: as is.
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// The canonical JSON of the value record `graph.py` makes of `obj` (a
/// list, tuple or dict of atomics and small tuples), or None where Python
/// decides (tests compare it with the Python path).
#[pyfunction]
fn plain_value_record(obj: &Bound<'_, PyAny>) -> Option<String> {
    record_json(obj)
}

/// The JSON text of a large plain value as `graph.py`'s `_value` writes it
/// (`json.dumps(values.encode(obj))`, compact), however long: the walk's
/// fast path for a list, tuple or dict of atomics and small tuples seen for
/// the first time (a list of 20,000 texts: one call, not an `is_plain_value`,
/// an `encode` and a `json.dumps`). None where Python decides.
#[pyfunction]
fn plain_value_json(obj: &Bound<'_, PyAny>) -> Option<String> {
    let mut value = String::new();
    encode_container(&mut value, obj, 0, usize::MAX)?;
    Some(value)
}

/// `plain_value_json`'s text as the bytes `_value` stores (ASCII: the JSON
/// escapes everything else), without a Python str between (a str made of
/// 5.4 MB of JSON and encoded back: a copy each way). (`plain_value_json` stays for
/// the agents of earlier versions that the benchmarks run with this
/// extension: `bench/capture_cost_bench.py --before`.)
#[pyfunction]
fn plain_value_json_bytes<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyBytes>> {
    let mut value = String::new();
    encode_container(&mut value, obj, 0, usize::MAX)?;
    Some(PyBytes::new(py, value.as_bytes()))
}

/// The content hash of that record (`hash_bytes` of its canonical JSON),
/// or None where Python decides.
#[pyfunction]
fn plain_value_digest(obj: &Bound<'_, PyAny>) -> Option<String> {
    record_json(obj).map(|text| snapline_array_scan::hash_bytes(text.as_bytes()).to_hex())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(plain_value_record, m)?)?;
    m.add_function(wrap_pyfunction!(plain_value_digest, m)?)?;
    m.add_function(wrap_pyfunction!(plain_value_json, m)?)?;
    m.add_function(wrap_pyfunction!(plain_value_json_bytes, m)?)?;
    Ok(())
}
