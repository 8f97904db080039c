"""Tagged JSON for plain immutable values, and short previews.

Values (numbers, strings, and tuples/lists/dicts/sets made only of them) are
stored as JSON so that inspecting a snapshot never needs pickle. JSON has no
tuples, sets, bytes, big ints or non-finite floats, so those carry a tag:
``{"$tuple": [...]}``, ``{"$set": [...]}``, ``{"$frozenset": [...]}``,
``{"$bytes": "<base64>"}``, ``{"$str": "<base64 of UTF-8, surrogates kept>"}`` (a
string with lone surrogates), ``{"$int": "<decimal>"}``, ``{"$float": "nan"}``,
``{"$complex": [re, im]}``, ``{"$np": "<dtype>", "v": <value>}``, and every
dict is ``{"$dict": [[key, value], ...]}``. docs/store-format.md has the table.
"""

from __future__ import annotations

import binascii
import itertools
import math
import reprlib
import sys
from collections.abc import Iterable
from typing import Any

#: A JSON object as the store holds it: an object record, its `extra`,
#: a run's lineage, a snapshot's meta.
JsonObject = dict[str, Any]

# Strings and bytes longer than this are not "plain values" inside containers.
INLINE_TEXT_LIMIT = 4096
# Pure-value containers with more elements than this are still one value
# (a list of a million losses is one value), just stored in chunks.
_ATOMIC_TYPES = (type(None), bool, int, float, complex, str, bytes)

class _PreviewRepr(reprlib.Repr):
    """reprlib's short repr, less the cost of formatting arrays: an array
    or tensor inside a container (an optimizer's state, a batch tuple)
    shows its shape and dtype, not its formatted values (torch's repr of a
    128x32 tensor took a millisecond, and an epoch snapshot of a small
    model made dozens of them)."""

    def repr_instance(self, x: object, level: int) -> str:
        short = _array_text(x)
        return short if short is not None else super().repr_instance(x, level)

    # reprlib sorts a whole dict or set to show its first few items: the
    # preview of a 3,000-word vocabulary took 159 us, an eighth of each
    # snapshot that changed it, and takes 10 us this way (bench/RESULTS.md,
    # "Sixth pass"). A dict shows its first items in insertion order, as
    # repr() does; a large set its first items in iteration order (a small
    # one is still sorted).

    # Items are rendered only until the text passes PREVIEW_CHARS, where
    # `preview` cuts it: the text it returns is the same, and an Adam
    # optimizer's state (a dict of dicts of tensors) took 142 us (31 us now)
    # to render eight items of which one and a half were shown (issue #16).

    def repr_dict(self, x: dict[object, object], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        repr1 = self.repr1
        pieces = _until_cut(f"{repr1(key, level - 1)}: {repr1(value, level - 1)}"
                            for key, value in itertools.islice(x.items(), self.maxdict))
        return "{" + _joined(pieces, len(x)) + "}"

    def repr_list(self, x: list[object], level: int) -> str:
        return self._sequence(x, level, "[", "]", self.maxlist)

    def repr_tuple(self, x: tuple[object, ...], level: int) -> str:
        return self._sequence(x, level, "(", ")", self.maxtuple, ",")

    def _sequence(self, x: list[object] | tuple[object, ...], level: int, left: str, right: str,
                  most: int, trail: str = "") -> str:
        """As reprlib's `_repr_iterable` (one line)."""
        if level <= 0 and x:
            return left + "..." + right
        repr1 = self.repr1
        pieces = _until_cut(repr1(item, level - 1) for item in itertools.islice(x, most))
        return left + _joined(pieces, len(x)) + (trail if len(x) == 1 else "") + right

    def repr_set(self, x: set[object], level: int) -> str:
        return self._set(x, level, "{", "}") if x else "set()"

    def repr_frozenset(self, x: frozenset[object], level: int) -> str:
        return self._set(x, level, "frozenset({", "})") if x else "frozenset()"

    def _set(self, x: set[object] | frozenset[object], level: int, left: str, right: str) -> str:
        if level <= 0:
            return left + "..." + right
        if len(x) <= SORTED_PREVIEW_UP_TO:
            try:
                items = sorted(x)  # type: ignore[type-var]
            except Exception:  # noqa: BLE001 - unorderable items: iteration order
                items = list(x)
        else:
            items = list(itertools.islice(x, self.maxset))
        pieces = _until_cut(self.repr1(item, level - 1) for item in items[:self.maxset])
        return left + _joined(pieces, len(x)) + right


# A set up to this size is previewed sorted (when its items sort).
SORTED_PREVIEW_UP_TO = 64


# `preview` cuts a text longer than this.
PREVIEW_CHARS = 200


def _until_cut(pieces: Iterable[str]) -> list[str]:
    """The pieces, up to the first that takes their text (with ", "
    between) past PREVIEW_CHARS; `_joined` adds "..." for the rest."""
    taken: list[str] = []
    length = 0
    for piece in pieces:
        taken.append(piece)
        length += len(piece) + 2
        if length > PREVIEW_CHARS:
            break
    return taken


def _joined(pieces: list[str], total: int) -> str:
    """The items shown, and "..." for those left out (as reprlib writes them)."""
    return ", ".join(pieces + ["..."] if total > len(pieces) else pieces)


def _array_text(x: object) -> str | None:
    """`tensor(shape=[128, 32], dtype=float32)` (a one-element one: its
    value), or None when `x` is not a numpy array or torch tensor."""
    modules = sys.modules
    torch = modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        name, dtype = "tensor", str(x.dtype).replace("torch.", "")
    else:
        np = modules.get("numpy")
        if np is None or not isinstance(x, np.ndarray):
            return None
        name, dtype = "array", str(x.dtype)
    try:
        shape = list(x.shape)
        on_host = name == "array" or x.device.type == "cpu"
        if on_host and shape in ([], [1]):
            # A tensor's `item()` at once (4 us less than indexing first); an
            # array is indexed first, so that an object array's element
            # (which has no `item()`) shows as `array(...)`, not its whole repr.
            value = x.item() if name == "tensor" else x.reshape(-1)[0].item()
            return f"{name}({value!r})"
        return f"{name}(shape={shape}, dtype={dtype})"
    except Exception:  # noqa: BLE001 - preview is cosmetic
        return f"{name}(...)"


_preview = _PreviewRepr()
_preview.maxstring = 80
_preview.maxother = 80
_preview.maxlist = 8
_preview.maxtuple = 8
_preview.maxdict = 8
_preview.maxset = 8
_preview.maxlevel = 3

_np = None


def _numpy() -> Any:
    """numpy if the program imported it; we never import it ourselves. (Not
    found is not remembered: a program imports numpy after its first
    snapshots, and its numbers are atoms from then on.)"""
    global _np
    if _np is None:
        _np = sys.modules.get("numpy")
    return _np


def is_atomic(obj: Any) -> bool:
    """A single immutable value whose identity never matters."""
    t = type(obj)
    if t in (str, bytes):
        return len(obj) <= INLINE_TEXT_LIMIT
    if t in _ATOMIC_TYPES:
        return True
    np = _numpy()
    return np is not None and isinstance(obj, np.generic) and obj.dtype.kind in "biufc"


def is_plain_value(obj: Any, depth: int = 0) -> bool:
    """True for atomics and for tuples/lists/dicts/sets made only of atomics
    (nested at most 3 deep), which are stored as one JSON value."""
    if is_atomic(obj):
        return True
    if depth >= 3:
        return False
    t = type(obj)
    if t in (list, tuple, set, frozenset):
        return all(is_plain_value(x, depth + 1) for x in obj)
    if t is dict:
        return all(is_atomic(k) and is_plain_value(v, depth + 1) for k, v in obj.items())
    return False


def encode(obj: Any) -> Any:
    """The tagged JSON of a plain value."""
    t = type(obj)
    if t is str:
        return obj if _utf8(obj) else {"$str": _surrogates(obj)}
    if obj is None or t is bool:
        return obj
    if t is int:
        return obj if -(2**53) < obj < 2**53 else {"$int": str(obj)}
    if t is float:
        return obj if math.isfinite(obj) else {"$float": repr(obj)}
    if t is list:
        return [encode(x) for x in obj]
    if t is tuple:
        return {"$tuple": [encode(x) for x in obj]}
    if t is dict:
        return {"$dict": [[encode(k), encode(v)] for k, v in obj.items()]}
    if t is set or t is frozenset:
        items = [encode(x) for x in obj]
        try:
            items.sort(key=repr)
        except Exception:  # noqa: BLE001 - ordering is cosmetic
            pass
        return {"$" + t.__name__: items}
    if t is bytes:
        return {"$bytes": binascii.b2a_base64(obj, newline=False).decode("ascii")}
    if t is complex:
        return {"$complex": [encode(obj.real), encode(obj.imag)]}
    np = _numpy()
    if np is not None and isinstance(obj, np.generic):
        return {"$np": obj.dtype.name, "v": encode(obj.item())}
    if isinstance(obj, str):  # str subclass used as a key
        return encode(str(obj))
    raise TypeError(f"not a plain value: {t.__name__}")


def scalar_number(obj: Any) -> float | None:
    """The float value of a numeric scalar (int, float, numpy number), else None."""
    t = type(obj)
    if t is float or t is int:
        return float(obj)
    np = _numpy()
    if np is not None and isinstance(obj, np.generic) and obj.dtype.kind in "iuf":
        return float(obj)
    return None


def scalar_stats(value: float) -> JsonObject:
    """Stats of a single number, in the same shape as an array's."""
    finite = math.isfinite(value)
    return {
        "count": 1,
        "nan": int(math.isnan(value)),
        "posinf": int(value == math.inf),
        "neginf": int(value == -math.inf),
        "min": value if finite else None,
        "max": value if finite else None,
        "mean": value if finite else None,
        "l2": abs(value) if finite else None,
    }


def preview(obj: Any) -> str:
    """A short, safe repr (never raises, never very long)."""
    try:
        text = _preview.repr(obj)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not stop capture
        text = f"<{type(obj).__name__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 3] + "..."


def type_name(obj: Any) -> str:
    t = type(obj)
    module = getattr(t, "__module__", "builtins")
    qual = getattr(t, "__qualname__", t.__name__)
    return qual if module == "builtins" else f"{module}.{qual}"


def key_suffix(key: Any) -> str:
    """How a container key appears in a path: ["W1"], [3], [(1, 2)]."""
    import json

    if type(key) is str:
        if key.isascii() and key.isprintable() and '"' not in key and "\\" not in key:
            return '["' + key + '"]'  # what json.dumps gives, without its cost
        if not _utf8(key):  # lone surrogates: escaped (a path is UTF-8 text)
            key = key.encode("utf-8", "backslashreplace").decode("utf-8")
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    if type(key) is int:
        return f"[{key}]"
    return "[" + preview(key) + "]"


def _utf8(text: str) -> bool:
    """Whether `text` is valid UTF-8 text (no lone surrogates, which JSON
    readers refuse: a file name decoded with surrogateescape has them)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogates(text: str) -> str:
    return binascii.b2a_base64(text.encode("utf-8", "surrogatepass"), newline=False).decode("ascii")


def decode(value: Any) -> Any:
    """The Python value of tagged JSON (the inverse of :func:`encode`)."""
    if isinstance(value, list):
        return [decode(x) for x in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$tuple":
            return tuple(decode(x) for x in inner)
        if tag == "$dict":
            return {_hashable(decode(k)): decode(v) for k, v in inner}
        if tag == "$set":
            return {_hashable(decode(x)) for x in inner}
        if tag == "$frozenset":
            return frozenset(_hashable(decode(x)) for x in inner)
        if tag == "$bytes":
            return binascii.a2b_base64(inner)
        if tag == "$str":
            return binascii.a2b_base64(inner).decode("utf-8", "surrogatepass")
        if tag == "$int":
            return int(inner)
        if tag == "$float":
            return float(inner)
        if tag == "$complex":
            return complex(decode(inner[0]), decode(inner[1]))
    if "$np" in value:
        import numpy as np

        return np.dtype(value["$np"]).type(decode(value.get("v")))
    # An untagged object (older records): a dict with string keys.
    return {k: decode(v) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
