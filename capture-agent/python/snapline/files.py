"""File objects in a snapshot.

A closed file (what `with open(path) as f:` leaves in `f`) holds no OS
resource: it is saved as its class, name, mode and encoding, and restore
makes a closed file object with the same ones (without touching the file
itself). An open file cannot be saved (its descriptor and position belong
to the process); it is described by name and mode so the report can say
exactly what is missing.
"""

from __future__ import annotations

import io
import os
from typing import Any

from .values import JsonObject

# The classes `open()`, io.StringIO and io.BytesIO make: a closed one of
# these is rebuilt exactly. (A closed socket file or a custom IOBase subclass
# goes through the ordinary paths.)
_CLOSED_KINDS: dict[type, str] = {
    io.TextIOWrapper: "text",
    io.BufferedReader: "buffered",
    io.BufferedWriter: "buffered",
    io.BufferedRandom: "buffered",
    io.FileIO: "raw",
    io.StringIO: "string",
    io.BytesIO: "bytes",
}


def is_closed_file(obj: Any) -> bool:
    """A closed file object of a kind `closed_record` can describe."""
    if type(obj) not in _CLOSED_KINDS:
        return False
    try:
        return bool(obj.closed)
    except Exception:  # noqa: BLE001 - a detached wrapper raises
        return False


def closed_record(obj: Any, class_ref: JsonObject) -> JsonObject:
    """The record of a closed file (graph.py's `instance` kind, no children)."""
    name = _name(obj)
    mode = getattr(obj, "mode", None)
    info = {
        "kind": _CLOSED_KINDS[type(obj)],
        "name": name,
        "mode": mode if isinstance(mode, str) else None,
        "encoding": getattr(obj, "encoding", None),
        "errors": getattr(obj, "errors", None),
    }
    what = f"closed file {name!r}" if name is not None else f"closed {type(obj).__name__}"
    if info["mode"]:
        what += f" (mode {info['mode']!r})"
    return {"kind": "instance", "type": f"_io.{type(obj).__name__}", "restorable": True,
            "preview": f"<{what}>", "extra": {"class": class_ref, "closed_file": info}}


def open_file_reason(obj: Any) -> str:
    """Why an open file is not saved, naming it."""
    name = _name(obj)
    mode = getattr(obj, "mode", None)
    what = f"an open file {name!r}" if name is not None else "an open file"
    if isinstance(mode, str):
        what += f" (mode {mode!r})"
    return (f"{what}: its OS file handle and position cannot be saved; it is left out "
            "(`--resume --force` runs the statement that opened it again)")


def rebuild_closed(info: JsonObject) -> Any:
    """A closed file object of the same class, name, mode and encoding. It is
    made over os.devnull (whose name is then replaced): the file it named is
    not opened, created or truncated."""
    kind = info.get("kind")
    mode = info.get("mode") or ""
    name = info.get("name")
    if kind in ("string", "bytes"):
        f: Any = io.StringIO() if kind == "string" else io.BytesIO()
        f.close()
        return f
    raw_mode = "".join(ch for ch in mode.replace("x", "w") if ch in "rwa+") or "r"
    raw = io.FileIO(os.devnull, raw_mode)
    if name is not None:
        raw.name = name
    if kind == "raw":
        raw.close()
        return raw
    if "+" in raw_mode:
        buffered: Any = io.BufferedRandom(raw)
    elif "r" in raw_mode:
        buffered = io.BufferedReader(raw)
    else:
        buffered = io.BufferedWriter(raw)
    if kind == "buffered":
        buffered.close()
        return buffered
    text = io.TextIOWrapper(buffered, encoding=info.get("encoding") or "utf-8",
                            errors=info.get("errors") or "strict")
    text.mode = mode  # type: ignore[misc]  # read-only in typeshed, settable on TextIOWrapper
    text.close()
    return text


def _name(obj: Any) -> Any:
    try:
        name = obj.name
    except Exception:  # noqa: BLE001 - StringIO and BytesIO have none
        return None
    return name if isinstance(name, (str, int)) else None
