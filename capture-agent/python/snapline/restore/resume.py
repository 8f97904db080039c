"""`snapline restore RUN@SEQ --resume`: continue the script from a snapshot,
captured as a new run whose parent is RUN@SEQ.

continuation.py builds the code; this module checks first whether the
result can be exact (and stops unless --force when it cannot), then runs it
through the same runner as `snapline run`, with the hooks below installed
as `__snapline_resume__`."""

from __future__ import annotations

import difflib
import json
import os
import sys
import types
from typing import Any

from .. import rng
from ..agent import resumed_options
from ..rewrite import LoopInfo
from ..runner import ResumeAborted, run
from ..values import JsonObject
from . import continuation
from .session import Session
from .snapshot import RestoreError, frame_prefixes


class Resumer:
    """The hooks a continuation calls (see continuation.py and rewrite.py)."""

    def __init__(self, session: Session, plan: continuation.Plan, force: bool) -> None:
        self.session = session
        self.plan = plan
        self.force = force
        self.namespace: dict[str, object] = {}
        self.pending = [frame.key for frame in plan.frames]
        self.prefixes = {frame.key: frame.prefix for frame in plan.frames}
        self.locals: dict[int, dict[str, object]] = {}  # frame key -> its rebuilt locals
        self.live: list[tuple[str, object]] = []  # random states to set back after a skip
        self.entry: dict[int, list[tuple[str, object]] | None] = {}  # loop key -> entry states
        self.started = False

    # -- state ------------------------------------------------------------------
    def restore_globals(self) -> None:
        self.session.restore_globals(self.namespace)
        self._check("the script's variables")

    def frame(self, key: int) -> bool:
        """True for the one call that re-enters frame `key` (in order)."""
        if self.pending and self.pending[0] == key:
            self.pending.pop(0)
            self.locals[key] = self.session.frame_locals(self.prefixes[key], self.namespace)
            self._check(f"the locals of {self.prefixes[key]}()")
            return True
        return False

    def has(self, key: int, name: str) -> bool:
        return name in self.locals.get(key, {})

    def local(self, key: int, name: str) -> Any:
        return self.locals[key][name]

    def ready(self) -> None:
        """The innermost frame is about to continue: set the random states
        and say where the run goes on."""
        self.session.restore_rng(self.namespace)
        self._check("the random states")
        self.started = True
        snap = self.session.snapshot
        report = self.session.report
        if report.rebuilt or report.missing:
            sys.stderr.write(report.render(f"snapline: state of {snap.ref}:") + "\n")
        sys.stderr.flush()

    def _check(self, what: str) -> None:
        if self.session.report.missing and not self.force:
            lines = "\n".join(f"  {p}: {r}" for p, r in self.session.report.missing)
            raise ResumeAborted(f"{what} could not all be restored:\n{lines}\n"
                                "resuming would not continue the same run; pass --force to "
                                "resume anyway")

    # -- loops -------------------------------------------------------------------
    def entry_rng(self, key: int) -> list[tuple[str, object]] | None:
        """The random states loop `key` started with (for the agent)."""
        if key not in self.entry:
            paths = self.session.roots.loop_rng.get(key) or {}
            states: list[tuple[str, object]] = []
            rebuilder = self.session.rebuilder_for(self.namespace)
            for name, path in sorted(paths.items()):
                try:
                    states.append((name, rebuilder.build(path)))
                except Exception:  # noqa: BLE001 - then it is not known
                    states = []
                    break
            self.entry[key] = states or None
        return self.entry[key]

    def enter_loop(self, key: int) -> None:
        """Before a continued loop re-creates its iterator: remember the live
        random states and go back to those the loop started with."""
        self.live = rng.states()
        for name, state in self.entry_rng(key) or ():
            rng.set_state(name, state)

    def skip(self, key: int, iterable: Any, n: int) -> Any:
        """A fresh iterator over `iterable` past its first `n` items; then the
        live random states again."""
        try:
            it = iter(iterable)
            for _ in range(n):
                try:
                    next(it)
                except StopIteration:
                    break
            return it
        finally:
            for name, state in self.live:
                rng.set_state(name, state)
            self.live = []


class Resume:
    """What runner.run needs to run a continuation instead of the script."""

    def __init__(self, session: Session, force: bool, source: bytes,
                 position: JsonObject) -> None:
        self.session = session
        self.force = force
        self.source = source
        self.position = position
        self.plan: continuation.Plan | None = None
        self.hooks: Resumer | None = None
        snap = session.snapshot
        self.parent = (snap.run_id, snap.seq)

    def instrument(self, path: str,
                   first_loop_id: int = 0) -> tuple[types.CodeType, tuple[LoopInfo, ...]]:
        from ..rewrite import instrument_tree

        assert self.plan is not None
        instrumented = instrument_tree(self.plan.module, path, first_loop_id)
        return instrumented.code, instrumented.loops


def _script_changes(stored: bytes | None, current: bytes | None) -> list[str]:
    """Lines that differ between the script as it ran and as it is now."""
    if stored is None or current is None or stored == current:
        return []
    old = stored.decode("utf-8", "replace").splitlines()
    new = current.decode("utf-8", "replace").splitlines()
    out = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        what = {"replace": "changed", "delete": "removed", "insert": "added"}[tag]
        span = f"{i1 + 1}" if i2 - i1 <= 1 else f"{i1 + 1}-{i2}"
        if tag == "insert":
            span = f"after line {i1}" if i1 else "at the top"
            out.append(f"{span}: {j2 - j1} line(s) added")
        else:
            out.append(f"line {span}: {what}")
    return out


def _remap(position: JsonObject, stored: bytes, current: bytes) -> JsonObject:
    """The position's lines in the current script (unchanged lines only)."""
    old = stored.decode("utf-8", "replace").splitlines()
    new = current.decode("utf-8", "replace").splitlines()
    mapping: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = j1 + k + 1

    def moved(line: int | None) -> int | None:
        if line is None:
            return None
        if line not in mapping:
            raise RestoreError(f"line {line} of the script, where the snapshot was taken, "
                               "has changed since; it cannot be found in the current file")
        return mapping[line]

    out = dict(position)
    out["frames"] = [dict(f, line=moved(f.get("line")), def_line=(
        1 if f.get("name") == "<module>" else moved(f.get("def_line"))))
        for f in position.get("frames") or []]
    out["loops"] = [dict(loop, line=moved(loop.get("line")), def_line=(
        1 if loop.get("def_line") == 1 else moved(loop.get("def_line"))))
        for loop in position.get("loops") or []]
    return out


def _unrestorable_names(session: Session, position: JsonObject) -> dict[int, set[str]]:
    """Frame index -> names of its variables that could not be saved."""
    frames = position.get("frames") or []
    prefixes = frame_prefixes(frames)
    scopes = {0: session.roots.globals}
    for index, prefix in enumerate(prefixes, start=1):
        scopes[index] = session.roots.frames.get(prefix, {})
    out: dict[int, set[str]] = {}
    for index, names in scopes.items():
        for name, path in names.items():
            digest = session.snapshot.entries[path][1]
            try:
                record = session.snapshot.record(digest)
            except Exception:  # noqa: BLE001 - damaged: rebinding may help too
                record = {"kind": "unrestorable"}
            if record.get("kind") == "unrestorable":
                out.setdefault(index, set()).add(name)
    return out


def _static_reasons(session: Session) -> list[str]:
    """What makes a resume inexact, known before running."""
    reasons = []
    snap = session.snapshot
    scope_roots = set(session.roots.globals.values())
    for paths in session.roots.frames.values():
        scope_roots |= set(paths.values())
    cuda = False
    for path, (_, digest) in sorted(snap.entries.items()):
        try:
            record = snap.record(digest)
        except Exception as err:  # noqa: BLE001 - a damaged catalog row
            reasons.append(f"{path}: its record is damaged ({err})")
            continue
        if record.get("kind") == "unrestorable" and path in scope_roots:
            reasons.append(f"{path} cannot be restored: {record.get('reason')}")
        if str((record.get("extra") or {}).get("device", "")).startswith("cuda"):
            cuda = True
    if cuda:
        reasons.append("the state holds CUDA tensors: GPU kernels are not bit-for-bit "
                       "reproducible")
    return reasons


def _outside_script(position: JsonObject, script: str) -> JsonObject | None:
    """The innermost frame of the position that is not the script's (a
    module of the project the script imported), or None."""
    for frame in reversed(position.get("frames") or []):
        where = frame.get("file")
        if where and os.path.abspath(where) != os.path.abspath(script):
            found: JsonObject = frame
            return found
    return None


def _refuse_inside_modules(session: Session, position: JsonObject, script: str) -> None:
    """A snapshot taken inside an imported module's code cannot be resumed
    (the continuation rebuilds the script's frames only): one line naming
    where it was and the nearest snapshot that can be resumed instead."""
    frame = _outside_script(position, script)
    if frame is None:
        return
    snap = session.snapshot
    try:
        metas = json.loads(session.reader.snapshots(snap.run_id))
    except Exception:  # noqa: BLE001 - then none is named
        metas = []
    candidates = [m for m in metas if m.get("trigger") != "exit" and m.get("position")
                  and (m["position"].get("at") or "line") != "line"
                  and not m["position"].get("framework")
                  and _outside_script(m["position"], script) is None]
    nearest = min(candidates, key=lambda m: (abs(m["seq"] - snap.seq), m["seq"]),
                  default=None)
    instead = (f"resume from {snap.run_id}@{nearest['seq']} instead (the nearest snapshot "
               f"in {os.path.basename(script)} itself, line {nearest.get('line')})"
               if nearest is not None else "no snapshot of this run is in the script itself")
    frames = position.get("frames") or []
    line = snap.meta.get("line") if frame is frames[-1] else frame.get("line")
    raise RestoreError(f"{snap.ref} was taken inside {frame.get('file')}:{line} "
                       f"({frame.get('name')}), a module the script imported, which resume "
                       f"cannot re-enter; {instead}, or restore {snap.ref} at a prompt")


def resume(store: str, ref: str, *, force: bool, trust: bool = False) -> int:
    """Resumes the script from `ref`. It runs the script's code: a run
    imported from elsewhere needs `trust` (--trust)."""
    session = Session(store, ref, trust=trust)
    snap = session.snapshot
    if session.imported and not trust:
        raise RestoreError(f"{snap.ref} was {session.from_where()}: resuming runs its "
                           "script's code; pass --trust to resume it anyway, or restore it at "
                           "a prompt (safe mode) without --resume")
    if trust:
        session.announce_trust(sys.stderr, ("the script itself (resuming runs it)", 1))
    meta = snap.meta
    if meta.get("trigger") == "exit":
        raise RestoreError(f"{snap.ref} was taken when the script had ended: nothing is left to "
                           f"run; pick an earlier snapshot (`snapline log {snap.run_id}`)")
    position = meta.get("position")
    if not position:
        raise RestoreError(f"{snap.ref} does not record where the script was (it was captured "
                           "by an older Snapline); it can be restored at a prompt, not resumed")
    if position.get("framework"):  # taken inside Trainer.train() / fit(): its own resume
        from ..frameworks.resume import resume_framework

        return resume_framework(session, store, force=force)
    path = session.script_path
    _refuse_inside_modules(session, position, path)
    session.check_packages()
    stored = snap.script_source()
    try:
        with open(path, "rb") as f:
            current: bytes | None = f.read()
    except OSError:
        current = None
    reasons = []
    changes = _script_changes(stored, current)
    if changes:
        reasons.append(f"{path} changed since the run (" + "; ".join(changes[:8])
                       + (" ..." if len(changes) > 8 else "") + ")")
    if current is None:
        if stored is None:
            raise RestoreError(f"the script {path} is gone and the store has no copy of it")
        source = stored
        sys.stderr.write(f"snapline: {path} is gone; resuming the copy kept in the store\n")
    else:
        source = current
        if changes and stored is not None:
            position = _remap(position, stored, current)

    line = meta.get("line")
    if changes and stored is not None and current is not None and line is not None:
        line = _remap({"frames": [{"name": "x", "line": line, "def_line": line}]},
                      stored, current)["frames"][0]["line"]
    rebind = _unrestorable_names(session, position) if force else {}
    plan = continuation.build(source, path, position, meta.get("trigger", ""), line, rebind)
    reasons.extend(plan.inexact)
    reasons.extend(_static_reasons(session))
    if reasons:
        sys.stderr.write(f"snapline: resuming {snap.ref} cannot be exact:\n")
        for reason in reasons:
            sys.stderr.write(f"  - {reason}\n")
        if not force:
            sys.stderr.write("snapline: error: not resuming; pass --force to resume anyway\n")
            return 1
    # A statement snapshot's line is the statement that had just run.
    where = {"statement": f"after line {line}", "loop_done": f"after the loop at line {line}"}.get(
        position.get("at"), f"line {line}")
    loops = position.get("loops") or []
    if loops:
        where += " (loop iteration " + ", ".join(str(loop.get("count")) for loop in loops) + ")"
    sys.stderr.write(f"snapline: resuming {os.path.basename(path)} from {snap.ref} at {where}\n")
    sys.stderr.flush()

    session.enter_environment()
    lineage = snap.lineage
    options = resumed_options(store, lineage.get("options") or {})
    job = Resume(session, force, source, position)
    job.plan = plan
    job.hooks = Resumer(session, plan, force)
    argv = list(sys.argv)
    try:
        run(argv[0] if argv else path, argv[1:], options, resume=job, script_path=path,
            module_name=lineage.get("module"))
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
