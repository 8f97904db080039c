"""A restore that checks itself: the rebuilt objects are walked again with
the capture's own GraphBuilder (the same records, the same content hashes
of every buffer and pickle) and compared with the snapshot, record by
record and path by path, identity graph included. Whatever differs is
reported as rebuilt, with what differs, and is never counted as restored.

The same comparison runs at capture time on a sample of a snapshot's
objects when asked (`snapline run --check-roundtrip`): each new pickled
object is pickled, unpickled and walked again, and compared the same way,
so a lossy reducer is found while the data is still there (agent.py
records what differs as a warning: `snapline warnings RUN`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..graph import GraphBuilder
from ..values import JsonObject

#: path -> (node, record digest): what a walk (or a snapshot) holds at each path.
Entries = dict[str, tuple[int, str]]
#: chunk hashes -> the bytes they hash (what a HashingRecorder kept).
Blobs = dict[tuple[str, ...], bytes]

# Record fields derived from the content (stats, preview), or from the
# children's hashes: left out of the comparison (the children are compared
# at their own paths).
_DERIVED = ("preview", "stats")
# At most this many differences reported under one root.
_PER_ROOT = 3
# At most this many new pickled objects checked per snapshot at capture.
CAPTURE_SAMPLE = 16


class HashingRecorder:
    """What GraphBuilder needs of the Rust recorder, storing nothing: the
    chunk hashes of a buffer or a blob, as the recorder computes them."""

    def __init__(self, hash_bytes: Callable[[bytes], str], chunk_size: int) -> None:
        self.hash_bytes = hash_bytes
        self.chunk_size = chunk_size
        self.blobs: Blobs = {}

    def scan_array(self, address: int, nbytes: int,
                   dtype: str) -> tuple[list[str], tuple[int, int, int, int, None, None, None,
                                                         None]]:
        hashes = []
        for offset in range(0, nbytes, self.chunk_size):
            size = min(self.chunk_size, nbytes - offset)
            hashes.append(self.hash_bytes(ctypes.string_at(address + offset, size)))
        # No stats: they follow from the chunks (left out of the comparison).
        return hashes, (0, 0, 0, 0, None, None, None, None)

    def put_value(self, data: bytes) -> list[str]:
        # (The recorder cuts values at content-defined boundaries; here they
        # are compared by their bytes: _record_difference.)
        return self.put_blob(data)

    def put_blob(self, data: bytes) -> list[str]:
        hashes = [self.hash_bytes(bytes(data[i:i + self.chunk_size]))
                  for i in range(0, len(data), self.chunk_size)]
        # Kept for the comparison of pickles that differ in bytes only.
        self.blobs[tuple(hashes)] = bytes(data)
        return hashes


def walk(roots: list[tuple[str, object]]) -> tuple[Entries, dict[str, JsonObject], Blobs]:
    """(entries {path: (node, digest)}, records {digest: record}, blobs
    {chunk hashes: bytes}) of the objects `roots` ([(path, object)], in the
    capture's order) hold now."""
    from .. import _native

    recorder = HashingRecorder(_native.hash_bytes, _native.CHUNK_SIZE)
    builder = GraphBuilder(recorder, set(), _native.hash_bytes, containers=None)
    builder.hold(obj for _, obj in roots)
    for path, obj in roots:
        builder.add_root(path, obj)
    entries: Entries = {}
    for path, node, digest in builder.entries:
        entries.setdefault(path, (node, digest))
    return entries, dict(builder.objects), recorder.blobs


def check_capture(builder: GraphBuilder,
                  limit: int = CAPTURE_SAMPLE) -> list[tuple[str, str | None, str]]:
    """[(path, type, what differs)] for a sample of the pickled objects new
    in a snapshot (`builder`, just walked): each is pickled again, loaded
    back (its references to other objects resolved to those objects) and
    compared with its own capture, as a restore would compare it."""
    import io
    import pickle

    from .. import _native

    made = dict(builder.objects)
    sample: list[tuple[str, object]] = []
    for obj in builder.keepalive:
        node = builder.nodes.get(id(obj))
        if node is None or node.hash is None or node.hash not in builder.new_hashes:
            continue
        if (made.get(node.hash) or {}).get("kind") == "pickle":
            sample.append((node.path, obj))
    sample.sort(key=lambda item: item[0])
    found: list[tuple[str, str | None, str]] = []
    for path, obj in sample[:limit]:
        recorder = HashingRecorder(_native.hash_bytes, _native.CHUNK_SIZE)
        first = GraphBuilder(recorder, set(), _native.hash_bytes, containers=None)
        first.pickled_refs = {}
        first.add_root(path, obj)
        entries, records = _entries(first), dict(first.objects)
        record = records.get(entries[path][1]) if path in entries else None
        if record is None or record.get("kind") != "pickle":
            continue
        data = recorder.blobs.get(tuple(record.get("chunks") or ()))
        refs = first.pickled_refs.get(path, [])
        extra = record.get("extra") or {}
        buffers = [recorder.blobs.get(tuple(h)) for h in extra.get("buffers") or []]
        if data is None or any(b is None for b in buffers):
            continue

        class _Loader(pickle.Unpickler):
            def persistent_load(self, pid: tuple[str, int],
                                refs: list[object] = refs) -> object:
                return refs[pid[1]]

        try:
            again = _Loader(io.BytesIO(data), buffers=buffers).load()
        except Exception as err:  # noqa: BLE001 - a pickle that does not load back
            found.append((path, record.get("type"),
                          f"does not unpickle: {type(err).__name__}: {err}"))
            continue
        second = GraphBuilder(HashingRecorder(_native.hash_bytes, _native.CHUNK_SIZE), set(),
                              _native.hash_bytes, containers=None)
        second.add_root(path, again)
        blobs = recorder.blobs

        def read(hashes: list[str], blobs: Blobs = blobs) -> bytes:
            return blobs[tuple(hashes)]

        for where, how in compare(entries, records.__getitem__, _entries(second),
                                  dict(second.objects), [path], blobs=second.recorder.blobs,
                                  read_blob=read):
            found.append((where, record.get("type"), how))
    return found


def _entries(builder: GraphBuilder) -> Entries:
    entries: Entries = {}
    for path, node, digest in builder.entries:
        entries.setdefault(path, (node, digest))
    return entries


def canonical_pickle(data: bytes) -> list[object]:
    """What a pickle builds, as a tree of its opcodes, with what only says
    how it was written left out: frames, memo writes, and sharing (a memo
    read is replaced by what built the object: two equal strings or dtypes
    are one object in one process and two in another). Equal lists: the
    same values rebuilt the same way."""
    import pickletools

    mark = object()
    stack: list[Any] = []  # what the ops built: nested lists, values, `mark`
    memo: dict[object, Any] = {}
    # Ops whose result is their first input, changed: memo reads see it whole.
    in_place = {"BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"}
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name in ("FRAME", "PROTO", "STOP"):
            continue
        if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            continue
        if name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
            continue
        if name == "MARK":
            stack.append(mark)
            continue
        segments: list[list[Any]] = []  # what each input popped, last input first
        for item in reversed(op.stack_before):
            if item is pickletools.stackslice:
                continue
            if item is pickletools.markobject:
                at = len(stack) - 1
                while at >= 0 and stack[at] is not mark:
                    at -= 1
                segments.append(stack[at + 1:])
                del stack[max(at, 0):]
            elif stack:
                segments.append([stack.pop()])
        parts = [x for segment in reversed(segments) for x in segment]
        if name in in_place and parts and isinstance(parts[0], list):
            target = parts[0]
            target.extend([*parts[1:], (name,)])
            stack.append(target)
            continue
        built = [*parts, (name, arg)]
        if op.stack_after:
            stack.append(built)
    cache: dict[int, str] = {}
    return [_digest(item, cache, set()) if isinstance(item, list) else item for item in stack]


def _digest(item: list[object], cache: dict[int, str], active: set[int]) -> str:
    """One hash for what built `item` (computed once per object, however
    often the pickle reads it again)."""
    import hashlib

    known = cache.get(id(item))
    if known is not None:
        return known
    if id(item) in active:
        return "cycle"
    active.add(id(item))
    parts = [_digest(x, cache, active) if isinstance(x, list) else repr(x) for x in item]
    active.discard(id(item))
    digest = hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    cache[id(item)] = digest
    return digest


def compare(expected_entries: Entries, expected_record: Callable[[str], JsonObject],
            entries: Entries, records: dict[str, JsonObject], roots: list[str],
            skip: Callable[[str], bool] | None = None, blobs: Blobs | None = None,
            read_blob: Callable[[list[str]], bytes] | None = None,
            chunk_list: Callable[[str], list[str]] | None = None) -> list[tuple[str, str]]:
    """[(path, what differs)] between the snapshot (`expected_entries`
    {path: (node, digest)}, `expected_record(digest)`) and a walk of the
    rebuilt objects (`entries`, `records`), for the paths under `roots`.
    `skip(path)`: paths already reported (missing ones); `chunk_list(root)`:
    the chunks of a large value's chunk-list tree in the store."""
    found: list[tuple[str, str]] = []
    per_root: dict[str, int] = {}

    def add(root: str, path: str, how: str) -> None:
        if skip is not None and skip(path):
            return
        if per_root.get(root, 0) >= _PER_ROOT:
            return
        per_root[root] = per_root.get(root, 0) + 1
        found.append((path, how))

    for root in roots:
        wanted = _under(expected_entries, root)
        have = _under(entries, root)
        # Identity: one node in the snapshot is one node here, and no two are one.
        seen_as: dict[int, tuple[int, str]] = {}
        seen_from: dict[int, tuple[int, str]] = {}
        for path in wanted:
            if path not in have:
                add(root, path, "no longer reachable at this path (the rebuilt object "
                                "holds something else)")
                continue
            old_node, old_digest = expected_entries[path]
            new_node, new_digest = have[path]
            first = seen_as.setdefault(old_node, (new_node, path))
            if first[0] != new_node:
                add(root, path, f"no longer the same object as {first[1]}")
            other = seen_from.setdefault(new_node, (old_node, path))
            if other[0] != old_node:
                add(root, path, f"became the same object as {other[1]}")
            if first[1] != path:
                continue  # an alias: its record was compared at the first path
            new_record = records.get(new_digest)
            how = _record_difference(
                with_chunks(expected_record(old_digest), chunk_list),
                None if new_record is None else with_chunks(
                    new_record, lambda root: _tree_chunks(root, records)),
                blobs, read_blob)
            if how is not None:
                add(root, path, how)
        for path in have:
            if path not in wanted:
                add(root, path, "holds an object the snapshot did not have here")
                break
    return found


def _under(entries: Entries, root: str) -> Entries:
    return {p: v for p, v in entries.items()
            if p == root or (p.startswith(root) and p[len(root)] in ".[{")}


def with_chunks(record: JsonObject,
                chunk_list: Callable[[str], list[str]] | None) -> JsonObject:
    """A large value's record with the chunks of its chunk-list tree in
    `chunks` (as records listed them before issue #16): chunk boundaries are
    the recorder's, so values are compared by their bytes."""
    extra = record.get("extra") or {}
    root = extra.get("chunk_list")
    if chunk_list is None or not isinstance(root, str):
        return record
    return {**record, "chunks": chunk_list(root),
            "extra": {k: v for k, v in extra.items() if k != "chunk_list"}}


def _tree_chunks(root: str, records: dict[str, JsonObject], depth: int = 0) -> list[str]:
    """The chunks of a chunk-list tree whose nodes are in `records`."""
    node = records.get(root) or {}
    out = list(node.get("chunks") or [])
    if depth < 8:
        for child in (node.get("extra") or {}).get("chunk_lists") or []:
            out.extend(_tree_chunks(child, records, depth + 1))
    return out


def normalized(record: JsonObject) -> JsonObject:
    """A record without what derives from content or from children's hashes."""
    # (The store reads a record back with `nbytes` 0 when it had none, and
    # without a null value.)
    out = {k: v for k, v in record.items()
           if k not in _DERIVED and v is not None and not (k == "nbytes" and not v)}
    for key in ("children", "chunks"):
        if not out.get(key):
            out.pop(key, None)
    if out.get("kind") == "array":
        shape = out.get("shape") or []
        extra = dict(out.get("extra") or {})
        if 0 in shape:
            # (An empty array's strides are whatever made it.)
            extra.pop("strides", None)
        elif isinstance(extra.get("strides"), list) and len(extra["strides"]) == len(shape):
            # (Nor does the stride of a dimension of size 1 say anything.)
            extra["strides"] = [0 if n == 1 else st for st, n in zip(extra["strides"], shape)]
        out["extra"] = extra
    out_extra = out.get("extra")
    if isinstance(out_extra, dict) and "attributes" in out_extra and not out_extra["attributes"]:
        # (An object with no attributes, whether or not it has a __dict__ yet.)
        out["extra"] = {k: v for k, v in out_extra.items() if k != "attributes"}
    children = out.get("children")
    if isinstance(children, list):
        out["children"] = [{k: v for k, v in c.items() if k != "hash" and v is not None}
                           if isinstance(c, dict) else c for c in children]
    return out


def _record_difference(old: JsonObject, new: JsonObject | None, blobs: Blobs | None = None,
                       read_blob: Callable[[list[str]], bytes] | None = None) -> str | None:
    if new is None:
        return "not walked again"
    a, b = normalized(old), normalized(new)
    if (a.get("kind") == b.get("kind") and a.get("kind") in ("pickle", "value")
            and blobs is not None and read_blob is not None
            and a.get("chunks") != b.get("chunks")):
        # Stored bytes compared as bytes (a value's chunk boundaries are the
        # recorder's), a pickle's as what it builds.
        data = blobs.get(tuple(b.get("chunks") or ()))
        try:
            if data is not None:
                stored = read_blob(a.get("chunks") or [])
                if stored == data or (a.get("kind") == "pickle" and canonical_pickle(data)
                                      == canonical_pickle(stored)):
                    b["chunks"], b["nbytes"] = a.get("chunks"), a.get("nbytes")
        except Exception:  # noqa: BLE001 - unreadable: compared by hashes
            pass
    old_names = (a.get("extra") or {}).get("attributes")
    new_names = (b.get("extra") or {}).get("attributes")
    if isinstance(old_names, list) and isinstance(new_names, list) and set(old_names) <= set(
            new_names):
        # Unpickling may set what the class had as defaults (a polynomial's
        # domain): none lost.
        b["extra"] = {**b["extra"], "attributes": old_names}
    if a == b:
        return None
    if a.get("kind") != b.get("kind"):
        return f"rebuilt as a {b.get('kind')} record, was a {a.get('kind')}"
    if a.get("type") != b.get("type"):
        return f"rebuilt as {b.get('type')}, was {a.get('type')}"
    for key in ("shape", "dtype"):
        if a.get(key) != b.get(key):
            return f"{key} {b.get(key)}, was {a.get(key)}"
    if a.get("chunks") != b.get("chunks") or a.get("nbytes") != b.get("nbytes"):
        return ("its bytes differ from the snapshot's" if a.get("kind") != "pickle"
                else "pickled again it differs from the snapshot (its pickling is not a "
                     "faithful round trip)")
    if a.get("value") != b.get("value"):
        return "its value differs from the snapshot's"
    old_extra, new_extra = a.get("extra") or {}, b.get("extra") or {}
    for key in sorted(set(old_extra) | set(new_extra)):
        if old_extra.get(key) != new_extra.get(key):
            return f"{key}: {_short(new_extra.get(key))}, was {_short(old_extra.get(key))}"
    old_children, new_children = a.get("children") or [], b.get("children") or []
    old_keys = [c.get("key") for c in old_children if isinstance(c, dict)]
    new_keys = [c.get("key") for c in new_children if isinstance(c, dict)]
    if old_keys != new_keys:
        lost = [str(k) for k in old_keys if k not in new_keys]
        added = [str(k) for k in new_keys if k not in old_keys]
        parts = []
        if lost:
            parts.append("lost " + ", ".join(lost[:5]))
        if added:
            parts.append("gained " + ", ".join(added[:5]))
        return "its contents " + ("; ".join(parts) if parts else "are in another order")
    for old_child, new_child in zip(old_children, new_children):
        if old_child != new_child:
            return f"its element {old_child.get('key')!r} differs"
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "its record differs (" + ", ".join(changed) + ")"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
