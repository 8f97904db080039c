"""Big containers of immutable items that did not change since the last
snapshot, known by identity instead of walked again (issue #16: a notebook
cell's end re-encoded and re-hashed ~26,000 unchanged strings each time).

After the walk stores an exact list, tuple, dict, set or frozenset of at
least `REMEMBER_FROM` items as one value record, and all its items (a
dict's keys and values) are exact immutable atoms (str, int, float, bool,
None, bytes, complex, numpy's numbers, or tuples of those) or lists, dicts
and sets of such (a table of rows, nested as `values.is_plain_value`
allows), `remember` keeps the container, a tuple of its atoms (an inner
container as a marker and its length, then its own items) and the record's
hash. At the next snapshot, `digest` answers that hash when the same
container (held alive here, so its id cannot have been reused) still holds
the very same atom objects in the same places, and each inner container is
still held by its container alone (compared by address in Rust:
`_native.same_items`). Immutable items that are the same objects have the
same values, so the record is the same; anything else is walked as before.

Memory: the entries of one snapshot (those walked or found again in it),
at most `REMEMBER_AT_MOST` item references over all of them; at the start
of the next snapshot entries not found again in the last one are dropped,
and so is any container nothing but this cache holds any more.
"""

from __future__ import annotations

import sys
from collections.abc import Sized
from typing import Callable, cast

# Smaller containers cost little to walk (and plain_values.rs hashes the
# small ones in Rust); remembering them would only add bookkeeping. From 8:
# the rows of a table walked row by row (a loop variable holds one of them)
# are found unchanged too, where describing a row of numpy numbers again
# cost 60 us (bench/RESULTS.md, "Sixth pass").
REMEMBER_FROM = 8
# Item references remembered over all containers (8 bytes each, plus the
# items they keep alive one snapshot longer at most).
REMEMBER_AT_MOST = 4_000_000

TYPES = (list, tuple, dict, set, frozenset)

# (container, its items as _native.immutable_items made them, record hash)
Entry = tuple[object, tuple[object, ...], str]
# (_native.immutable_items, _native.same_items)
Native = tuple[Callable[[object], 'tuple[object, ...] | None'],
               Callable[[object, object], bool]]


class UnchangedContainers:
    """Containers remembered from one snapshot to the next, by id."""

    def __init__(self) -> None:
        self._before: dict[int, Entry] = {}
        self._now: dict[int, Entry] = {}
        self._items_now = 0
        self._native: Native | None = _native_functions()
        # numpy's scalar types are named to the extension as immutable once
        # the program has imported numpy (`_name_numpy_scalars`).
        self._numpy_named = False

    def start_snapshot(self) -> None:
        """A new snapshot begins: what the last one walked or found again is
        what this one may find; containers only this cache still holds are
        let go."""
        before, self._now, self._items_now = self._now, {}, 0
        self._before = _held_elsewhere(before, _held_here())

    def digest(self, obj: object) -> str | None:
        """The record hash remembered for `obj` when it still holds the same
        items, else None."""
        if self._native is None:
            return None
        known = self._before.pop(id(obj), None)
        if known is None or known[0] is not obj or not self._native[1](obj, known[1]):
            return None
        self._keep(known)
        return known[2]

    def remember(self, obj: object, digest: str) -> None:
        """`obj` was just walked to a value record hashing to `digest`."""
        if self._native is None or type(obj) not in TYPES:
            return
        size = len(cast(Sized, obj))
        if size < REMEMBER_FROM or self._items_now + size > REMEMBER_AT_MOST:
            return
        if not self._numpy_named:
            self._numpy_named = _name_numpy_scalars()
        items = self._native[0](obj)
        if items is not None:
            self._keep((obj, items, digest))

    def holds(self, obj: object) -> bool:
        """This cache keeps a reference to `obj` (as a remembered container:
        one more in its reference count)."""
        entry = self._now.get(id(obj)) or self._before.get(id(obj))
        return entry is not None and entry[0] is obj

    def _keep(self, entry: Entry) -> None:
        if self._items_now + len(entry[1]) > REMEMBER_AT_MOST:
            return
        self._now[id(entry[0])] = entry
        self._items_now += len(entry[1])

    def __len__(self) -> int:
        return len(self._now)


def _native_functions() -> Native | None:
    """(`immutable_items`, `same_items`) of the extension, or None (an older one)."""
    try:
        from ._native import immutable_items, same_items
    except ImportError:
        return None
    return immutable_items, same_items


# numpy's number types (`values.is_atomic` takes those of kinds b, i, u, f
# and c): a scalar of one never changes, like a Python float.
_NUMPY_SCALARS = ("bool_", "byte", "short", "intc", "int_", "longlong", "int8", "int16", "int32",
                  "int64", "ubyte", "ushort", "uintc", "uint", "ulonglong", "uint8", "uint16",
                  "uint32", "uint64", "float16", "float32", "float64", "longdouble", "complex64",
                  "complex128", "clongdouble")


def _name_numpy_scalars() -> bool:
    """Names numpy's number types to the extension as immutable; False
    until the program has imported numpy (never imported here)."""
    np = sys.modules.get("numpy")
    if np is None:
        return False
    try:
        from ._native import immutable_scalar_types
    except ImportError:  # an older extension: containers of them are walked
        return True
    types: list[type] = []
    for name in _NUMPY_SCALARS:
        t = getattr(np, name, None)
        if isinstance(t, type) and t not in types:
            types.append(t)
    if types:
        immutable_scalar_types(types)
    return True


def _held_elsewhere(entries: dict[int, Entry], limit: int) -> dict[int, Entry]:
    """The entries whose container's reference count is above `limit`."""
    return {key: entry for key, entry in entries.items() if sys.getrefcount(entry[0]) > limit}


_held_here_cache: list[int] = []


def _held_here() -> int:
    """The reference count `_held_elsewhere` sees for a container that only
    its entry holds (measured, as interpreters differ)."""
    if not _held_here_cache:
        count = next(n for n in range(1, 16) if not _held_elsewhere({0: ([], (), "")}, n))
        _held_here_cache.append(count)
    return _held_here_cache[0]


# The cache the agent's snapshots share (graph.GraphBuilder's default).
SNAPSHOTS = UnchangedContainers()
