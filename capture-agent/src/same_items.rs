//! The graph walk's identity check for big containers of immutable items
//! (`unchanged_containers.py`): a list, tuple, dict, set or frozenset whose
//! items are exact immutable atoms is remembered with a tuple of its items
//! after it is walked; at the next snapshot, the same container holding the
//! very same item objects, in the same order, has the same record, so it is
//! not encoded and hashed again (issue #16: ~26,000 unchanged strings cost
//! 30-50 ms per notebook cell end).
//!
//! Only pointers are compared: no item's `__eq__` runs. Anything unexpected
//! (another type, a subclass, another length, an item of a mutable type)
//! answers "not the same" or "not rememberable", and the walk runs as before.

use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple,
};

/// Tuples inside a remembered container may nest this deep (as
/// `values.is_plain_value` allows).
const TUPLE_DEPTH: usize = 3;

/// An exact None, bool, int, float, complex, str or bytes, or an exact tuple
/// of those (nested at most `TUPLE_DEPTH`): its value can never change.
fn immutable(obj: &Bound<'_, PyAny>, depth: usize) -> bool {
    if obj.is_none()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyBool>()
        || obj.is_exact_instance_of::<PyBytes>()
        || obj.is_exact_instance_of::<PyComplex>()
    {
        return true;
    }
    match obj.cast_exact::<PyTuple>() {
        Ok(tuple) if depth < TUPLE_DEPTH => tuple.iter().all(|item| immutable(&item, depth + 1)),
        _ => false,
    }
}

/// The items of an exact list, tuple, set or frozenset in iteration order;
/// of an exact dict, its keys and values alternately; None for other types.
fn items_of<'py>(obj: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast_exact::<PyList>() {
        return Some(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        return Some(tuple.iter().collect());
    }
    if let Ok(dict) = obj.cast_exact::<PyDict>() {
        let mut out = Vec::with_capacity(dict.len() * 2);
        for (key, value) in dict.iter() {
            out.push(key);
            out.push(value);
        }
        return Some(out);
    }
    if let Ok(set) = obj.cast_exact::<PySet>() {
        return Some(set.iter().collect());
    }
    if let Ok(set) = obj.cast_exact::<PyFrozenSet>() {
        return Some(set.iter().collect());
    }
    None
}

/// A tuple of `obj`'s items (dict: key, value, key, value...) when `obj` is
/// an exact list, tuple, dict, set or frozenset whose items are all
/// immutable atoms (or tuples of them); else None. The tuple holds strong
/// references: no item can be freed, and its address reused, while it is
/// remembered.
#[pyfunction]
fn immutable_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(items) = items_of(obj) else {
        return Ok(None);
    };
    if !items.iter().all(|item| immutable(item, 0)) {
        return Ok(None);
    }
    PyTuple::new(obj.py(), items).map(Some)
}

/// True when `obj` holds exactly the objects of `items` (as
/// `immutable_items` made it), in the same order, compared by address;
/// False on any difference or doubt.
#[pyfunction]
fn same_items(obj: &Bound<'_, PyAny>, items: &Bound<'_, PyAny>) -> bool {
    let Ok(items) = items.cast_exact::<PyTuple>() else {
        return false;
    };
    if let Ok(list) = obj.cast_exact::<PyList>() {
        return list.len() == items.len() && same_order(list.iter(), items);
    }
    if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        return tuple.len() == items.len() && same_order(tuple.iter(), items);
    }
    if let Ok(dict) = obj.cast_exact::<PyDict>() {
        return dict.len() * 2 == items.len()
            && same_order(dict.iter().flat_map(|(k, v)| [k, v]), items);
    }
    if let Ok(set) = obj.cast_exact::<PySet>() {
        return set.len() == items.len() && same_order(set.iter(), items);
    }
    if let Ok(set) = obj.cast_exact::<PyFrozenSet>() {
        return set.len() == items.len() && same_order(set.iter(), items);
    }
    false
}

/// Every item of `now` is the object at the same index of `items`, and
/// there are as many.
fn same_order<'py>(
    now: impl Iterator<Item = Bound<'py, PyAny>>,
    items: &Bound<'_, PyTuple>,
) -> bool {
    let mut count = 0;
    for (i, item) in now.enumerate() {
        match items.get_borrowed_item(i) {
            Ok(remembered) if remembered.as_ptr() == item.as_ptr() => count += 1,
            _ => return false,
        }
    }
    count == items.len()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(immutable_items, m)?)?;
    m.add_function(wrap_pyfunction!(same_items, m)?)?;
    Ok(())
}
