"""Rebuild the script's own functions that re-running its definitions does
not bring back: those defined in a loop body or inside another function (an
LBFGS `closure` written in the training loop, the inner function a
scheduler factory returns). The code object comes from the script's source
as it ran (stored with the run) at the def's line; closure cells, defaults,
keyword defaults and attributes from the snapshot (graph.py's `_function`);
the globals are the restored `__main__`'s. Two functions that shared a cell
share one again."""

from __future__ import annotations

import os
import types
from typing import Any

from .missing import Missing


class ScriptCode:
    """The code objects of the script as it ran, by (name, first line)."""

    def __init__(self, snapshot: Any) -> None:
        self.snapshot = snapshot
        self.path = snapshot.lineage.get("script_path") or ""
        self._codes: dict[tuple[str, int], list[types.CodeType]] | None = None
        self.changed_since = False  # the file on disk differs from the stored source
        self.error: str | None = None

    def _load(self) -> dict[tuple[str, int], list[types.CodeType]]:
        if self._codes is not None:
            return self._codes
        self._codes = {}
        stored = self.snapshot.script_source()
        try:
            with open(self.path, "rb") as f:
                current: bytes | None = f.read()
        except OSError:
            current = None
        source = stored if stored is not None else current
        if source is None:
            self.error = f"the script's source is neither in the store nor at {self.path}"
            return self._codes
        self.changed_since = current is not None and stored is not None and current != stored
        try:
            stack = [compile(source, self.path, "exec", dont_inherit=True)]
        except SyntaxError as err:
            self.error = f"the script's source does not compile ({err})"
            return self._codes
        while stack:
            code = stack.pop()
            key = (code.co_name, code.co_firstlineno)
            self._codes.setdefault(key, []).append(code)
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        return self._codes

    def find(self, name: str, line: int, qualname: str) -> types.CodeType:
        codes = self._load()
        if self.error:
            raise Missing(self.error)
        found = codes.get((name, line)) or []
        if len(found) > 1:  # two lambdas on one line: the qualified name decides
            found = [c for c in found if getattr(c, "co_qualname", qualname) == qualname] or found
        if not found:
            raise Missing(f"the script has no def of {name}() at line {line} any more "
                          f"({os.path.basename(self.path)} changed since the run)")
        return found[0]


def defined_again(namespace: dict[str, Any], extra: dict[str, Any]) -> Any:
    """The function re-running the script's top-level `def` made, when it is
    the same def (same name and line); else None."""
    found: Any = namespace
    for part in (extra.get("qualname") or "").split("."):
        found = found.get(part) if isinstance(found, dict) else getattr(found, part, None)
        if found is None:
            return None
    code = getattr(found, "__code__", None)
    if (code is not None and code.co_firstlineno == extra.get("line")
            and code.co_name == extra.get("name")):
        return found
    return None


def rebuild(rebuilder: Any, path: str, node: int, record: dict[str, Any],
            script: ScriptCode) -> Any:
    """The function of `record` (kind reference, `source: script`), as a
    node of `rebuilder`: made first with empty cells, then filled (a
    closure that refers to itself is a cycle)."""
    extra = record.get("extra") or {}
    name, line = extra.get("name") or "", int(extra.get("line") or 0)
    qualname = extra.get("qualname") or name
    code = script.find(name, line, extra.get("code_qualname") or qualname)
    freevars = list(extra.get("freevars") or [])
    if list(code.co_freevars) != freevars:
        raise Missing(f"the closure of {qualname}() holds {freevars}, the source's "
                      f"{list(code.co_freevars)}: the script changed since the run")
    shared = extra.get("shared_cells") or {}
    cells = []
    fresh = set()
    for var in freevars:
        key = shared.get(var) or rebuilder._child_path(path, f'.__closure__["{var}"]')
        cell = rebuilder.cells.get(key)
        if cell is None:
            cell = rebuilder.cells[key] = types.CellType()
            fresh.add(var)
        cells.append(cell)
    fn = types.FunctionType(code, rebuilder.namespace, name, None, tuple(cells) or None)
    fn.__qualname__ = qualname
    rebuilder._done(node, fn)
    by_var = dict(zip(freevars, cells))
    for child in record.get("children") or []:
        key = child["key"]
        value = rebuilder._child_or_none(path, child, key)
        if key == ".__defaults__":
            fn.__defaults__ = value
        elif key == ".__kwdefaults__":
            fn.__kwdefaults__ = value
        elif key.startswith('.__closure__["'):
            var = key[len('.__closure__["'):-2]
            if var in fresh:
                by_var[var].cell_contents = value
        elif key.startswith("."):
            setattr(fn, key[1:], value)
    if script.changed_since:
        rebuilder.report.rebuilt_as(path, f"{qualname}() from the script as it ran (stored "
                                    f"with the run); {os.path.basename(script.path)} has "
                                    "changed since, so tracebacks show other lines")
    return fn
