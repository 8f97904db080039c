"""Rebuild live objects from a snapshot's records, keeping its identity
graph: every node (an object reached by one or more paths) is built once,
so what was shared is shared again. Arrays and tensors are filled straight
from their chunks by the Rust reader (no pickle, no extra copy)."""

from __future__ import annotations

import importlib
import io
import json
import pickle
import sys
import types
from typing import Any

from .. import files, rng
from ..values import JsonObject, decode, key_suffix, type_name
from . import functions, optimizers, verify
from .missing import Missing, Withheld
from .report import Fidelity
from .safety import Policy, unpickler_for
from .snapshot import Snapshot

__all__ = ["Missing", "Rebuilder", "Withheld", "report_failure"]


def report_failure(report: Fidelity, path: str, err: Missing) -> None:
    """Puts a failed object in the report: withheld or missing."""
    if isinstance(err, Withheld):
        report.withhold(path, str(err))
    else:
        report.lost(path, str(err))


class Rebuilder:
    def __init__(self, snapshot: Snapshot, namespace: dict[str, object], report: Fidelity,
                 unpickler: type | None = None, policy: Policy | None = None) -> None:
        self.snapshot = snapshot
        self.namespace = namespace  # the restored __main__'s dict
        self.report = report
        # Safe mode (restore/safety.py): what may be loaded, and the
        # restricted unpickler that enforces it for pickles.
        self.policy = policy
        if policy is not None and unpickler is None:
            unpickler = unpickler_for(policy)
        self.unpickler = unpickler or pickle.Unpickler
        self.by_node: dict[int, object] = {}  # node -> the object rebuilt for it
        self.failed: dict[int, Missing] = {}  # node -> the Missing (or Withheld) it failed with
        self.building: set[int] = set()
        self.paths_of_node: dict[int, list[str]] | None = None  # node -> its paths, when needed
        # closure cells of rebuilt functions, by their first path
        self.cells: dict[str, types.CellType] = {}
        self.script_code: Any = None  # functions.ScriptCode, made when needed

    # -- entry points ----------------------------------------------------------
    def build(self, path: str) -> Any:
        """The object at `path`; raises Missing with the reason."""
        entry = self.snapshot.entries.get(path)
        if entry is None:
            raise Missing(f"no entry for {path}")
        node, digest = entry
        if node in self.by_node:
            return self.by_node[node]
        if node in self.failed:
            failed = self.failed[node]
            raise type(failed)(str(failed))
        self.building.add(node)
        try:
            obj = self._build(path, node, digest)
        except Missing as err:
            self.failed[node] = err
            raise
        except RecursionError:
            self.failed[node] = Missing("the object graph is too deep to rebuild")
            raise self.failed[node] from None
        except Exception as err:  # noqa: BLE001 - name the object, restore the rest
            self.failed[node] = Missing(_reason(err))
            raise self.failed[node] from None
        finally:
            self.building.discard(node)
        # Never call it restored when the round trip lost state: check.
        difference = verify.difference(self.snapshot.record(digest), obj)
        if difference is not None:
            self.report.rebuilt_as(path, difference)
        return obj

    # -- kinds -----------------------------------------------------------------
    def _build(self, path: str, node: int, digest: str) -> Any:
        from .. import _native

        try:
            record = self.snapshot.record(digest)
        except _native.DamagedError as err:
            raise Missing(f"damaged in the store: {err}") from None
        kind = record.get("kind")
        if kind == "unrestorable":
            raise Missing(record.get("reason") or "not saved at capture")
        if self.policy is not None:
            reason = self.policy.record_reason(record)
            if reason is not None:
                raise Withheld(reason)
        if kind == "value":
            return self._done(node, self._value(record))
        if kind == "array":
            return self._done(node, self._array(path, record))
        if kind == "reference":
            if (record.get("extra") or {}).get("ref") == "member":
                return self._done(node, self._member(path, record))
            if (record.get("extra") or {}).get("source") == "script":
                return self._script_function(path, node, record)
            obj = self._done(node, self._reference(record))
            if record.get("children") and isinstance(obj, type):
                # A script class's data attributes as the script left them.
                for child in record["children"]:
                    key = child.get("key") or ""
                    value = self._child_or_none(path, child, key)
                    try:
                        setattr(obj, key[1:], value)
                    except (AttributeError, TypeError) as err:
                        self.report.rebuilt_as(path + key, f"could not be set: {err}")
            return obj
        if kind == "container":
            return self._container(path, node, record)
        if kind == "instance":
            extra = record.get("extra") or {}
            if extra.get("pandas"):
                return self._done(node, self._frame(path, record))
            if extra.get("closed_file"):
                return self._done(node, files.rebuild_closed(extra["closed_file"]))
            if extra.get("torch_optimizer"):
                return optimizers.rebuild(self, path, node, record)
            return self._instance(path, node, record)
        if kind == "pickle":
            return self._done(node, self._pickle(path, record))
        raise Missing(f"unknown record kind {kind!r}")

    def _done(self, node: int, obj: Any) -> Any:
        self.by_node[node] = obj
        return obj

    def _value(self, record: JsonObject) -> Any:
        if "value" in record:
            return decode(record["value"])
        reader = self.snapshot.reader
        extra = record.get("extra") or {}
        if extra.get("encoding") == rng.ENCODING:
            # A Mersenne Twister state's words in one binary chunk (issue #16).
            try:
                return rng.decode_state(extra, reader.read_blob(record.get("chunks") or []))
            except ValueError as err:
                raise Missing(str(err)) from None
        root = extra.get("chunk_list")
        if isinstance(root, str):
            # A large value's chunks, listed by a chunk-list tree (issue #16).
            return decode(json.loads(reader.read_blob(reader.chunk_list(root))))
        if not record.get("chunks"):
            # None: stores written before `"value": null` was kept dropped it.
            return None
        data = reader.read_blob(record.get("chunks") or [])
        return decode(json.loads(data))

    def _child(self, parent: str, child: JsonObject, suffix: str) -> Any:
        if "ref" in child:  # a cycle back to an ancestor, built first
            target = self.snapshot.entries.get(child["ref"])
            if target is not None and target[0] in self.by_node:
                return self.by_node[target[0]]
            if target is not None and target[0] not in self.building:
                # Reached first by another path (`bound` holding
                # `tree.children`): the ancestor is built now, from its own.
                return self.build(child["ref"])
            raise Missing(f"refers back to {child['ref']}, which could not be rebuilt")
        if "hash" not in child:  # an inline value (the store drops a null one)
            return decode(child.get("value"))
        return self.build(self._child_path(parent, suffix))

    def _child_path(self, parent: str, suffix: str) -> str:
        """The entry path of a child. A shared object's children are entered
        only under the path it was first reached by; reached here by
        another (`holder["inner"]` for `inner`), look under that one."""
        path = parent + suffix
        entries = self.snapshot.entries
        if path in entries or parent not in entries:
            return path
        if self.paths_of_node is None:
            self.paths_of_node = {}
            for p, (node, _) in entries.items():
                self.paths_of_node.setdefault(node, []).append(p)
        for alias in self.paths_of_node.get(entries[parent][0], []):
            if alias + suffix in entries:
                return str(alias + suffix)
        return path

    def _container(self, path: str, node: int, record: JsonObject) -> Any:
        type_name = record.get("type")
        children = record.get("children") or []
        if type_name == "list":
            out: Any = self._done(node, [])
            for child in children:
                out.append(self._child_or_none(path, child, f"[{child['key']}]"))
            return out
        if type_name == "dict":
            out = self._done(node, {})
            for child in children:
                key = _key(child["key"])
                out[key] = self._child_or_none(path, child, key_suffix(key))
            return out
        if type_name == "tuple":
            return self._done(node, tuple(
                self._child_or_none(path, child, f"[{child['key']}]") for child in children))
        if type_name in ("set", "frozenset"):
            items = [self._child_or_none(path, child, f"{{{child['key']}}}") for child in children]
            return self._done(node, set(items) if type_name == "set" else frozenset(items))
        raise Missing(f"unknown container type {type_name!r}")

    def _child_or_none(self, path: str, child: JsonObject, suffix: str) -> Any:
        """A missing element becomes None in its container (reported)."""
        try:
            return self._child(path, child, suffix)
        except Missing as err:
            report_failure(self.report, path + suffix, err)
            return None

    def _instance(self, path: str, node: int, record: JsonObject) -> Any:
        extra = record.get("extra") or {}
        cls = self._class(extra.get("class") or {})
        if self.policy is not None:
            reason = self.policy.built_class_reason(cls)
            if reason is not None:
                raise Withheld(reason)
        obj: Any = object.__new__(cls)
        self._done(node, obj)
        state: dict[str, Any] = {}  # the instance __dict__, torch slots nested
        slots = extra.get("slots") if extra.get("torch_module") else None
        if slots is not None:
            for name in ("_parameters", "_buffers", "_modules"):
                state[name] = {}
        for child in record.get("children") or []:
            key = child["key"]
            value = self._child_or_none(path, child, f".{key}")
            if slots is not None and key in slots:
                state[slots[key]][key] = value
            else:
                state[key] = value
        layout = extra.get("layout") if slots is not None else None
        if layout:
            state = {name: state[name] for name in layout if name in state} | {
                name: value for name, value in state.items() if name not in layout}
        obj.__dict__.update(state)
        return obj

    def _frame(self, path: str, record: JsonObject) -> Any:
        """A pandas DataFrame or Series from its columns (graph.py and
        dataframes.py wrote them): same values, dtypes, labels, index and name."""
        pd = _import("pandas")
        np = _import("numpy")
        extra = record.get("extra") or {}
        children = record.get("children") or []
        by_key = {child["key"]: child for child in children}

        def part(key: str) -> Any:
            if key not in by_key:
                raise Missing(f"no {key} among the stored parts")
            return self._child(path, by_key[key], key)

        index = _pandas_axis(pd, np, extra.get("index") or {}, lambda: part(".index"))
        if extra.get("pandas") == "Series":
            dtype = pd.api.types.pandas_dtype(extra["dtype"])
            values = _pandas_values(pd, np, part(".values"), extra["dtype"])
            return pd.Series(values, index=index, name=decode(extra.get("name")), dtype=dtype)
        if extra.get("pandas") != "DataFrame":
            raise Missing(f"unknown pandas object {extra.get('pandas')!r}")
        labels = [decode(label) for label in extra.get("columns") or []]
        dtypes = extra.get("dtypes") or []
        if len(dtypes) != len(labels) or len(children) < len(labels):
            raise Missing("the stored columns do not match their labels")
        # Columns by position (their keys are the labels' path suffixes).
        data = {i: _pandas_values(pd, np, self._child(path, child, child["key"]), dtype)
                for i, (child, dtype) in enumerate(zip(children, dtypes))}
        frame = pd.DataFrame(data, index=index)
        for i, dtype in enumerate(dtypes):
            if str(frame.dtypes.iloc[i]) != dtype:
                # pandas 3 makes "str" columns of object arrays of strings.
                frame.isetitem(i, pd.Series(data[i], index=frame.index,
                                            dtype=pd.api.types.pandas_dtype(dtype)))
        columns_info = extra.get("columns_index") or {"dtype": "object"}
        frame.columns = _pandas_axis(pd, np, columns_info, lambda: labels)
        return frame

    def _pickle(self, path: str, record: JsonObject) -> Any:
        reader = self.snapshot.reader
        data = reader.read_blob(record.get("chunks") or [])
        extra = record.get("extra") or {}
        buffers = [reader.read_blob(hashes) for hashes in extra.get("buffers") or []]
        children = record.get("children") or []
        rebuilder = self

        loader_base: Any = self.unpickler  # pickle's, or safe mode's restricted one

        class _Loader(loader_base):  # type: ignore[misc]
            def persistent_load(self, pid: Any) -> Any:
                if (not isinstance(pid, tuple) or len(pid) != 2 or pid[0] != "snapline"
                        or not isinstance(pid[1], int) or not 0 <= pid[1] < len(children)):
                    raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
                child = children[pid[1]]
                try:
                    return rebuilder._child(path, child, child["key"])
                except Missing as err:
                    report_failure(rebuilder.report, path + child["key"], err)
                    return None

        try:
            return _Loader(io.BytesIO(data), buffers=buffers).load()
        except Missing:
            raise
        except Exception as err:  # noqa: BLE001 - whatever the object's reduce raises
            raise Missing(f"unpickling failed: {_reason(err)}") from None

    def _member(self, path: str, record: JsonObject) -> Any:
        """An object the script held that lives inside a pickled one
        (graph.py's `_members`): reached in the rebuilt holder by its steps."""
        holder_child = next((c for c in record.get("children") or []
                             if c.get("key") == ".<of>"), None)
        if holder_child is None:
            raise Missing("a member record names no holder")
        obj = self._child(path, holder_child, ".<of>")
        for kind, key in (record.get("extra") or {}).get("steps") or []:
            try:
                if kind == "attr":
                    obj = vars(obj)[key]
                elif kind == "item":
                    obj = obj[_key(key)]
                elif kind == "flat":
                    obj = obj.flat[int(key)]
                else:
                    raise Missing(f"unknown step {kind!r}")
            except (KeyError, IndexError, TypeError, AttributeError) as err:
                raise Missing(f"not found in {holder_child.get('ref')} once rebuilt "
                              f"({_reason(err)})") from None
        if record.get("type") and type_name(obj) != record["type"]:
            raise Missing(f"{holder_child.get('ref')}, once rebuilt, holds a "
                          f"{type_name(obj)} there, not the {record['type']}")
        return obj

    def _script_function(self, path: str, node: int, record: JsonObject) -> Any:
        """A function of the script: the one re-running its `def` made, or
        (defined in a loop body or another function) rebuilt from the source."""
        again = functions.defined_again(self.namespace, record.get("extra") or {})
        if again is not None:
            return self._done(node, again)
        if self.script_code is None:
            self.script_code = functions.ScriptCode(self.snapshot)
        return functions.rebuild(self, path, node, record, self.script_code)

    def _reference(self, record: JsonObject) -> Any:
        extra = record.get("extra") or {}
        what = extra.get("ref")
        if what == "module":
            return _import(extra.get("qualname") or "")
        return self._lookup(extra.get("module"), extra.get("qualname"))

    def _class(self, ref: JsonObject) -> type:
        cls = self._lookup(ref.get("module"), ref.get("qualname"))
        if not isinstance(cls, type):
            raise Missing(f"{ref.get('module')}.{ref.get('qualname')} is not a class")
        return cls

    def _lookup(self, module: str | None, qualname: str | None) -> Any:
        if not module or not qualname:
            raise Missing("the reference names no module")
        if module == "__main__":
            obj: Any = None
            parts = qualname.split(".")
            if parts[0] not in self.namespace:
                raise Missing(f"{qualname} is defined by the script but was not found "
                              "in its source")
            obj = self.namespace[parts[0]]
            for part in parts[1:]:
                obj = getattr(obj, part)
            return obj
        obj = _import(module)
        for part in qualname.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise Missing(f"{module}.{qualname} no longer exists") from None
        return obj

    # -- arrays ------------------------------------------------------------------
    def _array(self, path: str, record: JsonObject) -> Any:
        extra = record.get("extra") or {}
        children = {c.get("key"): c for c in record.get("children") or []}
        torch_array = extra.get("framework") == "torch"
        obj = None
        if extra.get("view") and ".<base>" in children:
            # Rebuilt onto the array it is a view of (memory shared again).
            try:
                base = self._child(path, children[".<base>"], ".<base>")
                obj = (self._tensor_view if torch_array else self._ndarray_view)(
                    record, extra, base)
            except Missing as err:
                self.report.rebuilt_as(path, f"a copy, not a view of its base ({err})")
            except (ValueError, TypeError, RuntimeError) as err:
                self.report.rebuilt_as(path, f"a copy, not a view of its base ({_reason(err)})")
        if obj is None:
            obj = (self._tensor if torch_array else self._ndarray)(path, record, extra)
        if not torch_array:
            if extra.get("writeable") is False:
                obj.flags.writeable = False
            return obj
        if extra.get("autograd_history"):
            self.report.rebuilt_as(path, "autograd history not restored (a leaf tensor now; "
                                         "backward() through it reaches nothing)")
        for key, child in children.items():
            if key == ".<base>":
                continue
            value = self._child_or_none(path, child, key)
            try:
                setattr(obj, key[1:], value)
            except (AttributeError, TypeError, RuntimeError) as err:
                self.report.rebuilt_as(path + key, f"could not be set: {_reason(err)}")
        return obj

    def _ndarray_view(self, record: JsonObject, extra: JsonObject, base: Any) -> Any:
        np = _import("numpy")
        fields = extra.get("dtype_fields")
        dtype = (_structured(np, fields) if fields
                 else np.dtype(extra.get("dtype_str") or record.get("dtype")))
        view = extra["view"]
        if view.get("memory_of") == "torch":
            base = base.detach().numpy()  # the tensor's memory, as numpy sees it
        return np.ndarray(tuple(record.get("shape") or ()), dtype=dtype, buffer=base,
                          offset=int(view["offset"]), strides=tuple(view["strides"]))

    def _tensor_view(self, record: JsonObject, extra: JsonObject, base: Any) -> Any:
        torch = _import("torch")
        view = extra["view"]
        dtype = getattr(torch, record.get("dtype") or "", None)
        if view.get("memory_of") == "numpy":
            base = torch.from_numpy(base)  # the array's memory (torch.from_numpy)
            if base.dtype != dtype:
                base = base.view(dtype)
        if dtype != base.dtype:
            raise ValueError(f"a {record.get('dtype')} view of a {base.dtype} tensor")
        offset = (int(view["storage_offset"]) - int(view.get("base_storage_offset") or 0)
                  + base.storage_offset())
        shape, strides = list(record.get("shape") or []), list(view["strides"])
        same = (list(base.shape), list(base.stride()), base.storage_offset()) == (
            shape, strides, offset)
        if view.get("memory_of") == "numpy" and same:
            return base
        if not extra.get("requires_grad"):
            if same:
                return base.detach()  # (a state_dict's tensors: the memory, not the graph)
            with torch.no_grad():
                return base.as_strided(shape, strides, offset)
        return base.as_strided(shape, strides, offset)

    def _ndarray(self, path: str, record: JsonObject, extra: JsonObject) -> Any:
        np = _import("numpy")
        fields = extra.get("dtype_fields")
        dtype = (_structured(np, fields) if fields
                 else np.dtype(extra.get("dtype_str") or record.get("dtype")))
        if dtype.hasobject:  # raw bytes are no Python objects (only a forged record has this)
            raise Missing(f"an array of dtype {dtype} cannot come from raw bytes")
        shape = tuple(record.get("shape") or ())
        nbytes = int(record.get("nbytes") or 0)
        order = extra.get("order", "C")
        if order in ("C", "F"):
            # Filled in place: an array that owns its memory, as it did.
            a = np.empty(shape, dtype=dtype, order=order)
            if a.nbytes == nbytes:
                self._fill(record, a.ctypes.data, nbytes)
                return a
        buf = np.empty(nbytes, dtype=np.uint8)
        self._fill(record, buf.ctypes.data, nbytes)
        flat = buf.view(dtype)
        if order == "F":
            return flat.reshape(shape, order="F")
        a = flat.reshape(shape)
        if order == "C-copy":
            strided = _with_strides(np, a, extra.get("strides"))
            if strided is None:
                self.report.rebuilt_as(path, "a contiguous copy (it was a strided view)")
                return a
            return strided
        return a

    def _tensor(self, path: str, record: JsonObject, extra: JsonObject) -> Any:
        torch = _import("torch")
        dtype = getattr(torch, record.get("dtype") or "float32", None)
        if not isinstance(dtype, torch.dtype):
            raise Missing(f"torch has no dtype {record.get('dtype')!r}")
        shape = list(record.get("shape") or [])
        nbytes = int(record.get("nbytes") or 0)
        t = torch.empty(shape, dtype=dtype)
        if t.numel() * t.element_size() == nbytes:
            # Filled in place: a tensor of its own, not a view of a buffer.
            self._fill(record, t.data_ptr(), nbytes)
        else:
            raw = torch.empty(nbytes, dtype=torch.uint8)
            self._fill(record, raw.data_ptr(), nbytes)
            t = raw.view(dtype).reshape(shape)
        strides = extra.get("strides")
        if strides is not None and list(t.stride()) != list(strides) and t.numel() > 1:
            try:
                strided = torch.empty_strided(shape, strides, dtype=dtype)
                strided.copy_(t)
                t = strided
            except RuntimeError:
                self.report.rebuilt_as(path, "contiguous (its strides overlap)")
        device = extra.get("device") or "cpu"
        if device != "cpu":
            if device.startswith("cuda") and torch.cuda.is_available():
                t = t.to(device)
            else:
                self.report.rebuilt_as(path, f"on the CPU ({device} is not available here)")
        requires_grad = bool(extra.get("requires_grad"))
        if record.get("type") == "torch.nn.Parameter":
            return torch.nn.Parameter(t, requires_grad=requires_grad)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def _fill(self, record: JsonObject, address: int, nbytes: int) -> None:
        from .. import _native

        try:
            self.snapshot.reader.read_into(record.get("chunks") or [], address, nbytes)
        except _native.DamagedError as err:
            raise Missing(f"damaged in the store: {err}") from None


def _structured(np: Any, fields: JsonObject) -> Any:
    """A structured dtype from arrays.py's `dtype_fields`."""
    def fmt(value: Any) -> Any:
        if isinstance(value, list):  # a nested structure: [name, format, offset]...
            return np.dtype({"names": [v[0] for v in value], "formats": [fmt(v[1]) for v in value],
                             "offsets": [v[2] for v in value]})
        return value

    return np.dtype({"names": fields["names"], "formats": [fmt(f) for f in fields["formats"]],
                     "offsets": fields["offsets"], "itemsize": fields["itemsize"]})


def _with_strides(np: Any, a: Any, strides: Any) -> Any:
    """`a`'s content laid out with the original strides (non-overlapping;
    negative ones too), or None when those cannot be rebuilt."""
    if not strides or len(strides) != a.ndim:
        return None
    # Lay the dimensions out by increasing |stride|: each must step over
    # everything the smaller ones span, or two elements would share memory.
    dims = sorted((abs(s), n) for s, n in zip(strides, a.shape) if n > 1)
    extent = a.itemsize
    for stride, size in dims:
        if stride < extent:
            return None  # overlapping (a broadcast view, for one)
        extent += stride * (size - 1)
    buf = np.empty(extent, dtype=np.uint8)
    # A buffer of bytes, so the strides need not be multiples of the item
    # size (a field of a structured array).
    out = np.ndarray(a.shape, dtype=a.dtype, buffer=buf,
                     strides=[abs(s) for s in strides])
    flip = tuple(slice(None, None, -1) if s < 0 and n > 1 else slice(None)
                 for s, n in zip(strides, a.shape))
    out = out[flip]
    out[...] = a
    return out


def _pandas_values(pd: Any, np: Any, data: Any, dtype_name: str) -> Any:
    """A column's (or an index's) values with the stored dtype: from an
    array, or from a list of plain values."""
    dtype = pd.api.types.pandas_dtype(dtype_name)
    if not isinstance(data, list):
        return data if data.dtype == dtype else data.astype(dtype)
    if not isinstance(dtype, np.dtype):  # pandas' "str"
        return pd.array(data, dtype=dtype)
    if dtype == object:
        out = np.empty(len(data), dtype=object)
        out[:] = data
        return out
    return np.array(data, dtype=dtype)


def _pandas_axis(pd: Any, np: Any, info: JsonObject, values: Any) -> Any:
    """An index (or the columns) from its `extra` description; `values()`
    gives its content unless it is a RangeIndex."""
    name = decode(info.get("name"))
    if "range" in info:
        start, stop, step = info["range"]
        return pd.RangeIndex(start, stop, step, name=name)
    dtype_name = info.get("dtype") or "object"
    return pd.Index(_pandas_values(pd, np, values(), dtype_name),
                    dtype=pd.api.types.pandas_dtype(dtype_name), name=name)


def _key(tagged: Any) -> Any:
    if isinstance(tagged, dict) and "$repr" in tagged:
        raise Missing(f"a dict key that was not saved: {tagged['$repr']}")
    key = decode(tagged)
    return tuple(key) if isinstance(key, list) else key


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as err:
        top = name.split(".", 1)[0]
        raise Missing(f"module {top!r} is not installed in {sys.executable} ({err})") from None


def _reason(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
