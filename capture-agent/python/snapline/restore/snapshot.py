"""One stored snapshot as restore sees it: its meta, its run, its entries
(path -> node, hash) and object records, read through the Rust reader."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

_GLOBAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOCAL = re.compile(r"^([A-Za-z_<>][A-Za-z0-9_<>]*(?:#\d+)?):([A-Za-z_][A-Za-z0-9_]*)$")
_RNG = re.compile(r"^\$rng\.(\w+)$")
_LOOP_RNG = re.compile(r"^\$loop(\d+)\.rng\.(\w+)$")


class RestoreError(Exception):
    """A snapshot cannot be restored at all (the message says why and what to do)."""


@dataclass
class Roots:
    """The snapshot's root paths, by role."""

    globals: dict[str, str] = field(default_factory=dict)  # name -> path
    frames: dict[str, dict[str, str]] = field(default_factory=dict)  # frame prefix ("train", "f#2") -> {name: path}
    rng: dict[str, str] = field(default_factory=dict)  # "random"/"numpy"/"torch"/"torch_cuda" -> path
    loop_rng: dict[int, dict[str, str]] = field(default_factory=dict)  # loop depth -> {name: path}
    # Dunder names (`__builtins__`, `f:__class__`): the capture never stores
    # them, so one is forged; never restored as a variable.
    dunders: list[str] = field(default_factory=list)


def open_reader(store: str) -> Any:
    from .. import _native

    path = os.path.abspath(store)
    if not os.path.isdir(path):
        raise RestoreError(f"no Snapline store at {path} (pass --store DIR, or run a script "
                           "with `snapline run` first)")
    try:
        return _native.Reader(path)
    except _native.ReadError as err:
        raise RestoreError(str(err)) from None


def frame_prefixes(frames: list[dict[str, Any]]) -> list[str]:
    """`func`, `func#2`... for each function frame, outermost first (the
    names the agent gives their locals)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for frame in frames:
        name = str(frame.get("name", ""))
        if name == "<module>":
            continue
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


class Snapshot:
    """A resolved snapshot (`RUN@SEQ`) of a store."""

    def __init__(self, reader: Any, name: str) -> None:
        from .. import _native

        self.reader = reader
        self.name = name
        try:
            self.run_id, self.seq = reader.resolve(name)
            self.meta = json.loads(reader.snapshot(self.run_id, self.seq))
            self.run = json.loads(reader.run(self.run_id))
            rows = reader.entries(self.run_id, self.seq)
        except _native.ReadError as err:
            raise RestoreError(str(err)) from None
        self.entries = {path: (node, digest) for path, node, digest in rows}
        self._records: dict[str, dict[str, Any]] = {}

    @property
    def ref(self) -> str:
        return f"{self.run_id}@{self.seq}"

    @property
    def where(self) -> str:
        """What took the snapshot and where: `iteration at line 12`, `exit at
        the end of the script` (an exit snapshot has no line)."""
        trigger = self.meta.get("trigger") or "snapshot"
        line = self.meta.get("line")
        if line is None:
            return f"{trigger} at the end of the script" if trigger == "exit" else trigger
        return f"{trigger} at line {line}"

    @property
    def lineage(self) -> dict[str, Any]:
        lineage: dict[str, Any] = self.run.get("lineage") or {}
        return lineage

    def record(self, digest: str) -> dict[str, Any]:
        """The object record with this hash (DamagedError when missing)."""
        found: dict[str, Any] | None = self._records.get(digest)
        if found is None:
            found = json.loads(self.reader.object(digest))
            self._records[digest] = found
        return found

    def roots(self) -> Roots:
        roots = Roots()
        for path in self.entries:
            name = path.rpartition(":")[2] if _LOCAL.match(path) else path
            if _GLOBAL.match(name) and name.startswith("__") and name.endswith("__"):
                roots.dunders.append(path)
                continue
            if _GLOBAL.match(path):
                roots.globals[path] = path
                continue
            m = _LOCAL.match(path)
            if m:
                roots.frames.setdefault(m.group(1), {})[m.group(2)] = path
                continue
            m = _RNG.match(path)
            if m:
                roots.rng[m.group(1)] = path
                continue
            m = _LOOP_RNG.match(path)
            if m:
                roots.loop_rng.setdefault(int(m.group(1)), {})[m.group(2)] = path
        return roots

    def script_source(self) -> bytes | None:
        """The script's source as it ran (stored with the run), or None."""
        digest = self.lineage.get("script_hash")
        if not digest:
            return None
        try:
            return bytes(self.reader.read_blob([digest]))
        except Exception:  # noqa: BLE001 - older runs, or a damaged chunk: use the file
            return None

    def packages_needed(self) -> dict[str, list[str]]:
        """Top-level module -> the root paths whose objects need it."""
        needed: dict[str, list[str]] = {}
        for path, (_, digest) in self.entries.items():
            try:
                record = self.record(digest)
            except Exception:  # noqa: BLE001 - reported when rebuilding
                continue
            modules = set()
            kind = record.get("kind")
            type_name = record.get("type") or ""
            if kind in ("array", "pickle", "instance") and "." in type_name:
                modules.add(type_name.split(".", 1)[0])
            extra = record.get("extra") or {}
            cls = extra.get("class") or {}
            if cls.get("module"):
                modules.add(cls["module"].split(".", 1)[0])
            if kind == "reference" and extra.get("module"):
                modules.add(extra["module"].split(".", 1)[0])
            if kind == "reference" and extra.get("ref") == "module" and extra.get("qualname"):
                modules.add(extra["qualname"].split(".", 1)[0])
            for module in modules - {"__main__", "builtins"}:
                needed.setdefault(module, []).append(path)
        return needed
