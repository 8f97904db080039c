"""Check a rebuilt object against the record it was rebuilt from, so that
nothing is reported as restored when its round trip lost state: its type,
a value's exact JSON (None, -0.0, big ints, bytes...), an array's shape and
dtype, a container's length, the attributes a pickled object had (a class
whose pickling drops some), a closed file's name and mode, an optimizer's
state. Array contents need no check here: the reader verifies every
chunk's hash as it fills the buffer."""

from __future__ import annotations

import json
from typing import Any

from ..attributes import instance_dict
from ..values import encode, type_name


def difference(record: dict[str, Any], obj: Any) -> str | None:
    """How `obj` differs from what `record` describes, or None."""
    kind = record.get("kind")
    extra = record.get("extra") or {}
    expected = record.get("type")
    if expected and kind not in ("reference", "array") and type_name(obj) != expected:
        return f"rebuilt as {type_name(obj)}, was {expected}"
    if kind == "value" and "value" in record:
        try:
            same = _json(encode(obj)) == _json(record["value"])
        except (TypeError, ValueError):
            same = False
        if not same:
            return f"its value came back as {_short(obj)}"
    elif kind == "array":
        # (An array's type is written as torch and numpy spell it: torch.nn.Parameter.)
        if expected and type(obj).__name__ != expected.rsplit(".", 1)[-1]:
            return f"rebuilt as {type(obj).__name__}, was {expected}"
        shape = list(getattr(obj, "shape", ()))
        if record.get("shape") is not None and shape != list(record["shape"]):
            return f"shape {shape}, was {record['shape']}"
        dtype = getattr(getattr(obj, "dtype", None), "name", None) or str(
            getattr(obj, "dtype", "")).removeprefix("torch.")
        if record.get("dtype") and dtype != record["dtype"]:
            return f"dtype {dtype}, was {record['dtype']}"
    elif kind == "container":
        wanted = len(record.get("children") or [])
        if len(obj) != wanted:
            return f"{len(obj)} elements, was {wanted}"
    elif kind == "pickle":
        had = extra.get("attributes")
        now = instance_dict(obj)
        if isinstance(had, list) and isinstance(now, dict):
            # (`_cache`: what pandas' cache_readonly computed, made again on use.)
            lost = [name for name in had if name not in now and name != "_cache"]
            if lost:
                return (f"unpickling left out {', '.join(lost[:6])}"
                        + (" ..." if len(lost) > 6 else "")
                        + " (its class's pickling does not save them)")
    elif kind == "instance" and extra.get("closed_file"):
        info = extra["closed_file"]
        if getattr(obj, "name", None) != info.get("name") or not obj.closed:
            return "not the same closed file"
    elif kind == "instance" and extra.get("torch_optimizer"):
        if len(getattr(obj, "state", ())) != len(extra.get("state_keys") or []):
            return "its per-parameter state did not all come back"
    elif (kind == "reference" and extra.get("source") == "script"
          and getattr(obj, "__qualname__", None) != extra.get("qualname")):
        return f"rebuilt as {getattr(obj, '__qualname__', obj)!r}"
    return None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."
