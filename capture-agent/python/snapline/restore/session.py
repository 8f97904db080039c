"""Bring a snapshot back into this interpreter: the run's working directory,
argv and sys.path; the script's imports, functions, classes and settings
(see rerun.py); then its variables, with their identity graph; then the
random states.

A snapshot from elsewhere (an imported run) or one restored with --safe is
restored in safe mode (restore/safety.py): none of the script's statements
run again but imports of allowlisted modules, and objects whose loading
would run code are withheld."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import types
from collections.abc import Container
from typing import TextIO

from .. import rng
from ..runner import new_main_module
from ..values import JsonObject
from . import rerun
from .rebuild import Missing, Rebuilder, report_failure
from .report import Fidelity, terminal_safe
from .safety import SAFE_MODULES, Policy, audit
from .sandbox import Sandboxed
from .snapshot import RestoreError, Snapshot, frame_prefixes, open_reader


class Session:
    """One snapshot being restored into this process."""

    def __init__(self, store: str, ref: str, *, safe: bool = False, trust: bool = False) -> None:
        """`safe`: restricted mode whatever the run (--safe); `trust`: load
        everything, an imported run's too (--trust). An imported run is
        restored in safe mode unless `trust`."""
        self.reader = open_reader(store)
        self.snapshot = Snapshot(self.reader, ref)
        self.report = Fidelity()
        self.rebuilder: Rebuilder | None = None
        self.roots = self.snapshot.roots()
        self.trust = trust and not safe
        self.sandbox: Sandboxed | None = None  # once sandboxed (sandbox.py)
        self.policy: Policy | None = None
        if safe:
            self.policy = Policy("--safe")
        elif self.imported and not trust:
            self.policy = Policy("a snapshot from elsewhere")

    # -- safety -----------------------------------------------------------------
    @property
    def origin(self) -> JsonObject | None:
        """Where an imported run came from (None: captured here)."""
        origin = self.snapshot.run.get("origin")
        if isinstance(origin, str):  # stored as JSON text
            import json

            try:
                origin = json.loads(origin)
            except ValueError:
                origin = {"host": origin}
        return origin or None

    @property
    def imported(self) -> bool:
        return self.origin is not None

    @property
    def mode(self) -> str:
        """"safe", "trusted" (--trust) or "full" (a local run as it is)."""
        if self.policy is not None:
            return "safe"
        return "trusted" if self.trust else "full"

    def from_where(self) -> str:
        """`imported from HOST (exported by WHO, WHEN)`."""
        origin = self.origin or {}
        text = "imported" + (f" from {origin['host']}" if origin.get("host") else "")
        details = []
        if origin.get("exporter") and origin["exporter"] != "unknown":
            details.append(f"exported by {origin['exporter']}")
        when = origin.get("exported_at")
        if isinstance(when, (int, float)):
            import datetime

            stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
            details.append(stamp.strftime("%Y-%m-%d %H:%M UTC"))
        return text + (f" ({', '.join(details)})" if details else "")

    def trusted(self, code: tuple[str, int] | None = None) -> list[tuple[str, int]]:
        """What --trust loads that safe mode would withhold: [(what, count)].
        `code`: (what, count) of the script's code that runs, listed first."""
        found = audit(self.snapshot, Policy("--trust"))
        if code and code[1]:
            found.insert(0, code)
        return found

    def rerun_code(self) -> tuple[str, int]:
        """(what, count) of the script's statements a restore runs again
        that safe mode would not (count 0 when the source cannot be read)."""
        try:
            defines, settings = self._rerun_statements()
        except (RestoreError, SyntaxError, ValueError):
            return ("", 0)
        count = len([s for s in defines if not _safe_import(s)]) + len(settings)
        return ("statements of the script run again (definitions, settings, imports)", count)

    def announce_trust(self, out: TextIO | None,
                       code: tuple[str, int] | None = None) -> list[tuple[str, int]]:
        """With --trust: writes to `out` (when given) what is about to be
        loaded that safe mode would withhold; returns it."""
        found = self.trusted(code)
        if out is not None:
            if found:
                out.write(f"snapline: --trust: loading {self.snapshot.ref} in full, including "
                          "what safe mode would withhold:\n")
                out.writelines(f"  {count} x {terminal_safe(what)}\n" for what, count in found)
            else:
                out.write(f"snapline: --trust: {self.snapshot.ref} holds nothing safe mode "
                          "would withhold\n")
            out.flush()
        return found

    # -- checks --------------------------------------------------------------
    def check_packages(self) -> None:
        """Every package the snapshot's objects need is importable here."""
        lineage_packages = (self.snapshot.lineage.get("packages") or {})
        import_names = {"scikit-learn": "sklearn"}
        needed = self.snapshot.packages_needed()
        if self.policy is None:
            for dist in lineage_packages:
                needed.setdefault(import_names.get(dist, dist), [])
        # The run's own modules (engine.py beside the script) are found in its
        # directory once the environment is entered; their import says if not.
        local = {name.split(".", 1)[0] for name in (self.snapshot.lineage.get("modules") or {})}
        for module, paths in sorted(needed.items()):
            if module in sys.modules or module in local:
                continue
            if self.policy is not None and module not in SAFE_MODULES:
                continue  # withheld anyway
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                users = ", ".join(sorted({_root_name(p) for p in paths})[:6])
                what = f" (needed by {users})" if users else " (the run imported it)"
                raise RestoreError(
                    f"package {module!r} is not installed in {sys.executable}{what}: install "
                    "it there, or pass --python PATH for an interpreter that has it")

    # -- environment -----------------------------------------------------------
    @property
    def script_path(self) -> str:
        return self.snapshot.lineage.get("script_path") or os.path.abspath(
            self.snapshot.run.get("script") or "script.py")

    def source(self) -> bytes:
        """The script as it ran (stored with the run; the file otherwise).
        A notebook's is its cells up to the snapshot, in the order they ran."""
        cells = self.snapshot.lineage.get("cells")
        if isinstance(cells, list) and cells:
            parts = []
            for cell in cells:
                if cell.get("seq") is None or cell["seq"] > self.snapshot.seq:
                    continue
                # `code`: the Python IPython ran, when it differs from the
                # source as typed (`hash`); `*_chunks`: a source longer than a chunk.
                key = "code" if cell.get("code") else "hash"
                try:
                    parts.append(self.reader.read_blob(cell.get(f"{key}_chunks") or [cell[key]]))
                except Exception as err:  # noqa: BLE001 - name the cell
                    raise RestoreError(f"the source of cell In [{cell.get('execution_count')}] "
                                       f"is not in the store ({err})") from None
            return b"\n".join(parts)
        stored = self.snapshot.script_source()
        if stored is not None:
            return stored
        try:
            with open(self.script_path, "rb") as f:
                return f.read()
        except OSError as err:
            raise RestoreError(f"the script's source is neither in the store nor at "
                               f"{self.script_path} ({err.strerror})") from None

    def enter_environment(self) -> None:
        """The run's working directory, sys.argv and sys.path[0]."""
        lineage = self.snapshot.lineage
        cwd = lineage.get("cwd")
        started_in = os.getcwd()
        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)
        elif cwd:
            self.report.notes.append(f"working directory {cwd} no longer exists; "
                                     f"staying in {os.getcwd()}")
        argv = lineage.get("argv")
        if isinstance(argv, list) and argv:
            sys.argv = [str(a) for a in argv]
        if self.policy is not None:
            # No modules from the run's directory nor the working directory
            # (a file a snapshot managed to write there must never import).
            drop_run_paths([started_in, cwd, os.path.dirname(self.script_path)])
            return
        # A run of `-m package.module` had the working directory first, as python -m does.
        first = (os.getcwd() if lineage.get("module")
                 else os.path.dirname(os.path.realpath(self.script_path)))
        if first not in sys.path[:1]:
            sys.path.insert(0, first)

    def main_module(self) -> types.ModuleType:
        """A fresh `__main__` (pickles of the script's classes look there)."""
        module = new_main_module(self.script_path)
        name = self.snapshot.lineage.get("module")
        if isinstance(name, str) and name:
            # Run with -m: the package its relative imports start from.
            is_package = os.path.basename(self.script_path) == "__main__.py"
            module.__package__ = name if is_package and not name.endswith(".__main__") else (
                name.rpartition(".")[0])
        return module

    def run_statements(self, statements: list[ast.stmt], namespace: dict[str, object]) -> None:
        """Runs re-run statements one by one; an import that fails names
        its package, anything else is reported and skipped."""
        for stmt in statements:
            module = ast.Module(body=[stmt], type_ignores=[])
            try:
                code = compile(module, self.script_path, "exec", dont_inherit=True)
                exec(code, namespace)  # noqa: S102 - the user's own definitions
            except ImportError as err:
                name = getattr(err, "name", None) or str(err)
                raise RestoreError(f"line {stmt.lineno}: cannot import {name!r} in "
                                   f"{sys.executable} ({err}); install it there or pass "
                                   "--python PATH") from None
            except Exception as err:  # noqa: BLE001 - report and go on
                self.report.notes.append(f"re-running line {stmt.lineno} failed: "
                                         f"{type(err).__name__}: {err}")

    # -- objects ---------------------------------------------------------------
    def rebuilder_for(self, namespace: dict[str, object]) -> Rebuilder:
        if self.rebuilder is None:
            self.rebuilder = Rebuilder(self.snapshot, namespace, self.report,
                                       policy=self.policy)
        return self.rebuilder

    def restore_globals(self, namespace: dict[str, object],
                        names: Container[str] | None = None) -> None:
        """Rebuilds the script's global variables (or just `names`) into
        `namespace`."""
        rebuilder = self.rebuilder_for(namespace)
        for name, path in sorted(self.roots.globals.items()):
            if names is not None and name not in names:
                continue
            try:
                namespace[name] = rebuilder.build(path)
                if not self.report.differs(path):
                    self.report.restored.append(name)
            except Missing as err:
                report_failure(self.report, path, err)

    def frame_locals(self, prefix: str, namespace: dict[str, object]) -> dict[str, object]:
        """The rebuilt locals of one captured frame (`train`, `f#2`)."""
        rebuilder = self.rebuilder_for(namespace)
        out: dict[str, object] = {}
        for name, path in sorted(self.roots.frames.get(prefix, {}).items()):
            try:
                out[name] = rebuilder.build(path)
                if not self.report.differs(path):
                    self.report.restored.append(path)
            except Missing as err:
                report_failure(self.report, path, err)
        return out

    def restore_rng(self, namespace: dict[str, object],
                    states: dict[str, str] | None = None) -> None:
        """Sets random, numpy and torch's generators to the snapshot's states."""
        rebuilder = self.rebuilder_for(namespace)
        for name, path in (states if states is not None else self.roots.rng).items():
            try:
                state = rebuilder.build(path)
                rng.set_state(name, state)
            except Missing as err:
                report_failure(self.report, path, err)
            except Exception as err:  # noqa: BLE001 - name it, go on
                self.report.lost(path, f"{type(err).__name__}: {err}")

    def _rerun_statements(self) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """(definitions, settings): the statements restoring runs again."""
        tree = ast.parse(self.source(), self.script_path)
        aliases = rerun.module_aliases(tree)
        # A notebook's lines are its cells': each cell up to the snapshot runs whole.
        limit = None if self.snapshot.lineage.get("cells") else _module_line(self.snapshot.meta)
        defines: list[ast.stmt] = []
        settings: list[ast.stmt] = []
        for stmt in _top_level(tree.body, limit, aliases):
            kind = rerun.rerun_kind(stmt, aliases)
            if kind == "define":
                defines.append(stmt)
            elif kind == "setting":
                settings.append(stmt)
        return defines, settings

    def _safe_note(self) -> str:
        why = self.from_where() if self.imported else "--safe"
        return (f"safe mode ({why}): no code from the run was executed; only its imports of "
                "well-known modules ran, not its functions, classes or settings "
                "(--trust loads everything)")

    # -- a whole interactive state ---------------------------------------------
    def restore_interactive(self, namespace: dict[str, object]) -> Fidelity:
        """For a prompt or a kernel: environment, the script's definitions
        and settings up to the snapshot, its globals, the locals of the
        frames it was in (innermost last, so they win), the random states."""
        # The run's directory first: modules beside the script are importable.
        self.enter_environment()
        self.check_packages()
        namespace.setdefault("__builtins__", __builtins__)
        for path in self.roots.dunders:
            self.report.withhold(path, "a dunder name is never restored as a variable "
                                       "(the capture does not store them)")
        if self.policy is None:
            defines, settings = self._rerun_statements()
            self.run_statements(defines, namespace)
            self.restore_globals(namespace)
            self.run_statements(settings, namespace)
        else:
            self.report.notes.append(self._safe_note())
            try:
                defines, _ = self._rerun_statements()
            except (RestoreError, SyntaxError, ValueError):
                defines = []
            for stmt in defines:
                if not _safe_import(stmt):
                    continue
                try:
                    self.run_statements([stmt], namespace)
                except RestoreError as err:  # what needs it is reported missing
                    self.report.notes.append(str(err))
            self.restore_globals(namespace)
        frames = (self.snapshot.meta.get("position") or {}).get("frames") or []
        shadowed: list[str] = []
        for prefix in frame_prefixes(frames):
            local = self.frame_locals(prefix, namespace)
            shadowed.extend(n for n in local if n in namespace)
            namespace.update(local)
            if local:
                self.report.notes.append(f"the locals of {prefix}() are in scope")
        framework = (self.snapshot.meta.get("position") or {}).get("framework")
        if framework and "trainer" in self.roots.frames:
            # Inside Trainer.train() / fit(): the trainer's model, optimizer,
            # lr_scheduler, trainer_state (frameworks/) are in scope by those names.
            local = self.frame_locals("trainer", namespace)
            namespace.update(local)
            self.report.notes.append(f"the {framework.get('name')} trainer's "
                                     + ", ".join(sorted(local)) + " are in scope")
        if shadowed:
            self.report.notes.append("locals shadow globals: " + ", ".join(sorted(set(shadowed))))
        self.check_roundtrip()
        self.restore_rng(namespace)
        return self.report

    def check_roundtrip(self) -> None:
        """Walks every rebuilt root again with the capture's hashing and
        reports what differs from the snapshot (roundtrip.py)."""
        from . import roundtrip

        rebuilder = self.rebuilder
        if rebuilder is None:
            return
        root_paths = (set(self.roots.globals.values()) | set(self.roots.rng.values())
                      | {p for names in self.roots.frames.values() for p in names.values()})
        roots = []
        # In the capture's order: node numbers count up as the capture walked.
        for path, (node, _) in sorted(self.snapshot.entries.items(), key=lambda e: e[1][0]):
            if path in root_paths and node in rebuilder.by_node:
                roots.append((path, rebuilder.by_node[node]))
        try:
            entries, records, blobs = roundtrip.walk(roots)
            found = roundtrip.compare(self.snapshot.entries, self.snapshot.record, entries,
                                      records, [path for path, _ in roots],
                                      skip=self.report.reported, blobs=blobs,
                                      read_blob=self.reader.read_blob,
                                      chunk_list=self.reader.chunk_list)
        except Exception as err:  # noqa: BLE001 - the check must not stop the restore
            self.report.notes.append(f"the restore check could not run: "
                                     f"{type(err).__name__}: {err}")
            return
        for path, how in found:
            self.report.differs_from_snapshot(_root_name(path), path, how)


def drop_run_paths(dirs: list[object]) -> None:
    """Takes the working directory (`''` and its path) and `dirs` off
    sys.path, so that imports find installed modules only."""
    here = {os.path.realpath(d) for d in [os.getcwd(), *dirs] if isinstance(d, str) and d}
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) not in here]


def _safe_import(stmt: ast.stmt) -> bool:
    """An import of allowlisted modules only (safe mode runs those)."""
    if isinstance(stmt, ast.Import):
        return all(alias.name.split(".", 1)[0] in SAFE_MODULES for alias in stmt.names)
    if isinstance(stmt, ast.ImportFrom):
        return (not stmt.level and stmt.module is not None
                and stmt.module.split(".", 1)[0] in SAFE_MODULES)
    return False


def _root_name(path: str) -> str:
    for i, ch in enumerate(path):
        if ch in ".[{" and i:
            return path[:i]
    return path


def _module_line(meta: JsonObject) -> int | None:
    """The line the module frame was at (None: the script had ended)."""
    if meta.get("trigger") == "exit":
        return None
    frames = (meta.get("position") or {}).get("frames") or []
    for frame in frames:
        if frame.get("name") == "<module>":
            at_line: int | None = frame.get("line")
            return at_line
    last_line: int | None = meta.get("line")
    return last_line


def _top_level(body: list[ast.stmt], limit: int | None,
               aliases: dict[str, str]) -> list[ast.stmt]:
    """Top-level statements (and those in top-level if/try/with bodies)
    that start before `limit`."""
    out: list[ast.stmt] = []
    for stmt in body:
        if limit is not None and stmt.lineno >= limit and not (
                getattr(stmt, "end_lineno", stmt.lineno) >= limit > stmt.lineno):
            break
        inner = rerun._blocks(stmt)
        if inner and rerun.rerun_kind(stmt, aliases) is None:
            for block in inner:
                out.extend(_top_level(block, limit, aliases))
        else:
            out.append(stmt)
    return out


__all__ = ["RestoreError", "Session"]
