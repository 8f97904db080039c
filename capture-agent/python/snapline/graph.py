"""Walk the object graph reachable from a snapshot's roots and turn it into
content-addressed object records plus path entries.

Every object that is not a plain value becomes a node with an identity in
the snapshot: reaching it again by another path adds an alias entry with the
same node id (`o1[1] is o2[1]` stays true after restore). Records refer to
their children by content hash, so an unchanged object has the same hash in
every snapshot and is stored once.
"""

from __future__ import annotations

import collections
import functools
import io
import json
import math
import pickle
import sys
import types
from collections.abc import Iterable, Iterator, Sized
from typing import Any, Callable, TypedDict, cast

from . import arrays, dataframes, files, ownership, pickle_memo, reducers, rng, unchanged_containers
from .attributes import has_dict, instance_dict
from .values import (
    INLINE_TEXT_LIMIT,
    JsonObject,
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
# Value JSON longer than this goes to chunks instead of the catalog row, in
# content-defined pieces (Recorder.put_value): a list, dict or set changed in
# a few places stores the pieces around them, not its whole JSON again.
INLINE_JSON_LIMIT = 4 * 1024
# A string whose JSON is longer than this is one chunk of its own (stored
# compressed) instead of inline JSON in the catalog.
INLINE_STRING_LIMIT = 1024
# A value in more chunks than this names the root of a chunk-list tree
# (`extra.chunk_list`) instead of listing its chunks (`_chunk_list`); the
# store's CHUNK_LIST_OVER.
CHUNK_LIST_OVER = 16
# A plain container longer than this whose inner lists, dicts and sets are
# held by it alone (`history.append({"loss": ...})`) is one JSON value too:
# no node and entry per item, and the content-defined chunks of its JSON
# make a snapshot store O(changed items). (Smaller ones keep a node per
# inner container: `cfg["layers"]` stays a path of its own.)
UNSHARED_CONTAINER_OVER = 64
# Containers of at least this many items have their JSON made in Rust when
# they are plain values (_describe); smaller ones rarely pass INLINE_JSON_LIMIT.
NATIVE_JSON_FROM = 256
# Metric series come from numeric scalars at most this many levels deep.
METRIC_DEPTH = 2

# Py_TPFLAGS_HEAPTYPE: set on classes created by a class statement.
_HEAPTYPE = 1 << 9

_FUNCTION_TYPES = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType, type,
    types.BuiltinMethodType,
)


class ObjectRecord(TypedDict, total=False):
    """An object record as the walker makes it and the store keeps it
    (docs/store-format.md, "Object records"): `kind` says which of the
    other keys it has. Children are links: `{key, hash}`, `{key, value}`
    or `{key, ref}`."""

    kind: str  # value, array, container, instance, pickle, reference, unrestorable
    type: str
    shape: list[int]
    dtype: str
    stats: JsonObject
    preview: str | None
    restorable: bool
    value: object  # tagged JSON (values.py)
    chunks: list[str]
    nbytes: int
    extra: JsonObject
    children: list[JsonObject]
    reason: str


# An entry: (path, node, record hash).
Entry = tuple[str, int, str]
# What add_root_as_before remembers of a root by path: (its fingerprint,
# its entries with node numbers from 0, how many nodes it made).
RootsBefore = dict[str, tuple[bytes, list[Entry], int]]
# A pickler made with (stream, buffer callback, persistent-id callback).
PicklerFactory = Callable[
    [io.BytesIO, Callable[[pickle.PickleBuffer], None], Callable[[object], object]],
    pickle.Pickler]
# A member step (graph.member_steps): ["attr", name], ["item", tagged key]
# or ["flat", index].
Step = list[object]


# One encoder for every record (json.dumps with options makes a new one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(record: ObjectRecord | JsonObject) -> str:
    return _CANONICAL.encode(record)


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

    def __init__(self, recorder: Any, committed: set[str],
                 hash_bytes: Callable[[bytes], str],
                 containers: unchanged_containers.UnchangedContainers | None = (
                     unchanged_containers.SNAPSHOTS)) -> None:
        self.recorder = recorder
        self.committed = committed
        self.hash_bytes = hash_bytes
        # The Rust hash of a plain value's record (plain_values.rs), or None.
        self.plain_digest: Callable[[object], str | None] | None = _native_plain_digest()
        # A record's hash, made in Rust (record_json.rs), or None.
        self.native_digest: Callable[[object], str | None] | None = _native_record_digest()
        # The JSON text of a large plain value, made in Rust (None: Python's path).
        self.plain_json: Callable[[object], bytes | None] | None = _native_plain_json()
        # Big containers of immutable items remembered from the previous
        # snapshot (unchanged_containers.py): one made of the same item
        # objects is not walked again. None: walk every one.
        self.containers = containers
        if containers is not None:
            containers.start_snapshot()
        self.nodes: dict[int, _Node] = {}
        self.keepalive: list[object] = []
        # (hash, record) of the records new in this snapshot: the JSON it emits.
        self.objects: list[tuple[str, JsonObject]] = []
        self.new_hashes: set[str] = set()
        self.entries: list[Entry] = []
        self.metrics: list[tuple[str, float]] = []
        # True while walking what a library object holds (ownership.py).
        self.in_library = False
        # (node, NaN + Inf elements) of every non-finite array.
        self.nonfinite_nodes: list[tuple[_Node, int]] = []
        # id of a closure cell -> the path it was first reached by (two
        # functions sharing a cell share it again after restore).
        self.cells: dict[int, str] = {}
        # ids of the arrays a pandas object was split into (dataframes.py).
        self.frame_parts: set[int] = set()
        # ids of the objects the script holds itself (hold()).
        self.held: set[int] = set()
        # When a dict: path -> the objects each pickle refers to by
        # persistent id, in order (restore/roundtrip.py's capture check).
        self.pickled_refs: dict[str, list[object]] | None = None
        # Where an array's memory starts -> the first array seen there.
        self.memory_owners: dict[tuple[str, int], object] = {}

    def record_digest(self, record: ObjectRecord | JsonObject) -> str:
        """The content hash of a record: `hash_bytes` of its canonical JSON,
        written in Rust where it can be (record_json.rs: under half the
        time of Python's json module), else here."""
        digest = self.native_digest(record) if self.native_digest is not None else None
        return digest if digest is not None else self.hash_bytes(canonical_json(record).encode())

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

    def hold(self, objects: Iterable[Any]) -> None:
        """The objects the roots are (and, one level down, what root lists,
        tuples and dicts hold): the script holds them itself, so one reached
        first inside a pickled object (the axes inside a figure) becomes a
        member of it, and stays the same object after restore."""
        for obj in objects:
            if is_atomic(obj):
                continue
            self.held.add(id(obj))
            self.keepalive.append(obj)
            np = sys.modules.get("numpy")
            items: Iterable[object]
            if type(obj) in (list, tuple):
                items = obj[:1000]
            elif type(obj) is dict:
                items = list(obj.values())[:1000]
            elif np is not None and type(obj) is np.ndarray and obj.dtype.hasobject:
                items = list(obj.flat[:1000])  # (plt.subplots' array of axes)
            else:
                continue
            # (Numbers and short texts first by exact type: a list of a
            # thousand floats or words is checked at every snapshot.)
            self.held.update(id(x) for x in items
                             if type(x) not in _NUMBER_TYPES
                             and not (type(x) is str and len(x) <= INLINE_TEXT_LIMIT)
                             and not is_atomic(x))

    def add_root(self, path: str, obj: object) -> None:
        self._walk(obj, path, depth=0, root=True)

    def add_root_as_before(self, path: str, obj: object, fingerprint: bytes,
                           before: RootsBefore) -> None:
        """add_root for a value that is often unchanged (an RNG state):
        when `fingerprint` (its exact bytes) is the one `before[path]` holds
        from an earlier snapshot, its entries are those again, not walked;
        else it is walked and `before[path]` updated."""
        known = before.get(path)
        if (known is not None and known[0] == fingerprint
                and all(h in self.committed for _, _, h in known[1])):
            base = len(self.nodes)
            for _ in range(known[2]):  # node numbers of their own, as if walked
                placeholder = object()
                self.keepalive.append(placeholder)
                self.nodes[id(placeholder)] = _Node(len(self.nodes), path)
            self.entries.extend((p, base + n, h) for p, n, h in known[1])
            return
        first_entry, base = len(self.entries), len(self.nodes)
        compact = rng.compact_state(obj)
        if compact is None:
            self.add_root(path, obj)
        else:  # a Mersenne Twister state: its words as one binary chunk
            self._node(obj, path,
                       functools.partial(self._rng_record, cast(Sized, obj), *compact, path))
        made = [(p, n - base, h) for p, n, h in self.entries[first_entry:]]
        if all(0 <= n < len(self.nodes) - base for _, n, _ in made):
            before[path] = (fingerprint, made, len(self.nodes) - base)
        else:  # it shares nodes with earlier roots: walk it every time
            before.pop(path, None)

    def _rng_record(self, obj: Sized, words: bytes, extra: JsonObject,
                    preview: str, path: str) -> ObjectRecord:
        """The record of a Mersenne Twister state (rng.compact_state): a value
        whose words are one chunk of little-endian uint32, not 625 ints of
        JSON; restore reads it back with rng.decode_state. The recorder
        stores new words that are the generator's (`path`'s) previous words
        twisted as a 25-byte twist frame (capture-agent/src/rng_words.rs)."""
        put_words = getattr(self.recorder, "put_rng_words", None)
        chunks = (put_words(words, path) if put_words is not None
                  else self.recorder.put_blob(words))
        return {"kind": "value", "type": type_name(obj), "shape": [len(obj)],
                "restorable": True, "nbytes": len(words),
                "chunks": chunks, "extra": extra, "preview": preview}

    # -- walking ------------------------------------------------------------
    def _walk(self, obj: Any, path: str, depth: int, root: bool = False) -> JsonObject:
        if type(obj) in _EMPTY_TYPES and not obj:
            # (First: a torch module holds a dozen; neither a number nor atomic.)
            empty = self._empty(obj, path)
            if empty is not None:
                return empty
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
        key = _atomic_key(obj) if root else None
        return self._node(obj, path, functools.partial(self._describe_owned, obj, path, depth),
                          key)

    def _empty(self, obj: object, path: str) -> JsonObject | None:
        """An empty OrderedDict with no attributes or an empty set (a torch
        module holds eleven and one: its hook registries): a node whose record
        is the same in every snapshot, stored before: entered without
        describing it. None: walk it (first time, an alias, attributes)."""
        t = type(obj)
        known = _EMPTY_RECORDS.get(t)
        if (known is None or id(obj) in self.nodes
                or (known not in self.committed and known not in self.new_hashes)
                or (t is not set and instance_dict(obj))):
            return None
        node = _Node(len(self.nodes), path, user=not self.in_library)
        self.nodes[id(obj)] = node
        self.keepalive.append(obj)
        node.hash = known
        self.entries.append((path, node.node, known))
        if t is not set and self.pickled_refs is not None:
            self.pickled_refs[path] = []  # (as _pickle's remembered record says)
        return {"hash": known}

    def _node(self, obj: object, path: str, describe: Callable[[], ObjectRecord],
              key: object = None) -> JsonObject:
        """`obj` as a node at `path`: an alias of the node it already is, or
        a new one whose record `describe()` makes, hashed and entered (for an
        immutable value with a `key`, remembered across snapshots)."""
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
        remember = self.containers
        if remember is not None and (type(obj) not in unchanged_containers.TYPES
                                     or len(cast(Sized, obj)) < unchanged_containers.REMEMBER_FROM
                                     or id(obj) in self.frame_parts):  # (temporaries)
            remember = None
        if remember is not None:
            # The same container holding the same immutable items as at the
            # last snapshot: the same record.
            digest = remember.digest(obj)
            if digest is not None and (digest in self.committed or digest in self.new_hashes):
                node.hash = digest
                self.entries.append((path, node.node, digest))
                return {"hash": digest}
        if type(obj) in _PLAIN_CONTAINERS and self.plain_digest is not None:
            # A list, tuple or dict of numbers and strings stored before:
            # its record's hash, made in Rust (plain_values.rs) without
            # describing it again.
            digest = self.plain_digest(obj)
            if digest is not None and (digest in self.committed or digest in self.new_hashes):
                node.hash = digest
                self.entries.append((path, node.node, digest))
                if remember is not None:
                    remember.remember(obj, digest)
                return {"hash": digest}
        cached = _ATOMIC_RECORDS.get(key) if key is not None else None
        if cached is not None:
            digest, record = cached[0], cached[1].copy()
            made = record.pop("preview", None)
        else:
            record = describe()
            # The preview is derived from the content and left out of the hash;
            # it is made only for objects not stored before (formatting an
            # array or a model's repr costs more than hashing them).
            made = record.pop("preview", None)
            array_key = _array_record_key(record) if record.get("kind") == "array" else None
            known_digest = _ARRAY_DIGESTS.get(array_key) if array_key is not None else None
            if known_digest is not None:
                digest = known_digest
            else:
                digest = self.record_digest(record)
                if array_key is not None:
                    if len(_ARRAY_DIGESTS) >= ARRAY_DIGESTS_KEPT:
                        _ARRAY_DIGESTS.clear()
                    _ARRAY_DIGESTS[array_key] = digest
            if key is not None:
                if len(_ATOMIC_RECORDS) >= ATOMIC_RECORDS_KEPT:
                    _ATOMIC_RECORDS.clear()
                _ATOMIC_RECORDS[key] = (digest, {**record, "preview": made})
            if remember is not None and record["kind"] == "value" and "children" not in record:
                # (One JSON value: the walk made no node or entry for its items.)
                remember.remember(obj, digest)
        node.hash = digest
        self.entries.append((path, node.node, digest))
        if type(obj) in _EMPTY_TYPES and not obj:
            _remember_empty(obj, digest, record)
        if digest not in self.committed and digest not in self.new_hashes:
            self.new_hashes.add(digest)
            if made is None:
                made = _preview_of(obj, record)
            record["preview"] = made
            self.objects.append((digest, cast(JsonObject, record)))
        return {"hash": digest}

    def _describe_owned(self, obj: Any, path: str, depth: int) -> ObjectRecord:
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

    def _describe(self, obj: Any, path: str, depth: int) -> ObjectRecord:
        try:
            if (type(obj) in _PLAIN_CONTAINERS and self.plain_json is not None
                    and len(obj) >= NATIVE_JSON_FROM):
                # A large list, tuple or dict of atomics: its JSON in one
                # Rust call (plain_values.rs), not checked, encoded and
                # dumped item by item here (a list of 20,000 texts: 20 ms).
                data = self.plain_json(obj)
                if data is not None and len(data) > INLINE_JSON_LIMIT:
                    return self._value(obj, data)
            if is_plain_value(obj) and (not _holds_mutable(obj) or (
                    len(obj) > UNSHARED_CONTAINER_OVER
                    and _holds_only_unshared(obj, cached=self.containers))):
                # One JSON value (chunked when long: a list of a million
                # losses); a list inside it that something else also holds
                # would lose its identity, so those are walked instead.
                return self._value(obj)
            if arrays.is_array(obj):
                record = cast(ObjectRecord, arrays.describe(obj, self.recorder))
                self._array_links(obj, record, path)
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
                    if isinstance(obj, type) and obj.__module__ == "__main__":
                        self._class_state(obj, ref, path)
                    return ref
            if _holds_os_file(obj):
                return _unrestorable(obj, files.open_file_reason(obj))
            if files.is_closed_file(obj):
                return cast(ObjectRecord, files.closed_record(obj, _class_ref(type(obj))))
            torch = sys.modules.get("torch")
            if torch is not None and isinstance(obj, torch.nn.Module) and _module_state(obj):
                return self._module(obj, path, depth)
            if torch is not None and isinstance(obj, torch.optim.Optimizer):
                optimizer = self._optimizer(obj, path, depth)
                if optimizer is not None:
                    return optimizer
            if dataframes.is_frame(obj):
                split = dataframes.split(obj)
                if split is not None:
                    return self._frame(obj, split, path, depth)
            if _plain_state(obj):
                return self._instance(obj, path, depth)
            return self._pickle(obj, path, depth)
        except RecursionError:
            return _unrestorable(obj, "the object graph is too deep to walk")

    def _value(self, obj: Any, data: bytes | None = None) -> ObjectRecord:
        """The record of a plain value; `data`: its JSON, already made (longer
        than INLINE_JSON_LIMIT: a value stored in chunks)."""
        # (No preview: _node makes it when the record is new.)
        record: ObjectRecord = {"kind": "value", "type": type_name(obj), "restorable": True}
        number = scalar_number(obj)
        if number is not None and type(obj) is not bool:
            record["stats"] = scalar_stats(number)
        if data is None:
            value = encode(obj)
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
            if type(obj) is str and len(text) > INLINE_STRING_LIMIT:
                # A long string is rarely stored twice (a string never changes
                # in place): one zstd chunk, not raw JSON in its catalog row.
                blob = text.encode()
                record["nbytes"] = len(blob)
                record["extra"] = {"encoding": "json"}
                record["chunks"] = self.recorder.put_blob(blob)
            elif len(text) <= INLINE_JSON_LIMIT:
                record["value"] = value
            else:
                data = text.encode()
        if data is not None:
            put = getattr(self.recorder, "put_value", self.recorder.put_blob)
            chunks = put(data)
            record["nbytes"] = len(data)
            record["extra"] = {"encoding": "json"}
            if len(chunks) > CHUNK_LIST_OVER:
                record["extra"]["chunk_list"] = self._chunk_list(chunks)
            else:
                record["chunks"] = chunks
        if type(obj) in (list, tuple, dict, set, frozenset, str, bytes):
            record["shape"] = [len(obj)]
        return record

    def _chunk_list(self, chunks: list[str]) -> str:
        """A long chunk list as a tree of node records (the store's
        `chunk_list.rs`): the nodes not stored before join this snapshot's
        records; returns the root's hash. One changed chunk changes one node
        per level, so the value's record stays O(1) however long it is."""
        from . import _native

        root, nodes = _native.chunk_list(chunks)
        for digest, text in nodes:
            if digest not in self.committed and digest not in self.new_hashes:
                self.new_hashes.add(digest)
                self.objects.append((digest, json.loads(text)))
        return cast(str, root)

    def _container(self, obj: Any, path: str, depth: int) -> ObjectRecord:
        children: list[JsonObject] = []
        if type(obj) is dict:
            if not all(_plain_key(key) for key in obj):
                # Keys that are objects (an Enum member): pickled, with
                # arrays and known objects inside it as references.
                return self._pickle(obj, path, depth)
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

    def _array_links(self, obj: Any, record: ObjectRecord, path: str) -> None:
        """What an array holds besides its bytes, as children: the array it
        is a view of (`.<base>`; extra.view says where in it), a tensor's
        `.grad` and its Python attributes (`param.name`). A tensor with
        autograd history (`loss`) says so (restore makes it a leaf)."""
        extra = record["extra"]
        children: list[JsonObject] = []

        def child(suffix: str, value: object) -> None:
            children.append({"key": suffix,
                             **self._walk(value, path + suffix, METRIC_DEPTH + 1)})

        # (A pandas column is a view into the frame's block: the frame is
        # rebuilt from its columns, so they are arrays of their own.)
        view = arrays.view_of(obj) if id(obj) not in self.frame_parts else None
        if view is None and id(obj) not in self.frame_parts:
            # Memory shared with an array walked before, not as a view of it.
            key = arrays.memory_key(obj)
            owner = self.memory_owners.setdefault(key, obj) if key is not None else obj
            where = arrays.shared_memory(obj, owner) if owner is not obj else None
            if where is not None:
                view = (owner, where)
        if view is not None:
            base, extra["view"] = view
            child(".<base>", base)
        if extra.get("framework") == "numpy":
            if not obj.flags.writeable:
                extra["writeable"] = False
        else:
            if obj.grad_fn is not None and view is None:
                extra["autograd_history"] = True
            grad = obj.grad if obj.is_leaf else None
            if grad is not None:
                child(".grad", grad)
            for name, value in list((instance_dict(obj) or {}).items()):
                if type(name) is str and not name.startswith("__"):
                    child(f".{name}", value)
        if children:
            record["children"] = children

    def _members(self, obj: object, path: str, pickled: set[int]) -> None:
        """Objects the script holds that are first reached inside the pickled
        `obj` (`fig._localaxes[0]` for `ax`) become nodes of their own: a
        member record says how to reach them in `obj` once it is unpickled
        (a reference record, `extra.ref` "member"; restore/rebuild.py), so
        both come back as one object graph."""
        pending = self.held.intersection(pickled).difference(self.nodes)
        if not pending:
            return
        for steps, value in member_steps(obj, pending):
            if id(value) in self.nodes:
                continue
            suffix = steps_text(steps)
            record: ObjectRecord = {"kind": "reference", "type": type_name(value),
                                    "restorable": True,
                      "extra": {"ref": "member", "steps": steps},
                      "children": [{"key": ".<of>", "ref": path}]}
            self._node(value, path + suffix, record.copy)

    def _class_state(self, cls: type, record: ObjectRecord, path: str) -> None:
        """A class of the script comes back from re-running its source;
        its data attributes (`Registry.items`, which the script may have
        changed since) are its record's children, set again at restore."""
        import enum

        if isinstance(cls, enum.EnumMeta):
            return  # its members are its definition
        children: list[JsonObject] = []
        for name, value in list(vars(cls).items()):
            if (name.startswith("__") or hasattr(type(value), "__get__")
                    or isinstance(value, type)):
                continue  # methods, properties, descriptors, nested classes
            children.append({"key": f".{name}",
                             **self._walk(value, f"{path}.{name}", METRIC_DEPTH + 1)})
        if children:
            record["children"] = children

    def _instance(self, obj: object, path: str, depth: int) -> ObjectRecord:
        children: list[JsonObject] = []
        for name, value in list(vars(obj).items()):
            children.append({"key": name, **self._walk(value, f"{path}.{name}", depth + 1)})
        return {"kind": "instance", "type": type_name(obj),
                "restorable": True, "children": children,
                "extra": {"class": _class_ref(type(obj))}}

    def _frame(self, obj: object, split: dataframes.Split, path: str, depth: int) -> ObjectRecord:
        """A pandas DataFrame or Series as its parts (dataframes.py): each column
        (and the index) a node at `df["col"]` (`df.index`): an array, or
        one value record of a list of plain values."""
        children: list[JsonObject] = []
        for key, data in split.parts:
            # Temporaries: nodes are keyed by id, so none may be freed (and
            # its id reused) before the snapshot is built.
            self.keepalive.append(data)
            self.frame_parts.add(id(data))
            if type(data) is list:
                ref = self._node(data, path + key, functools.partial(self._value, data))
            else:
                ref = self._walk(data, path + key, depth + 1)
            children.append({"key": key, **ref})
        record = cast(ObjectRecord, split.record)
        record["children"] = children
        record["extra"]["class"] = _class_ref(type(obj))
        return record

    def _module(self, obj: object, path: str, depth: int) -> ObjectRecord:
        """torch.nn.Module: parameters, buffers and submodules appear by
        name (`model.fc1.weight`); `slots` says which dict each came from."""
        children: list[JsonObject] = []
        slots: dict[str, str] = {}
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

    def _function(self, obj: Any, path: str, depth: int) -> ObjectRecord:
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
        children: list[JsonObject] = []

        def child(suffix: str, value: object) -> None:
            # (Below the metric depth: no series from what it holds, as when pickled.)
            children.append({"key": suffix, **self._walk(value, path + suffix, METRIC_DEPTH + 1)})

        if obj.__defaults__ is not None:
            child(".__defaults__", obj.__defaults__)
        if obj.__kwdefaults__:
            child(".__kwdefaults__", obj.__kwdefaults__)
        if obj.__closure__:
            empty: list[str] = []
            shared: dict[str, str] = {}
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
        for name, value in list((instance_dict(obj) or {}).items()):
            child(f".{name}", value)
        if children:
            record["children"] = children
        return record

    def _optimizer(self, obj: Any, path: str, depth: int) -> ObjectRecord | None:
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
        where: dict[int, list[int]] = {}
        for g, group in enumerate(groups):
            if not isinstance(group, dict):
                return None
            for i, param in enumerate(group.get("params") or ()):
                where.setdefault(id(param), [g, i])
        if any(id(key) not in where for key in state):
            return None
        children: list[JsonObject] = []

        def child(suffix: str, value: object) -> None:
            # (Below the metric depth: no series from what it holds, as when pickled.)
            children.append({"key": suffix, **self._walk(value, path + suffix, METRIC_DEPTH + 1)})

        child(".defaults", obj.defaults)
        child(".param_groups", groups)
        state_keys: list[list[int]] = []
        for key, value in list(state.items()):
            known = self.nodes.get(id(key))
            child(f".state[{known.path}]" if known is not None else f".state[#{len(state_keys)}]",
                  value)
            state_keys.append(where[id(key)])
        attributes: list[str] = []
        for name, value in list(vars(obj).items()):
            if name in ("defaults", "param_groups", "state") or "hook" in name or callable(value):
                continue
            attributes.append(name)
            child(f".{name}", value)
        return {"kind": "instance", "type": type_name(obj), "restorable": True,
                "children": children,
                "extra": {"class": _class_ref(type(obj)), "torch_optimizer": True,
                          "state_keys": state_keys, "attributes": attributes}}

    def _pickle(self, obj: object, path: str, depth: int) -> ObjectRecord:
        # An object whose pickle its fingerprint decides (an empty
        # OrderedDict, a plain function): last snapshot's record.
        memo_key = pickle_memo.fingerprint(obj)
        if memo_key is not None:
            known = pickle_memo.lookup(self.recorder, memo_key, obj, self.held, self.nodes)
            if known is not None:
                if self.pickled_refs is not None:
                    self.pickled_refs[path] = []
                return cast(ObjectRecord, known)
        names = _attribute_names(obj, self.nodes)
        pickled: set[int] = set()  # ids of what the pickle holds (its reduce may leave some out)
        children: list[JsonObject] = []
        refs: list[object] = []  # the objects behind `children`, in order
        buffers: list[pickle.PickleBuffer] = []
        builder = self

        def persistent_id(child: object) -> object:
            if child is obj or is_atomic(child):
                return None
            pickled.add(id(child))
            if arrays.is_array(child) or id(child) in builder.nodes:
                suffix = names.get(id(child), f".<{len(children)}>")
                ref = builder._walk(child, path + suffix, METRIC_DEPTH + 1)
                children.append({"key": suffix, **ref})
                refs.append(child)
                return ("snapline", len(children) - 1)
            return None

        data: bytes | None = None
        error: Exception | None = None
        for factory in _picklers():
            children.clear()
            buffers.clear()
            pickled.clear()
            refs.clear()
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
        if self.pickled_refs is not None:
            self.pickled_refs[path] = list(refs)
        if self.held:
            self._members(obj, path, pickled)
        extra: JsonObject = {"protocol": 5}
        state = instance_dict(obj)
        if type(state) is dict and len(state) <= 256:
            # What restore checks the unpickled object still has (verify.py).
            extra["attributes"] = [name for name in state if type(name) is str]
        if buffers:
            extra["buffers"] = [self.recorder.put_blob(bytes(b.raw())) for b in buffers]
        record: ObjectRecord = {"kind": "pickle", "type": type_name(obj),
                                "restorable": True, "chunks": self.recorder.put_blob(data),
                                "nbytes": len(data), "children": children, "extra": extra}
        if memo_key is not None:
            pickle_memo.remember(self.recorder, memo_key, obj, cast(JsonObject, record), pickled)
        return record


class _RefPickler(pickle.Pickler):
    """pickle.Pickler whose persistent ids come from a callback (3.13 made
    the attribute read-only on instances, so it must be a method)."""

    def __init__(self, stream: io.BytesIO, callback: Callable[[pickle.PickleBuffer], None],
                 refs: Callable[[object], object]) -> None:
        super().__init__(stream, protocol=5, buffer_callback=callback)
        self._refs = refs

    def persistent_id(self, obj: Any) -> Any:
        return self._refs(obj)

    def reducer_override(self, obj: Any) -> Any:
        return reducers.reduce(obj)


_cloud_pickler_cache: list[PicklerFactory | None] = []


def _picklers() -> Iterator[PicklerFactory]:
    """Plain pickle first; cloudpickle (lambdas, closures, local classes)
    second, imported only when plain pickle first fails (it costs a
    snapshot about 8 ms to import)."""
    yield _RefPickler
    if not _cloud_pickler_cache:
        _cloud_pickler_cache.append(_cloud_pickler())
    cloud = _cloud_pickler_cache[0]
    if cloud is not None:
        yield cloud


def _cloud_pickler() -> PicklerFactory | None:
    try:
        import cloudpickle as _cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle is a dependency
        return None

    cloud_pickler = _cloudpickle.CloudPickler

    # _RefPickler's constructor and persistent ids, CloudPickler's pickling
    # (MRO: _RefPickler, CloudPickler, pickle.Pickler). (cloudpickle has no
    # stubs: its class is Any to mypy.)
    class _RefCloudPickler(_RefPickler, cloud_pickler):  # type: ignore[misc, valid-type]
        def reducer_override(self, obj: Any) -> Any:
            ours = reducers.reduce(obj)
            return ours if ours is not NotImplemented else cloud_pickler.reducer_override(self, obj)

    return _RefCloudPickler


def _preview_of(obj: object, record: ObjectRecord) -> str:
    kind = record["kind"]
    if kind == "array" or kind == "container" or (kind == "value" and "value" in record):
        # Rendered when shown, from the stored record (crates/query's
        # objects/array_preview.rs and record_preview.rs): formatting arrays
        # here cost a third of a snapshot, and containers (an optimizer's
        # state) a tenth of an epoch snapshot's.
        return ""
    if kind == "instance" and type(obj).__repr__ is object.__repr__:
        # `<Config object at 0x7f...>` says nothing once the program is gone:
        # shown as `Config(lr=0.001, ...)`, from its attributes' records.
        return ""
    if "pandas" in (record.get("extra") or {}):
        return dataframes.preview_of(obj)
    ma = sys.modules.get("numpy.ma")  # (never `np.ma`: that would import it)
    if ma is not None and type(obj) is ma.MaskedArray:
        # (Its repr would set the array's `_fill_value`: a change the program sees.)
        return "masked " + arrays.preview_of(obj.data)
    return preview(obj)


# Empty values of these types, with no attributes, have one record wherever
# they are (GraphBuilder._empty): type -> its hash, once seen.
_EMPTY_TYPES = frozenset((collections.OrderedDict, set))
_EMPTY_RECORDS: dict[type, str] = {}


def _remember_empty(obj: object, digest: str, record: ObjectRecord) -> None:
    """Keeps the hash of an empty OrderedDict's or set's record when it is
    the plain one (a pickle without buffers or children, a JSON value), not
    a member reference, and the object has no attributes of its own."""
    t = type(obj)
    extra = record.get("extra") or {}
    if t is set:
        plain = record.get("kind") == "value" and "children" not in record
    else:
        plain = (record.get("kind") == "pickle" and not record.get("children")
                 and not extra.get("buffers") and "owner" not in extra
                 and not instance_dict(obj))
    if plain:
        _EMPTY_RECORDS[t] = digest


# The hashes of array records by what decides their JSON (_array_record_key):
# an unchanged tensor's record is not encoded again at every snapshot.
ARRAY_DIGESTS_KEPT = 8192
_ARRAY_DIGESTS: dict[tuple[object, ...], str] = {}
# Types an array record's `extra` values may have for _array_record_key.
_ARRAY_EXTRA_TYPES = (str, bool, int)


def _array_record_key(record: ObjectRecord) -> tuple[object, ...] | None:
    """What an array record's canonical JSON is a function of, as a
    hashable key, or None (not kept: a device tensor, whose stats are
    computed where it lives; `extra` or children holding anything but
    strings, bools, ints and int lists; a child inlined as a value).
    Its stats are left out: on the host they are computed from the bytes
    the chunk hashes name (the scanner's stats cache relies on it too).
    Every value is keyed with its type (True is not 1)."""
    extra = record["extra"]
    if extra.get("host_copy") or "stats" in record and type(record["stats"]) is not dict:
        return None
    items: list[object] = []
    for name, value in extra.items():
        t = type(value)
        if t is list:
            if any(type(v) is not int for v in value):
                return None
            items.append((name, t, tuple(value)))
        elif t in _ARRAY_EXTRA_TYPES:
            items.append((name, t, value))
        else:
            return None
    children: tuple[object, ...] = ()
    if "children" in record:
        links = []
        for child in record["children"]:
            if "value" in child or len(child) != 2:
                return None
            links.append((child["key"], child.get("hash"), child.get("ref")))
        children = tuple(links)
    return (record["type"], record["dtype"], tuple(record["shape"]), tuple(record["chunks"]),
            record["nbytes"], record["restorable"], "stats" in record, tuple(items), children,
            tuple(sorted(record)))


# Types whose values are always atomic (values.is_atomic), whatever the value.
_NUMBER_TYPES = frozenset((int, float, bool, type(None), complex))
# The types whose records plain_values.rs may hash (graph._node).
_PLAIN_CONTAINERS = (list, tuple, dict)


def _native_plain_json() -> Callable[[object], bytes | None] | None:
    """`_native.plain_value_json_bytes`, or None (an older extension)."""
    try:
        from ._native import plain_value_json_bytes
    except ImportError:
        return None
    return cast(Callable[[object], "bytes | None"], plain_value_json_bytes)


def _native_plain_digest() -> Callable[[object], str | None] | None:
    """`_native.plain_value_digest`, or None (an older extension)."""
    return native_function("plain_value_digest")


def _native_record_digest() -> Callable[[object], str | None] | None:
    """`_native.record_digest`, or None (an older extension)."""
    return native_function("record_digest")


def native_function(name: str) -> Callable[[object], str | None] | None:
    """The native extension's function `name`, looked up once, or None (an
    older extension, or none)."""
    if name not in _native_functions:
        try:
            from . import _native
        except ImportError:
            _native = None  # type: ignore[assignment]
        _native_functions[name] = getattr(_native, name, None)
    return _native_functions[name]


_native_functions: dict[str, Callable[[object], str | None] | None] = {}


def _holds_mutable(obj: Any) -> bool:
    """A plain container with a list, dict or set inside it."""
    items = list(obj.values()) if type(obj) is dict else obj
    if type(obj) in (str, bytes) or is_atomic(obj):
        return False
    return any(not _immutable_value(x) for x in items)


# Records of the numbers and strings variables hold, by value: a variable
# that is an int, float, str, bool or None is described and hashed once per
# value, not at every snapshot (issue #16: the fixed cost of a snapshot).
ATOMIC_RECORDS_KEPT = 4096
_ATOMIC_RECORDS: dict[object, tuple[str, ObjectRecord]] = {}


def _atomic_key(obj: Any) -> tuple[type, object] | None:
    """The cache key of an immutable atomic value (its type and exact
    value: `float.hex` tells -0.0 from 0.0), or None."""
    t = type(obj)
    if t is float:
        return (t, obj.hex())
    if (t is int or t is str or t is bool or obj is None) and is_atomic(obj):
        return (t, obj)
    return None


def _holds_only_unshared(obj: Any, limit: int | None = None,
                         cached: unchanged_containers.UnchangedContainers | None = None) -> bool:
    """Every list, dict and set inside the plain value `obj` is referenced
    by its container alone (nothing else can see its identity; the
    reference `cached` keeps to one it remembers does not count)."""
    if limit is None:
        limit = _held_once()
    for item in obj.values() if type(obj) is dict else obj:
        t = type(item)
        if t is list or t is dict or t is set:
            mine = 1 if cached is not None and cached.holds(item) else 0
            if (sys.getrefcount(item) > limit + mine
                    or not _holds_only_unshared(item, limit, cached)):
                return False
        elif (t is tuple or t is frozenset) and not _holds_only_unshared(item, limit, cached):
            return False
    return True


_held_once_cache: list[int] = []


def _held_once() -> int:
    """The reference count `_holds_only_unshared` sees for an item only its
    container holds (the loop variable and the call's argument add to it;
    measured, as interpreters differ)."""
    if not _held_once_cache:
        count = next(n for n in range(1, 16) if _holds_only_unshared([[]], n))
        shared: list[object] = []
        if _holds_only_unshared([shared], count):  # cannot tell: never inline
            count = 0
        _held_once_cache.append(count)
    return _held_once_cache[0]


def _immutable_value(obj: Any, depth: int = 0) -> bool:
    """Atomics, and tuples/frozensets of them, nested at most 3 deep."""
    if is_atomic(obj):
        return True
    if depth >= 3 or type(obj) not in (tuple, frozenset):
        return False
    return all(_immutable_value(x, depth + 1) for x in obj)


def _nonfinite(stats: JsonObject) -> float:
    if stats["nan"]:
        return float("nan")
    return float("inf") if stats["posinf"] else float("-inf")


def _plain_key(key: Any) -> bool:
    try:
        encode(key)
    except TypeError:
        return False
    return True


def _key(key: Any) -> Any:
    try:
        return encode(key)
    except TypeError:
        return {"$repr": preview(key)}


def _class_ref(cls: type) -> JsonObject:
    return {"module": getattr(cls, "__module__", None), "qualname": getattr(cls, "__qualname__", None)}


def _plain_state(obj: Any) -> bool:
    """An instance whose pickled form is just its class and __dict__."""
    cls = type(obj)
    if not has_dict(cls) or hasattr(cls, "__slots__") or instance_dict(obj) is None:
        return False
    # (typeshed types object's unbound methods apart from a class's: the
    # identity checks are what is meant.)
    if (cls.__reduce_ex__ is not object.__reduce_ex__  # type: ignore[comparison-overlap]
            or cls.__reduce__ is not object.__reduce__):  # type: ignore[comparison-overlap]
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
            and cls.__reduce_ex__ is object.__reduce_ex__  # type: ignore[comparison-overlap]
            and cls.__reduce__ is object.__reduce__)  # type: ignore[comparison-overlap]


def _reference(obj: object, what: str, qualname: str,
               module: str | None = None) -> ObjectRecord:
    return {"kind": "reference", "type": type_name(obj),
            "restorable": True, "extra": {"ref": what, "module": module, "qualname": qualname}}


def _function_reference(obj: object) -> ObjectRecord | None:
    """Functions and classes importable by name (the script's own ones are
    rebuilt from its source at restore); None for lambdas and closures."""
    qualname = getattr(obj, "__qualname__", None)
    module = getattr(obj, "__module__", None)
    if isinstance(obj, types.MethodType) or not qualname or "<" in qualname:
        return None
    if module is None:
        return None
    if module == "builtins" and isinstance(obj, type):
        import builtins

        if getattr(builtins, qualname, None) is not obj:
            # NoneType, ellipsis, function...: named in `types`, or pickled.
            qualname = next((name for name, value in vars(types).items() if value is obj), "")
            if not qualname:
                return None
            module = "types"
    record = _reference(obj, "class" if isinstance(obj, type) else "function", qualname, module)
    code = getattr(obj, "__code__", None)
    if module == "__main__" and code is not None:
        record["extra"]["line"] = code.co_firstlineno
    return record


def _key_text(key: object, nodes: dict[int, _Node], counter: int) -> str:
    """A dict key in a path: its literal, or the path of the object it is
    (optimizer.state[model.0.weight]), or a counter."""
    if is_atomic(key):
        return key_suffix(key)
    known = nodes.get(id(key))
    return f"[{known.path}]" if known is not None else f"[#{counter}]"


def _unrestorable(obj: object, reason: str) -> ObjectRecord:
    return {"kind": "unrestorable", "type": type_name(obj), "preview": preview(obj),
            "restorable": False, "reason": reason}


def member_steps(obj: object, wanted: set[int], depth: int = 4,
                 budget: int = 20000) -> list[tuple[list[Step], object]]:
    """[(steps, value)] for the objects in `wanted` (ids) reachable from
    `obj` through instance attributes, dict and list items and object
    arrays' elements, at most `depth` steps; steps are ["attr", name],
    ["item", tagged key] or ["flat", index]."""
    found: list[tuple[list[Step], object]] = []
    seen = {id(obj)}
    left = [budget]
    np = sys.modules.get("numpy")

    def visit(value: object, steps: list[Step], level: int) -> None:
        if left[0] <= 0 or is_atomic(value) or id(value) in seen:
            return
        left[0] -= 1
        seen.add(id(value))
        if id(value) in wanted:
            found.append((steps, value))
        if level >= depth:
            return
        for step, item in _steps_into(value, np):
            visit(item, [*steps, step], level + 1)

    for step, item in _steps_into(obj, np):
        visit(item, [step], 1)
    return found


def _steps_into(value: Any, np: Any) -> list[tuple[Step, object]]:
    t = type(value)
    if t is dict or (isinstance(value, dict) and instance_dict(value) is None):
        out: list[tuple[Step, object]] = []
        for key, item in list(value.items())[:1000]:
            if _plain_key(key):
                out.append((["item", encode(key)], item))
        return out
    if t in (list, tuple):
        return [(["item", i], item) for i, item in enumerate(value[:1000])]
    if np is not None and t is np.ndarray and value.dtype.hasobject:
        return [(["flat", i], item) for i, item in enumerate(value.flat) if i < 1000]
    if arrays.is_array(value) or isinstance(value, (type, types.ModuleType, _FUNCTION_TYPES)):
        return []
    state = instance_dict(value)
    if type(state) is not dict:
        return []
    return [(["attr", name], item) for name, item in list(state.items())[:1000]
            if type(name) is str]


def steps_text(steps: Iterable[Step]) -> str:
    """Member steps as a path suffix: `._localaxes[0]`."""
    from .values import decode

    out = ""
    for kind, key in steps:
        if kind == "attr":
            out += f".{key}"
        elif kind == "item":
            out += key_suffix(decode(key))
        else:
            out += f".flat[{key}]"
    return out


def _attribute_names(obj: object, nodes: dict[int, _Node]) -> dict[int, str]:
    """id -> path suffix for arrays and objects reachable through an
    object's __dict__ (three levels of dicts and lists), to name pickle refs."""
    names: dict[int, str] = {}
    state = instance_dict(obj)
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
