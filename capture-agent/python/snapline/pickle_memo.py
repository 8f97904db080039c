"""Pickle records remembered between snapshots, for objects whose pickled
form is a function of a few cheap facts (their fingerprint): an empty
`collections.OrderedDict` (a torch module keeps about ten, its hook
registries) and a plain function that has no closure and names only
modules and small constants as globals (argparse's `identity`, a nested
function cloudpickle pickles by value, about 1 ms each time). Every other
object is pickled again at each snapshot (graph.py), since only pickling
it tells whether it changed.

A hit gives the record the same pickle made last time: its chunks are in
the same recorder's store. The memo belongs to one recorder and is
dropped when another one asks. Functions are held by weak reference, so
the memo never keeps the program's objects alive.
"""

from __future__ import annotations

import collections
import types
import weakref
from collections.abc import Container

from .attributes import instance_dict
from .values import JsonObject

# Remembered records at most (the memo is cleared past it).
MEMO_LIMIT = 4096

# Global values a remembered function may name: their exact value is part
# of the fingerprint (a float is left out: -0.0 == 0.0 but pickles apart).
_CONSTANT_TYPES = (int, str, bytes, bool, type(None))

_recorder: list[object] = []  # the recorder the memo belongs to (one item)
_records: dict[object, tuple[object, JsonObject, frozenset[int]]] = {}


def fingerprint(obj: object) -> object | None:
    """What the pickle of `obj` depends on, hashable, or None (pickle it)."""
    if type(obj) is collections.OrderedDict:
        if len(obj) == 0 and not instance_dict(obj):
            return ("empty OrderedDict",)
        return None
    if type(obj) is types.FunctionType:
        return _function_fingerprint(obj)
    return None


def _function_fingerprint(fn: types.FunctionType) -> object | None:
    if (fn.__closure__ is not None or fn.__kwdefaults__ or instance_dict(fn)
            or getattr(fn, "__type_params__", None)):
        return None
    if fn.__annotations__:  # (cloudpickle reads it too)
        return None
    defaults = fn.__defaults__ or ()
    if any(type(d) not in _CONSTANT_TYPES for d in defaults):
        return None
    globals_ = fn.__globals__
    named: list[tuple[str, object]] = []
    for name in sorted(_global_names(fn.__code__)):
        if name not in globals_:
            continue  # a builtin or an attribute name
        value = globals_[name]
        if type(value) is types.ModuleType:
            named.append((name, id(value)))  # (pickled by reference)
        elif type(value) in _CONSTANT_TYPES:
            named.append((name, (type(value), value)))
        else:
            return None
    module_facts = tuple(repr(globals_.get(k)) for k in
                         ("__name__", "__package__", "__file__", "__path__"))
    return ("function", id(fn), fn.__code__, fn.__name__, fn.__qualname__, fn.__module__,
            fn.__doc__, tuple((type(d), d) for d in defaults), tuple(named), module_facts)


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def lookup(recorder: object, key: object, obj: object,
           held: Container[int], nodes: Container[int]) -> JsonObject | None:
    """A copy of the record remembered for `key` in this recorder's store,
    or None: nothing remembered, another object, or an object the script
    holds may sit inside the pickle (graph._members must see it)."""
    if not _recorder or _recorder[0] is not recorder:
        return None
    hit = _records.get(key)
    if hit is None:
        return None
    ref, record, pickled = hit
    if isinstance(ref, weakref.ref) and ref() is not obj:
        return None
    if held and any(i in held and i not in nodes for i in pickled):
        return None
    return _copy(record)


def remember(recorder: object, key: object, obj: object, record: JsonObject,
             pickled: set[int]) -> None:
    """Keeps `record` (a pickle with no children nor out-of-band buffers)."""
    if record.get("children") or (record.get("extra") or {}).get("buffers"):
        return
    if not _recorder or _recorder[0] is not recorder:
        _records.clear()
        _recorder[:] = [recorder]
    if len(_records) >= MEMO_LIMIT:
        _records.clear()
    ref: object = None
    if type(obj) is types.FunctionType:
        try:
            ref = weakref.ref(obj)
        except TypeError:
            return
    _records[key] = (ref, _copy(record), frozenset(pickled))


def _copy(record: JsonObject) -> JsonObject:
    """A copy the caller may change (graph.py sets `extra.owner`, `preview`)."""
    out = dict(record)
    out["chunks"] = list(record["chunks"])
    out["children"] = []
    out["extra"] = dict(record.get("extra") or {})
    if "attributes" in out["extra"]:
        out["extra"]["attributes"] = list(out["extra"]["attributes"])
    return out
