"""Pickling for types whose own reduction loses state, used by the capture's
picklers (graph.py) before the type's own: a masked array keeps its hard
mask (numpy's pickle drops it) and has its data and mask as arrays of their
own; a memoryview of a whole buffer comes back as a memoryview of that
buffer (cloudpickle makes it bytes). Each reduction names only the library's
own public callables, so unpickling needs nothing from Snapline."""

from __future__ import annotations

import sys
from typing import Any


def reduce(obj: Any) -> Any:
    """A reduction tuple for `obj`, or NotImplemented (pickle's own)."""
    t = type(obj)
    if t is memoryview:
        return _memoryview(obj)
    # numpy.ma as loaded: reading `np.ma` would import it (numpy 2 loads it
    # on first use), a module the program never asked for; no masked array
    # exists before it is loaded.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and t is ma.MaskedArray:
        return _masked(sys.modules["numpy"], obj)
    return NotImplemented


def _memoryview(view: memoryview) -> Any:
    base = view.obj
    if base is None or type(base) not in (bytes, bytearray):
        return NotImplemented
    whole = memoryview(base)
    if (view.format, view.shape, view.strides, view.readonly) != (
            whole.format, whole.shape, whole.strides, whole.readonly):
        return NotImplemented  # a slice or a cast: not the buffer as a whole
    return (memoryview, (base,))


def _masked(np: Any, a: Any) -> Any:
    if a.dtype.hasobject or type(a.data) is not np.ndarray:
        return NotImplemented
    # (Read without the properties that fill in defaults: `a.fill_value`
    # would set `_fill_value` on the program's array.)
    mask = vars(a).get("_mask", np.ma.nomask)
    fill_value = vars(a).get("_fill_value")
    # MaskedArray(data, mask, dtype, copy, subok, ndmin, fill_value, keep_mask, hard_mask)
    return (np.ma.MaskedArray,
            (a.data, mask, a.dtype, False, True, 0, fill_value, True,
             bool(vars(a).get("_hardmask", False))))
