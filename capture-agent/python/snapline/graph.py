"""Walk the object graph reachable from a snapshot's roots and turn it into
content-addressed object records plus path entries.

Every object that is not a plain value becomes a node with an identity in
the snapshot: reaching it again by another path adds an alias entry with the
same node id (`o1[1] is o2[1]` stays true after restore). Records refer to
their children by content hash, so an unchanged object has the same hash in
every snapshot and is stored once.
"""

from __future__ import annotations

import functools
import io
import json
import math
import pickle
import sys
import types
from typing import Any

from . import arrays, files, frames, ownership
from .values import (
    encode,
    is_atomic,
    is_plain_value,
    key_suffix,
    preview,
    scalar_number,
    scalar_stats,
    type_name,
)

# Containers with at most this many plain elements are inlined into their
# parent's record; bigger ones get a node (and dedupe on their own).
INLINE_CONTAINER_LIMIT = 16
# Value JSON longer than this goes to chunks instead of the catalog row.
INLINE_JSON_LIMIT = 16 * 1024
# Metric series come from numeric scalars at most this many levels deep.
METRIC_DEPTH = 2

# Py_TPFLAGS_HEAPTYPE: set on classes created by a class statement.
_HEAPTYPE = 1 << 9

_FUNCTION_TYPES = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType, type,
    types.BuiltinMethodType,
)



def canonical_json(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)


class _Node:
    __slots__ = ("hash", "node", "path", "user")

    def __init__(self, node: int, path: str, user: bool = True) -> None:
        self.node = node
        self.path = path
        self.hash: str | None = None
        # Reached through the user's state by at least one path (ownership.py).
        self.user = user


class GraphBuilder:
    """Builds one snapshot's records and entries."""

    def __init__(self, recorder: Any, committed: set, hash_bytes: Any) -> None:
        self.recorder = recorder
        self.committed = committed
        self.hash_bytes = hash_bytes
        self.nodes: dict[int, _Node] = {}
        self.keepalive: list = []
        self.objects: list = []
        self.new_hashes: set = set()
        self.entries: list = []
        self.metrics: list = []
        # True while walking what a library object holds (ownership.py).
        self.in_library = False
        # (node, NaN + Inf elements) of every non-finite array.
        self.nonfinite_nodes: list = []
        # id of a closure cell -> the path it was first reached by (two
        # functions sharing a cell share it again after restore).
        self.cells: dict = {}

    # -- public -------------------------------------------------------------
    @property
    def nonfinite(self) -> int:
        """NaN + Inf elements of the arrays of the user's state (the
        snapshot's `nonfinite`: what `snapline nan` looks for)."""
        return sum(count for node, count in self.nonfinite_nodes if node.user)

    @property
    def nonfinite_library(self) -> int:
        """NaN + Inf elements held only inside library objects (by design)."""
        return sum(count for node, count in self.nonfinite_nodes if not node.user)

    def add_root(self, path: str, obj: Any) -> None:
        self._walk(obj, path, depth=0, root=True)

    # -- walking ------------------------------------------------------------
    def _walk(self, obj: Any, path: str, depth: int, root: bool = False) -> dict:
        number = scalar_number(obj)
        if (number is not None and type(obj) is not bool and depth <= METRIC_DEPTH
                and (not self.in_library or math.isfinite(number))):
            # (A library's own Inf, a sentinel such as `best = inf`, is no point.)
            self.metrics.append((path, number))
        if not root and is_atomic(obj):
            return {"value": encode(obj)}
        if (
            not root
            and type(obj) in (tuple, frozenset)
            and len(obj) <= INLINE_CONTAINER_LIMIT
            and _immutable_value(obj)
        ):
            # Mutable containers always get a node: one shared by two
            # variables must come back as one object.
            return {"value": encode(obj)}
        return self._node(obj, path, functools.partial(self._describe_owned, obj, path, depth))

    def _node(self, obj: Any, path: str, describe: Any) -> dict:
        """`obj` as a node at `path`: an alias of the node it already is, or
        a new one whose record `describe()` makes, hashed and entered."""
        known = self.nodes.get(id(obj))
        if known is not None:
            if known.hash is None:  # an ancestor: a cycle
                return {"ref": known.path}
            if not self.in_library:
                known.user = True
            self.entries.append((path, known.node, known.hash))
            return {"hash": known.hash}
        node = _Node(len(self.nodes), path, user=not self.in_library)
        self.nodes[id(obj)] = node
        self.keepalive.append(obj)
        record = describe()
        # The preview is derived from the content and left out of the hash;
        # it is made only for objects not stored before (formatting an
        # array or a model's repr costs more than hashing them).
        made = record.pop("preview", None)
        digest = self.hash_bytes(canonical_json(record).encode())
        node.hash = digest
        self.entries.append((path, node.node, digest))
        if digest not in self.committed and digest not in self.new_hashes:
            self.new_hashes.add(digest)
            if made is None:
                made = _preview_of(obj, record)
            record["preview"] = made
            self.objects.append((digest, record))
        return {"hash": digest}

    def _describe_owned(self, obj: Any, path: str, depth: int) -> dict:
        """`_describe`, walking what `obj` holds as its owner's (ownership.py):
        a record with children says whose they are in `extra.owner`."""
        owner = None if arrays.is_array(obj) else ownership.owner_of(obj)
        if owner is None:
            return self._describe(obj, path, depth)
        outer = self.in_library
        self.in_library = owner == ownership.LIBRARY
        try:
            record = self._describe(obj, path, depth)
        finally:
            self.in_library = outer
        if "children" in record:
            record.setdefault("extra", {})["owner"] = owner
        return record

    def _describe(self, obj: Any, path: str, depth: int) -> dict:
        try:
            if is_plain_value(obj) and not _holds_mutable(obj):
                # One JSON value (chunked when long: a list of a million
                # losses); a list inside it would lose its identity, so
                # containers holding mutable ones are walked instead.
                return self._value(obj)
            if arrays.is_array(obj):
                record = arrays.describe(obj, self.recorder)
                stats = record.get("stats")
                if stats:
                    bad = stats["nan"] + stats["posinf"] + stats["neginf"]
                    node = self.nodes.get(id(obj))
                    if bad and node is not None:
                        self.nonfinite_nodes.append((node, bad))
                    if (not record["shape"] and depth <= METRIC_DEPTH and stats["count"] == 1
                            and not (bad and self.in_library)):
                        value = stats["mean"] if stats["mean"] is not None else _nonfinite(stats)
                        self.metrics.append((path, value))
                return record
            t = type(obj)
            if t in (list, tuple, dict, set, frozenset):
                return self._container(obj, path, depth)
            if isinstance(obj, types.ModuleType):
                return _reference(obj, "module", obj.__name__)
            if type(obj) is types.FunctionType and _in_main_script(obj):
                return self._function(obj, path, depth)
            if isinstance(obj, _FUNCTION_TYPES):
                ref = _function_reference(obj)
                if ref is not None:
                    return ref
            if _holds_os_file(obj):
                return _unrestorable(obj, files.open_file_reason(obj))
            if files.is_closed_file(obj):
                return files.closed_record(obj, _class_ref(type(obj)))
            torch = sys.modules.get("torch")
            if torch is not None and isinstance(obj, torch.nn.Module) and _module_state(obj):
                return self._module(obj, path, depth)
            if torch is not None and isinstance(obj, torch.optim.Optimizer):
                record = self._optimizer(obj, path, depth)
                if record is not None:
                    return record
            if frames.is_frame(obj):
                split = frames.split(obj)
                if split is not None:
                    return self._frame(obj, split, path, depth)
            if _plain_state(obj):
                return self._instance(obj, path, depth)
            return self._pickle(obj, path, depth)
        except RecursionError:
            return _unrestorable(obj, "the object graph is too deep to walk")

    def _value(self, obj: Any) -> dict:
        value = encode(obj)
        record = {"kind": "value", "type": type_name(obj), "preview": preview(obj),
                  "restorable": True}
        number = scalar_number(obj)
        if number is not None and type(obj) is not bool:
            record["stats"] = scalar_stats(number)
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        if len(text) <= INLINE_JSON_LIMIT:
            record["value"] = value
        else:
            data = text.encode()
            record["chunks"] = self.recorder.put_blob(data)
            record["nbytes"] = len(data)
            record["extra"] = {"encoding": "json"}
        if type(obj) in (list, tuple, dict, set, frozenset, str, bytes):
            record["shape"] = [len(obj)]
        return record

    def _container(self, obj: Any, path: str, depth: int) -> dict:
        children = []
        if type(obj) is dict:
            for key, value in list(obj.items()):
                child = self._walk(value, path + key_suffix(key), depth + 1)
                children.append({"key": _key(key), **child})
        elif type(obj) in (list, tuple):
            for index, value in enumerate(list(obj)):
                children.append({"key": index, **self._walk(value, f"{path}[{index}]", depth + 1)})
        else:
            for index, value in enumerate(list(obj)):
                children.append({"key": index, **self._walk(value, f"{path}{{{index}}}", depth + 1)})
        return {"kind": "container", "type": type_name(obj), "shape": [len(obj)],
                "restorable": True, "children": children}

    def _instance(self, obj: Any, path: str, depth: int) -> dict:
        children = []
        for name, value in list(vars(obj).items()):
            children.append({"key": name, **self._walk(value, f"{path}.{name}", depth + 1)})
        return {"kind": "instance", "type": type_name(obj),
                "restorable": True, "children": children,
                "extra": {"class": _class_ref(type(obj))}}

    def _frame(self, obj: Any, split: frames.Split, path: str, depth: int) -> dict:
        """A pandas DataFrame or Series as its parts (frames.py): each column
        (and the index) a node at `df["col"]` (`df.index`): an array, or
        one value record of a list of plain values."""
        children = []
        for key, data in split.parts:
            # Temporaries: nodes are keyed by id, so none may be freed (and
            # its id reused) before the snapshot is built.
            self.keepalive.append(data)
            if type(data) is list:
                ref = self._node(data, path + key, functools.partial(self._value, data))
            else:
                ref = self._walk(data, path + key, depth + 1)
            children.append({"key": key, **ref})
        record = split.record
        record["children"] = children
        record["extra"]["class"] = _class_ref(type(obj))
        return record

    def _module(self, obj: Any, path: str, depth: int) -> dict:
        """torch.nn.Module: parameters, buffers and submodules appear by
        name (`model.fc1.weight`); `slots` says which dict each came from."""
        children = []
        slots = {}
        for name, value in list(vars(obj).items()):
            if name in ("_parameters", "_buffers", "_modules") and type(value) is dict:
                for key, item in value.items():
                    slots[key] = name
                    children.append({"key": key, **self._walk(item, f"{path}.{key}", depth + 1)})
            else:
                children.append({"key": name, **self._walk(value, f"{path}.{name}", depth + 1)})
        # The attribute order, empty parameter/buffer/module dicts included
        # (restore rebuilds the same __dict__, key order and all).
        layout = list(vars(obj))
        return {"kind": "instance", "type": type_name(obj),
                "restorable": True, "children": children,
                "extra": {"class": _class_ref(type(obj)), "torch_module": True, "slots": slots,
                          "layout": layout}}

    def _function(self, obj: Any, path: str, depth: int) -> dict:
        """A function of the script, by reference to its source: a
        top-level one comes back from re-running its `def`; one defined in
        a loop body or inside another function is rebuilt from the source
        at its line (restore/functions.py), with these children: closure
        cells (`f.__closure__["base"]`), defaults, keyword defaults and
        attributes."""
        code = obj.__code__
        record = _reference(obj, "function", obj.__qualname__, "__main__")
        extra = record["extra"]
        extra.update({"line": code.co_firstlineno, "name": code.co_name, "source": "script",
                      "code_qualname": getattr(code, "co_qualname", obj.__qualname__)})
        children: list = []

        def child(suffix: str, value: Any) -> None:
            # (Below the metric depth: no series from what it holds, as when pickled.)
            children.append({"key": suffix, **self._walk(value, path + suffix, METRIC_DEPTH + 1)})

        if obj.__defaults__ is not None:
            child(".__defaults__", obj.__defaults__)
        if obj.__kwdefaults__:
            child(".__kwdefaults__", obj.__kwdefaults__)
        if obj.__closure__:
            empty, shared = [], {}
            for name, cell in zip(code.co_freevars, obj.__closure__):
                suffix = f'.__closure__["{name}"]'
                first = self.cells.setdefault(id(cell), path + suffix)
                if first != path + suffix:
                    shared[name] = first
                self.keepalive.append(cell)
                try:
                    contents = cell.cell_contents
                except ValueError:  # a variable not assigned yet
                    empty.append(name)
                    continue
                child(suffix, contents)
            extra["freevars"] = list(code.co_freevars)
            if empty:
                extra["empty_cells"] = empty
            if shared:
                extra["shared_cells"] = shared
        for name, value in list(vars(obj).items()):
            child(f".{name}", value)
        if children:
            record["children"] = children
        return record

    def _optimizer(self, obj: Any, path: str, depth: int) -> dict | None:
        """A torch optimizer by what it points at: its param groups (the
        model's own parameters), its per-parameter state (keyed by those
        parameters: `optimizer.state[model.0.weight]`), its defaults and its
        other data attributes (LBFGS's `_params`, the list its group holds).
        Hooks and patched methods (a scheduler's weakref wrapper of `step`)
        are left to the class's __setstate__, which makes them as
        unpickling would (restore/optimizers.py). None: pickle it instead."""
        import torch

        if type(obj).__getstate__ is not torch.optim.Optimizer.__getstate__:
            return None
        groups = getattr(obj, "param_groups", None)
        state = getattr(obj, "state", None)
        if type(groups) is not list or not isinstance(state, dict):
            return None
        where: dict = {}
        for g, group in enumerate(groups):
            if not isinstance(group, dict):
                return None
            for i, param in enumerate(group.get("params") or ()):
                where.setdefault(id(param), [g, i])
        if any(id(key) not in where for key in state):
            return None
        children: list = []

        def child(suffix: str, value: Any) -> None:
            # (Below the metric depth: no series from what it holds, as when pickled.)
            children.append({"key": suffix, **self._walk(value, path + suffix, METRIC_DEPTH + 1)})

        child(".defaults", obj.defaults)
        child(".param_groups", groups)
        state_keys = []
        for key, value in list(state.items()):
            known = self.nodes.get(id(key))
            child(f".state[{known.path}]" if known is not None else f".state[#{len(state_keys)}]",
                  value)
            state_keys.append(where[id(key)])
        attributes = []
        for name, value in list(vars(obj).items()):
            if name in ("defaults", "param_groups", "state") or "hook" in name or callable(value):
                continue
            attributes.append(name)
            child(f".{name}", value)
        return {"kind": "instance", "type": type_name(obj), "restorable": True,
                "children": children,
                "extra": {"class": _class_ref(type(obj)), "torch_optimizer": True,
                          "state_keys": state_keys, "attributes": attributes}}

    def _pickle(self, obj: Any, path: str, depth: int) -> dict:
        names = _attribute_names(obj, self.nodes)
        children: list = []
        buffers: list = []
        builder = self

        def persistent_id(child: Any) -> Any:
            if child is obj or is_atomic(child):
                return None
            if arrays.is_array(child) or id(child) in builder.nodes:
                suffix = names.get(id(child), f".<{len(children)}>")
                ref = builder._walk(child, path + suffix, METRIC_DEPTH + 1)
                children.append({"key": suffix, **ref})
                return ("snapline", len(children) - 1)
            return None

        data, error = None, None
        for factory in _picklers():
            children.clear()
            buffers.clear()
            stream = io.BytesIO()
            pickler = factory(stream, buffers.append, persistent_id)
            try:
                pickler.dump(obj)
                data = stream.getvalue()
                break
            except Exception as exc:  # noqa: BLE001 - anything a pickler raises
                error = exc
        if data is None:
            return _unrestorable(obj, f"pickle failed: {type(error).__name__}: {error}")
        extra: dict = {"protocol": 5}
        state = getattr(obj, "__dict__", None)
        if type(state) is dict and len(state) <= 256:
            # What restore checks the unpickled object still has (verify.py).
            extra["attributes"] = [name for name in state if type(name) is str]
        if buffers:
            extra["buffers"] = [self.recorder.put_blob(bytes(b.raw())) for b in buffers]
        return {"kind": "pickle", "type": type_name(obj),
                "restorable": True, "chunks": self.recorder.put_blob(data),
                "nbytes": len(data), "children": children, "extra": extra}


class _RefPickler(pickle.Pickler):
    """pickle.Pickler whose persistent ids come from a callback (3.13 made
    the attribute read-only on instances, so it must be a method)."""

    def __init__(self, stream: io.BytesIO, callback: Any, refs: Any) -> None:
        super().__init__(stream, protocol=5, buffer_callback=callback)
        self._refs = refs

    def persistent_id(self, obj: Any) -> Any:
        return self._refs(obj)


_picklers_cache: list = []


def _picklers() -> list:
    """Plain pickle first; cloudpickle (lambdas, closures, local classes) second."""
    if _picklers_cache:
        return _picklers_cache
    factories: list = [_RefPickler]
    try:  # lambdas, closures and classes defined in functions; imported when first needed
        import cloudpickle as _cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle is a dependency
        _cloudpickle = None
    if _cloudpickle is not None:
        class _RefCloudPickler(_cloudpickle.CloudPickler):
            def __init__(self, stream: io.BytesIO, callback: Any, refs: Any) -> None:
                super().__init__(stream, protocol=5, buffer_callback=callback)
                self._refs = refs

            def persistent_id(self, obj: Any) -> Any:
                return self._refs(obj)

        factories.append(_RefCloudPickler)
    _picklers_cache.extend(factories)
    return factories


def _preview_of(obj: Any, record: dict) -> str:
    if record["kind"] == "array":
        return arrays.preview_of(obj)
    if "pandas" in (record.get("extra") or {}):
        return frames.preview_of(obj)
    return preview(obj)


def _holds_mutable(obj: Any) -> bool:
    """A plain container with a list, dict or set inside it."""
    items = list(obj.values()) if type(obj) is dict else obj
    if type(obj) in (str, bytes) or is_atomic(obj):
        return False
    return any(not _immutable_value(x) for x in items)


def _immutable_value(obj: Any, depth: int = 0) -> bool:
    """Atomics, and tuples/frozensets of them, nested at most 3 deep."""
    if is_atomic(obj):
        return True
    if depth >= 3 or type(obj) not in (tuple, frozenset):
        return False
    return all(_immutable_value(x, depth + 1) for x in obj)


def _nonfinite(stats: dict) -> float:
    if stats["nan"]:
        return float("nan")
    return float("inf") if stats["posinf"] else float("-inf")


def _key(key: Any) -> Any:
    try:
        return encode(key)
    except TypeError:
        return {"$repr": preview(key)}


def _class_ref(cls: type) -> dict:
    return {"module": getattr(cls, "__module__", None), "qualname": getattr(cls, "__qualname__", None)}


def _plain_state(obj: Any) -> bool:
    """An instance whose pickled form is just its class and __dict__."""
    cls = type(obj)
    if not hasattr(obj, "__dict__") or hasattr(cls, "__slots__"):
        return False
    if cls.__reduce_ex__ is not object.__reduce_ex__ or cls.__reduce__ is not object.__reduce__:
        return False
    getstate = getattr(cls, "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None):
        return False
    if getattr(cls, "__setstate__", None) is not None:
        # nn.Module defines __setstate__ only to fill in new defaults; fine.
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(obj, torch.nn.Module):
            return False
    # Types implemented in C (functions, files, locks; the list and dict of a
    # subclass) carry state outside __dict__: only classes defined in Python
    # (heap types) qualify, up to object.
    return all(base is object or base.__flags__ & _HEAPTYPE for base in cls.__mro__)


def _in_main_script(fn: Any) -> bool:
    """A function whose code is the main script's (not a notebook cell's,
    nor a module's)."""
    if fn.__module__ != "__main__":
        return False
    main = sys.modules.get("__main__")
    filename = getattr(main, "__file__", None)
    return isinstance(filename, str) and fn.__code__.co_filename == filename


def _holds_os_file(obj: Any) -> bool:
    """An open file backed by a file descriptor. (cloudpickle would pickle a
    readable file as a copy of its whole content: not the same object.)"""
    if not isinstance(obj, io.IOBase) or isinstance(obj, (io.BytesIO, io.StringIO)):
        return False
    try:
        obj.fileno()
    except Exception:  # noqa: BLE001 - closed, or not backed by a descriptor
        return False
    return True


def _module_state(obj: Any) -> bool:
    """A torch module whose class keeps nn.Module's own pickling (its
    __getstate__ is a copy of __dict__)."""
    import torch

    cls = type(obj)
    return (getattr(cls, "__getstate__", None) is torch.nn.Module.__getstate__
            and cls.__reduce_ex__ is object.__reduce_ex__
            and cls.__reduce__ is object.__reduce__)


def _reference(obj: Any, what: str, qualname: str, module: str | None = None) -> dict:
    return {"kind": "reference", "type": type_name(obj),
            "restorable": True, "extra": {"ref": what, "module": module, "qualname": qualname}}


def _function_reference(obj: Any) -> dict | None:
    """Functions and classes importable by name (the script's own ones are
    rebuilt from its source at restore); None for lambdas and closures."""
    qualname = getattr(obj, "__qualname__", None)
    module = getattr(obj, "__module__", None)
    if isinstance(obj, types.MethodType) or not qualname or "<" in qualname:
        return None
    if module is None:
        return None
    record = _reference(obj, "class" if isinstance(obj, type) else "function", qualname, module)
    code = getattr(obj, "__code__", None)
    if module == "__main__" and code is not None:
        record["extra"]["line"] = code.co_firstlineno
    return record


def _key_text(key: Any, nodes: dict, counter: int) -> str:
    """A dict key in a path: its literal, or the path of the object it is
    (optimizer.state[model.0.weight]), or a counter."""
    if is_atomic(key):
        return key_suffix(key)
    known = nodes.get(id(key))
    return f"[{known.path}]" if known is not None else f"[#{counter}]"


def _unrestorable(obj: Any, reason: str) -> dict:
    return {"kind": "unrestorable", "type": type_name(obj), "preview": preview(obj),
            "restorable": False, "reason": reason}


def _attribute_names(obj: Any, nodes: dict) -> dict:
    """id -> path suffix for arrays and objects reachable through an
    object's __dict__ (three levels of dicts and lists), to name pickle refs."""
    names: dict = {}
    state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict):
        return names

    def visit(value: Any, suffix: str, level: int) -> None:
        if is_atomic(value) or id(value) in names:
            return
        names[id(value)] = suffix
        if level >= 3:
            return
        if type(value) is dict or (isinstance(value, dict) and len(value) < 1000):
            for k, v in list(value.items())[:1000]:
                visit(v, suffix + _key_text(k, nodes, len(names)), level + 1)
        elif type(value) in (list, tuple):
            for i, v in enumerate(value[:1000]):
                visit(v, f"{suffix}[{i}]", level + 1)

    for name, value in list(state.items()):
        visit(value, f".{name}", 0)
    return names
