//! The graph walk's identity check for big containers of immutable items
//! (`unchanged_containers.py`): a list, tuple, dict, set or frozenset whose
//! items are exact immutable atoms is remembered with a tuple of its items
//! after it is walked; at the next snapshot, the same container holding the
//! very same item objects, in the same order, has the same record, so it is
//! not encoded and hashed again (issue #16: ~26,000 unchanged strings cost
//! 30-50 ms per notebook cell end).
//!
//! A plain value may also hold lists, dicts and sets (a table of 20,000
//! rows, each a list of floats, is one value record when nothing else
//! holds its rows): those are remembered as a marker of their type and
//! their length, then their own items, depth first. The next snapshot walks
//! the container the same way and compares position by position: the same
//! atoms (held by the remembered tuple: their addresses cannot be reused),
//! the same structure, and every inner list, dict or set still held by its
//! container alone (else the walk must give it a node of its own). The
//! value's record depends only on that, not on which list objects hold
//! the atoms (before this, such a table was encoded and dumped again at
//! every snapshot: 225 ms for 20,000 unchanged rows of 8 floats).
//!
//! Only pointers are compared: no item's `__eq__` runs. Anything unexpected
//! (another type, a subclass, another length, an item of a mutable type)
//! answers "not the same" or "not rememberable", and the walk runs as before.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple, PyType,
};

/// Tuples inside a remembered container may nest this deep (as
/// `values.is_plain_value` allows).
const TUPLE_DEPTH: usize = 3;

/// An exact None, bool, int, float, complex, str or bytes, a scalar of a
/// type `immutable_scalar_types` named (numpy's numbers), or an exact
/// tuple of those (nested at most `TUPLE_DEPTH`): its value can never
/// change.
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
        Ok(_) => false,
        Err(_) => SCALAR_TYPES.get(obj.py()).is_some_and(|types| {
            let t = obj.get_type();
            types.iter().any(|known| known.as_ptr() == t.as_ptr())
        }),
    }
}

/// The scalar types whose values never change besides Python's own
/// (numpy's numbers: `unchanged_containers.py` names them once numpy is
/// imported), compared by exact type.
static SCALAR_TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Names the immutable scalar types (once; later calls change nothing):
/// True when these are the ones in use.
#[pyfunction]
fn immutable_scalar_types(types: Vec<Bound<'_, PyType>>) -> bool {
    let Some(py) = types.first().map(|t| t.py()) else {
        return false;
    };
    let wanted: Vec<usize> = types.iter().map(|t| t.as_ptr() as usize).collect();
    let set = SCALAR_TYPES.get_or_init(py, || types.into_iter().map(Bound::unbind).collect());
    set.iter().map(|t| t.as_ptr() as usize).eq(wanted)
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

/// Lists, dicts and sets may nest this deep inside a remembered value
/// (`values.is_plain_value`'s limit: the container itself is depth 0).
const PLAIN_DEPTH: usize = 3;

/// References to an inner list, dict or set that only its container holds,
/// while `same_items` looks at it: its container's, and the one `items_of`
/// took for the walk.
const UNSHARED_REFS: isize = 2;

/// The markers of an inner list, dict and set in a remembered tuple: private
/// objects, so no atom of the program's can be taken for one.
static MARKERS: PyOnceLock<[Py<PyAny>; 3]> = PyOnceLock::new();

fn markers(py: Python<'_>) -> PyResult<&[Py<PyAny>; 3]> {
    MARKERS.get_or_try_init(py, || {
        let object = py.import("builtins")?.getattr("object")?;
        Ok([
            object.call0()?.unbind(),
            object.call0()?.unbind(),
            object.call0()?.unbind(),
        ])
    })
}

/// Which marker an exact list, dict or set takes, or None for anything else.
fn mutable_kind(obj: &Bound<'_, PyAny>) -> Option<usize> {
    if obj.is_exact_instance_of::<PyList>() {
        Some(0)
    } else if obj.is_exact_instance_of::<PyDict>() {
        Some(1)
    } else if obj.is_exact_instance_of::<PySet>() {
        Some(2)
    } else {
        None
    }
}

/// How many items `items_of` gives of an exact list, dict or set, without
/// taking references to them (they would count as holders of its inner
/// containers).
fn item_count(obj: &Bound<'_, PyAny>) -> Option<usize> {
    if let Ok(list) = obj.cast_exact::<PyList>() {
        Some(list.len())
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        Some(dict.len() * 2)
    } else {
        obj.cast_exact::<PySet>().ok().map(|set| set.len())
    }
}

/// Appends what `remember` keeps of `obj`'s items to `out`: atoms as they
/// are; an inner list, dict or set as its marker, its item count
/// (`items_of`'s) and its own items. False when an item is neither.
fn flatten<'py>(
    obj: &Bound<'py, PyAny>,
    depth: usize,
    markers: &[Py<PyAny>; 3],
    out: &mut Vec<Bound<'py, PyAny>>,
) -> bool {
    let Some(items) = items_of(obj) else {
        return false;
    };
    for item in items {
        if immutable(&item, 0) {
            out.push(item);
            continue;
        }
        let Some(kind) = mutable_kind(&item) else {
            return false;
        };
        let Some(count) = item_count(&item) else {
            return false;
        };
        if depth + 1 >= PLAIN_DEPTH {
            return false;
        }
        let py = obj.py();
        out.push(markers[kind].bind(py).clone());
        out.push(
            count
                .into_pyobject(py)
                .map(Bound::into_any)
                .unwrap_or_else(|e| match e {}),
        );
        if !flatten(&item, depth + 1, markers, out) {
            return false;
        }
    }
    true
}

/// A tuple of what `same_items` compares against (see the module's doc):
/// `obj`'s items (dict: key, value, key, value...) when `obj` is an exact
/// list, tuple, dict, set or frozenset whose items are immutable atoms (or
/// tuples of them), or inner lists, dicts and sets of such; else None. The
/// tuple holds strong references to the atoms: none can be freed, and its
/// address reused, while it is remembered.
#[pyfunction]
fn immutable_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let markers = markers(obj.py())?;
    let mut out = Vec::new();
    if !flatten(obj, 0, markers, &mut out) {
        return Ok(None);
    }
    PyTuple::new(obj.py(), out).map(Some)
}

/// True when `obj` holds what `items` (as `immutable_items` made it)
/// remembers, position by position and by address, its inner lists, dicts
/// and sets still held by their containers alone; False on any difference
/// or doubt.
#[pyfunction]
fn same_items(obj: &Bound<'_, PyAny>, items: &Bound<'_, PyAny>) -> PyResult<bool> {
    let Ok(items) = items.cast_exact::<PyTuple>() else {
        return Ok(false);
    };
    let markers = markers(obj.py())?;
    let mut position = 0;
    Ok(same_from(obj, items, &mut position, 0, markers) && position == items.len())
}

/// `obj`'s reference count (what `sys.getrefcount` reads, less its own).
fn references(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: `obj` is a live object (the Bound holds a reference to it),
    // and reading its count has no side effect.
    unsafe { pyo3::ffi::Py_REFCNT(obj.as_ptr()) }
}

/// `obj`'s items against `items` from `position` on (advanced past them).
fn same_from(
    obj: &Bound<'_, PyAny>,
    items: &Bound<'_, PyTuple>,
    position: &mut usize,
    depth: usize,
    markers: &[Py<PyAny>; 3],
) -> bool {
    let Some(now) = items_of(obj) else {
        return false;
    };
    for item in now {
        let Ok(remembered) = items.get_borrowed_item(*position) else {
            return false;
        };
        *position += 1;
        if remembered.as_ptr() == item.as_ptr() {
            continue; // the same atom (the tuple holds no list, dict or set)
        }
        let Some(kind) = mutable_kind(&item) else {
            return false;
        };
        if remembered.as_ptr() != markers[kind].as_ptr()
            || depth + 1 >= PLAIN_DEPTH
            || references(&item) > UNSHARED_REFS
        {
            return false;
        }
        let Ok(count) = items.get_borrowed_item(*position) else {
            return false;
        };
        *position += 1;
        if count.extract::<usize>().ok() != item_count(&item)
            || !same_from(&item, items, position, depth + 1, markers)
        {
            return false;
        }
    }
    true
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(immutable_items, m)?)?;
    m.add_function(wrap_pyfunction!(same_items, m)?)?;
    m.add_function(wrap_pyfunction!(immutable_scalar_types, m)?)?;
    Ok(())
}
