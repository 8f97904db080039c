"""The agent inside the user's process: receives the safe-point hooks the
rewritten script calls, decides when to snapshot, and hands each snapshot to
the Rust recorder. Failsafe: an error here becomes a warning stored with the
run; the program's output and exit status never change."""

from __future__ import annotations

import gc
import json
import math
import os
import pickle
import sys
import threading
import time
import types
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

from . import rng
from .graph import GraphBuilder, RootsBefore, native_function

# (Options live in options.py, light for `snapline run`'s start-up; named
# here too, where the notebook and resume take them from.)
from .options import Options as Options  # noqa: PLC0414 - re-exported
from .options import options_dict as options_dict  # noqa: PLC0414 - re-exported
from .values import JsonObject, scalar_number

if TYPE_CHECKING:
    from .lineage import LocalModules
    from .nan_hooks import NanHooks
    from .rewrite import LoopInfo

# After this many internal errors the agent stops capturing for the run.
MAX_ERRORS = 5


class FrameworkPoint:
    """A safe point inside a framework's training loop (Agent.framework_point)."""

    def __init__(self, trigger: str, label: str, roots: Any, epoch: int | None,
                 position: JsonObject, every: str | None = None,
                 exception: BaseException | None = None) -> None:
        self.trigger = trigger  # "iteration" (steps, epochs, evaluations) or "exception"
        self.label = label  # "step 20", "epoch 1", "evaluate at step 20"...
        # (path, object) captured besides the script's variables (`trainer:model`...),
        # or a function returning them, called only when the snapshot is due.
        self.roots = roots
        # Completed epochs: the snapshot's loop counter when no script loop encloses it.
        self.epoch = epoch
        # Stored in the snapshot's position: what `restore --resume` needs to go
        # through the framework's own resume path (frameworks/resume.py).
        self.position = position
        # Throttle: "inner" (--inner-every), "outer" (--outer-every) or None (always).
        self.every = every
        # The exception training raised (trigger "exception"): the snapshot holds
        # the user's frames it went through, and is the run's post-mortem one.
        self.exception = exception


# The budget is a leaky bucket of capture time: it refills at `budget`
# seconds per second of wall time up to BUDGET_BURST_S, and each snapshot
# takes its cost out. It starts at BUDGET_FLOOR_S, not full, so loop
# snapshots never take more than `budget` x (time run so far) + the floor
# (+ the one snapshot that overdraws it): the first loop snapshot is always
# allowed, and a tight loop settles at the budget's share of the run.
BUDGET_BURST_S = 0.2
# The floor by measurement (bench/RESULTS.md, "Start-up", second pass):
# 5 ms keeps a run's first loop snapshot (always taken: it may overdraw)
# and a few more of 1 ms each, and costs a 0.5 s run 1%, not 4%.
BUDGET_FLOOR_S = 0.005
# The snapshots the budget counts and may skip: loop iterations (a
# framework's steps and epochs included). Statement, cell, explicit,
# exception and exit snapshots are always taken and not counted.
_BUDGETED = ("iteration", "loop_done", "framework")


# Plain copies of short loops (rewrite.py emits one for every innermost
# loop): a loop runs its uninstrumented copy once each of its last
# PLAIN_AFTER_RUNS instrumented runs took less than PLAIN_RUN_S of wall time
# (snapshots taken meanwhile left out), so that a safe point, at the
# enclosing loop, is never more than about that far away. A loop whose
# scalars are read at every iteration (loop metrics: a point per iteration)
# or that ran another loop (through a call) stays instrumented. A plain run
# that takes PLAIN_RUN_S or more sends the loop back to its instrumented form.
PLAIN_RUN_S = 0.002
PLAIN_AFTER_RUNS = 2

_monotonic = time.monotonic
_get_ident = threading.get_ident


class _LoopRuns:
    """What the agent has learnt of one loop (by id) over the whole run."""

    __slots__ = ("encloses", "plain", "short", "total")

    def __init__(self) -> None:
        # Completed iterations over the run (every time it ran): the step
        # of the points its scalars make. Plain runs count none.
        self.total = 0
        # How many of its last instrumented runs in a row were short.
        self.short = 0
        # Its next entries run the plain copy (when it has one).
        self.plain = False
        # Another loop ran inside one of its runs (through a call): it is
        # not innermost, and never runs plain.
        self.encloses = False


class _Loop:
    __slots__ = ("count", "def_line", "done", "entry_rng", "loop_id", "runs", "snapshot_s",
                 "started", "tracked")

    def __init__(self, loop_id: int, def_line: int, entry_rng: Any, runs: _LoopRuns,
                 started: float, snapshot_s: float) -> None:
        self.loop_id = loop_id
        self.def_line = def_line  # first line of the function the loop is in
        self.entry_rng = entry_rng  # [(name, state)] or None
        self.count = -1
        self.done = False
        # Its assigned scalars are watched (ScalarTracker).
        self.tracked = False
        self.runs = runs
        # When it was entered, and Agent.snapshot_s then.
        self.started = started
        self.snapshot_s = snapshot_s


class Agent:
    """One captured run. Installed as `builtins.__snapline__`."""

    def __init__(self, recorder: Any, native: Any, script_path: str,
                 loops: Sequence[LoopInfo],
                 options: Options) -> None:
        self.recorder = recorder
        self.native = native
        self.script_path = script_path
        self.loop_lines = {info.loop_id: info.lineno for info in loops}
        self.loop_kinds = {info.loop_id: info.kind for info in loops}
        # Names each loop assigns: their numbers become metric points at
        # every iteration (ScalarTracker).
        self.loop_assigned = {info.loop_id: info.assigned for info in loops}
        # Loops of the user's imported modules (project.py): their file.
        # A loop id missing here is the script's.
        self.loop_files: dict[int, str] = {}
        self.next_loop_id = max(self.loop_lines, default=-1) + 1
        # The project's modules instrumented so far (project.py): their
        # frames are the user's too.
        self.project_files: set[str] = set()
        # Set while a resumed run re-enters its loops (see snapline.resume).
        self.resumer: Any = None
        self.options = options
        # (type, difference) already reported by --check-roundtrip.
        self.roundtrip_seen: set[tuple[str | None, str]] = set()
        self.enabled = True
        self.pid = os.getpid()
        self.main_thread = threading.main_thread()
        self.main_ident = self.main_thread.ident
        self.stack: list[_Loop] = []
        self.unwound: list[tuple[_Loop, int]] | None = None
        self.seq = 0
        # Throttles count from the start of the run.
        self.last_snapshot = time.monotonic()
        # The time budget (Options.budget): loop snapshot seconds still allowed,
        # as of budget_at; budget_noted: the stderr line was written.
        self.budget_left = BUDGET_FLOOR_S
        self.budget_at = self.last_snapshot
        self.budget_noted = False
        # When the spent budget is back above zero (Agent.iteration skips
        # _due until then).
        self.budget_until = 0.0
        self.last_cost = 0.0
        # RNG roots by path: (their exact bytes, entries, nodes) when last
        # walked (GraphBuilder.add_root_as_before).
        self.rng_before: RootsBefore = {}
        # Set by _due when the snapshot it allows is the budget's to count.
        self.charge_budget = False
        self.after_loop_line: int | None = None
        self.committed: set[str] = set()
        self.metric_last: dict[str, float] = {}
        # Scalars of loops as points at every iteration (the Rust tracker
        # also keeps each series' last value for the snapshot path).
        # The native ScalarTracker (no stubs: its methods are dynamic).
        self.scalars: Any = _scalar_tracker(native, recorder) if options.loop_metrics else None
        self.scalar_types_seen: tuple[bool, ...] = ()
        # Series names the program logs with snapline.log().
        self.logged: set[str] = set()
        # The exception a framework's snapshot was taken for (framework_point).
        self.post_mortem_of: BaseException | None = None
        # What each loop's runs were like (their iterations over the run,
        # whether it runs its plain copy), by loop id.
        self.loop_runs: dict[int, _LoopRuns] = {}
        # Seconds spent in snapshots over the run, and the (loop_id, entered,
        # snapshot_s then) of each plain copy running now, innermost last.
        self.snapshot_s = 0.0
        self.plain_runs: list[tuple[int, float, float]] = []
        self.log_buffer: list[JsonObject] = []
        self.errors = 0
        self.in_snapshot = False
        self.finished = False
        # Set by the SIGINT handler: the KeyboardInterrupt already has its snapshot.
        self.interrupted = False
        # A signal handler that arrived during a snapshot, run right after it
        # (called with a frame from which the user's frames are reachable).
        self.deferred: Callable[[types.FrameType], object] | None = None
        self.lock = threading.RLock()
        # Whose code it is: frames of files this accepts have their locals
        # captured (the script by default; notebook.py adds its cells).
        self.is_user_file: Callable[[str], bool] = self._is_script
        # The captured globals as (name, value) pairs; None: __main__'s.
        self.global_items: Callable[[], list[tuple[str, object]]] | None = None
        # When set, the last snapshot's GraphBuilder (its live objects by
        # node) stays in last_graph (`%snapline checkout` compares it).
        self.keep_graph = False
        self.last_graph: GraphBuilder | None = None
        # `--nan-hooks` (nan_hooks.NanHooks): polled at safe points until
        # the script has imported torch.
        self.nan_hooks: NanHooks | None = None
        # Set while a framework safe point is taken (see framework_point).
        self.framework_point_now: FrameworkPoint | None = None
        # The script's own imported modules, stored with the lineage.
        self.local_modules: LocalModules | None = None

    # -- hooks called by the rewritten script ---------------------------------
    def _active(self) -> bool:
        # Called at every loop iteration: no pid check here (a forked child
        # is disabled by the register_at_fork handler runner.py and
        # notebook.py install, and the recorder refuses a child in Rust),
        # and the thread by its cached ident.
        return (self.enabled and not self.in_snapshot
                and threading.get_ident() == self.main_ident)

    def statement(self, lineno: int) -> None:
        if not self._active():
            return
        if self.nan_hooks is not None and self.nan_hooks.waiting:
            self.nan_hooks.poll()
        if not self.options.statements:
            return
        if self.after_loop_line == lineno:  # the loop's last iteration was just captured
            self.after_loop_line = None
            return
        self.after_loop_line = None
        self.unwound = None
        self._guarded(self._snapshot, "statement", sys._getframe(1), lineno, at="statement")

    def loop_enter(self, loop_id: int, plain_copy: bool = False) -> bool:
        """A loop starts. `plain_copy`: rewrite.py gave it one (a short
        innermost loop); True: run that copy, with no hooks but
        loop_exit_plain (see PLAIN_RUN_S)."""
        if not self.enabled or self.in_snapshot or _get_ident() != self.main_ident:
            return False  # (_active, written out: called once per run of every loop)
        if self.nan_hooks is not None and self.nan_hooks.waiting:
            self.nan_hooks.poll()
        now = _monotonic()
        stack = self.stack
        # The loops this one runs inside are not innermost: never plain.
        if stack:
            stack[-1].runs.encloses = True
        if self.plain_runs:
            self._enclosing_plain()
        runs = self.loop_runs.get(loop_id)
        if runs is None:
            runs = self.loop_runs[loop_id] = _LoopRuns()
        elif (plain_copy and runs.plain
              and not (self.options.inner_every_given if stack
                       else self.options.outer_every_given)):
            # (An explicit throttle asks for this loop's iteration snapshots.)
            self.plain_runs.append((loop_id, now, self.snapshot_s))
            return True
        frame = sys._getframe(1)
        # Its RNG states, read at every instrumented entry: a DataLoader's
        # shuffle order is drawn from them, and resume re-creates the loop's
        # iterator from them (a plain copy is never resumed mid-loop).
        entry = rng.states()
        self._push(_Loop(loop_id, frame.f_code.co_firstlineno, entry, runs, now,
                         self.snapshot_s), frame)
        return False

    def _enclosing_plain(self) -> None:
        """A loop starts inside plain copies (through a call): they enclose
        loops, so they run instrumented from their next entries on."""
        for loop_id, _, _ in self.plain_runs:
            runs = self.loop_runs[loop_id]
            runs.encloses = True
            runs.plain = False

    def loop_exit_plain(self, loop_id: int) -> None:
        """A plain copy is done (or left by break, return or exception): one
        that took too long runs instrumented from its next entry on."""
        plain = self.plain_runs
        if not plain or plain[-1][0] != loop_id or _get_ident() != self.main_ident:
            return
        _, started, snapshot_s = plain.pop()
        if _monotonic() - started - (self.snapshot_s - snapshot_s) >= PLAIN_RUN_S:
            runs = self.loop_runs[loop_id]
            runs.plain = False
            runs.short = 0

    def loop_resume(self, loop_id: int, count: int, key: int) -> None:
        """A resumed run re-enters a loop in the middle of iteration `count`
        (rewrite.py emits this instead of loop_enter; see snapline.resume)."""
        if not self._active():
            return
        frame = sys._getframe(1)
        entry = self.resumer.entry_rng(key) if self.resumer is not None else None
        runs = self.loop_runs.setdefault(loop_id, _LoopRuns())
        loop = _Loop(loop_id, frame.f_code.co_firstlineno, entry, runs, _monotonic(),
                     self.snapshot_s)
        loop.count = count
        self._push(loop, frame)

    def _push(self, loop: _Loop, frame: Any) -> None:
        if self.scalars is not None and self.loop_assigned.get(loop.loop_id):
            self._guarded(self._watch, loop, frame)
        self.stack.append(loop)

    def _watch(self, loop: _Loop, frame: Any) -> None:
        if not self.scalars.watching(loop.loop_id):
            name = frame.f_code.co_name
            prefix = "" if name == "<module>" else f"{name}:"
            self.scalars.watch(loop.loop_id, list(self.loop_assigned[loop.loop_id]), prefix)
        self._update_scalar_types()
        loop.tracked = True

    def _update_scalar_types(self) -> None:
        np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
        seen = (np is not None, torch is not None)
        if seen == self.scalar_types_seen:
            return
        self.scalar_types_seen = seen
        types = []
        if np is not None:
            types = [getattr(np, n) for n in _NUMPY_SCALARS if hasattr(np, n)]
        tensor = getattr(torch, "Tensor", None) if torch is not None else None
        self.scalars.set_types(types, tensor)

    def _iteration_done(self, loop: _Loop) -> None:
        """One more iteration of `loop` completed (called from a hook the
        loop's own frame called): its step, and its scalars read there."""
        runs = loop.runs
        runs.total += 1
        if loop.tracked:
            self._track(loop, sys._getframe(2), runs.total)

    def _track(self, loop: _Loop, frame: Any, step: int) -> None:
        """The loop's changed scalars as metric points, at `step`: the
        loop's iterations completed over the whole run."""
        try:
            self.scalars.track(loop.loop_id, frame.f_locals, float(step), self._epoch())
        except Exception as exc:  # noqa: BLE001 - the failsafe
            loop.tracked = False
            self._internal_error(exc)

    def iteration(self, loop_id: int) -> None:
        # The hottest hook (every iteration of every instrumented loop):
        # _active, _iteration_done and _due's throttle check written out.
        stack = self.stack
        if (not stack or not self.enabled or self.in_snapshot
                or _get_ident() != self.main_ident):
            return
        loop = stack[-1]
        if loop.loop_id != loop_id:
            return
        if self.nan_hooks is not None and self.nan_hooks.waiting:
            self.nan_hooks.poll()
        count = loop.count = loop.count + 1
        self.unwound = None
        if count == 0:
            return
        runs = loop.runs
        runs.total += 1
        if loop.tracked:
            self._track(loop, sys._getframe(1), runs.total)
        outermost = len(stack) == 1
        options = self.options
        every = options.outer_every if outermost else options.inner_every
        now = _monotonic()
        if now - self.last_snapshot < every:
            return
        if (now < self.budget_until and options.budget > 0
                and not (options.outer_every_given if outermost else options.inner_every_given)):
            return  # what _due would say: the budget is spent until then
        if self._due(outermost):
            self._guarded(self._snapshot, "iteration", sys._getframe(1),
                          self.loop_lines.get(loop_id), at="iteration")

    def loop_done(self, loop_id: int) -> None:
        if not self._active() or not self.stack or self.stack[-1].loop_id != loop_id:
            return
        loop = self.stack[-1]
        loop.count += 1
        loop.done = True
        if loop.count > 0:
            self._iteration_done(loop)
        if len(self.stack) == 1 and loop.count > 0 and self._due(True):
            # The last iteration of the outermost loop is an epoch boundary too
            # (throttled like the others: the exit snapshot keeps the end).
            self._guarded(self._snapshot, "iteration", sys._getframe(1),
                          self.loop_lines.get(loop_id), at="loop_done")
            self.after_loop_line = self.loop_lines.get(loop_id)

    def loop_exit(self, loop_id: int) -> None:
        if not self.enabled or os.getpid() != self.pid or not self.stack:
            return
        if threading.current_thread() is not self.main_thread:
            return
        if self.unwound is None and not self.stack[-1].done:
            # Leaving by exception or return: remember where we were, for a
            # post-mortem snapshot that comes after the unwinding.
            self.unwound = [(loop, max(loop.count, 0)) for loop in self.stack]
        if (not self.stack[-1].done and self.stack[-1].tracked
                and self.stack[-1].loop_id == loop_id):
            # Left by break, return or exception: the last values still count.
            self._track(self.stack[-1], sys._getframe(1), self.stack[-1].runs.total + 1)
        while self.stack:
            loop = self.stack.pop()
            if loop.loop_id == loop_id:
                self._learn(loop)
                break
        plain = self.plain_runs
        while plain and plain[-1][1] >= loop.started:
            # Entered inside this loop and not left by loop_exit_plain (an
            # interrupt landed before its try): over, or _due would stay off.
            plain.pop()

    def _learn(self, loop: _Loop) -> None:
        """An instrumented run of `loop` ended: whether its next entries may
        run the plain copy (see PLAIN_RUN_S)."""
        runs = loop.runs
        took = _monotonic() - loop.started - (self.snapshot_s - loop.snapshot_s)
        if took < PLAIN_RUN_S and not runs.encloses and not loop.tracked:
            runs.short += 1
            runs.plain = runs.short >= PLAIN_AFTER_RUNS
        else:
            runs.short = 0
            runs.plain = False

    def _due(self, outermost: bool) -> bool:
        """Whether an iteration boundary takes a snapshot. Both throttles count
        from the last snapshot of any kind, so `--inner-every 10 --outer-every
        10` means at most one snapshot per 10 s, not one of each."""
        if self.plain_runs:
            # Inside a plain copy (through a call): its loop is not on the
            # stack that a snapshot's position records; it ends soon.
            return False
        every = self.options.outer_every if outermost else self.options.inner_every
        if time.monotonic() - self.last_snapshot < every:
            return False
        given = self.options.outer_every_given if outermost else self.options.inner_every_given
        # Only the snapshots the budget decides on are charged to it: an
        # explicit `--inner-every 0` does not starve the epochs.
        self.charge_budget = not given
        return given or self._within_budget()

    def _within_budget(self) -> bool:
        """Whether the time budget allows one more loop snapshot now; the
        first time it does not, says so on stderr and in the run's warnings."""
        share = self.options.budget
        if share <= 0:
            return True
        now = time.monotonic()
        self.budget_left = min(BUDGET_BURST_S,
                               self.budget_left + share * (now - self.budget_at))
        self.budget_at = now
        if self.budget_left > 0:
            return True
        self.budget_until = now - self.budget_left / share
        if not self.budget_noted:
            self.budget_noted = True
            self._note_budget(share)
        return False

    def _note_budget(self, share: float) -> None:
        message = (f"snapshots cost more than {share * 100:g}% of the run's time "
                   f"(the last one took {self.last_cost * 1000:.1f} ms): loops are "
                   "snapshotted less often from here (--budget PERCENT or, in a "
                   "notebook, %snapline budget PERCENT; --inner-every / --outer-every "
                   "SECONDS choose the rate)")
        try:
            sys.stderr.write(f"snapline: {message}\n")
        except Exception:  # noqa: BLE001 - a closed stderr is the program's business
            pass
        try:
            self.recorder.warn(time.time(), message)
        except Exception:  # noqa: BLE001 - the store itself may be the problem
            pass

    def _spend(self, seconds: float) -> None:
        """A loop snapshot's cost, out of the budget."""
        self.last_cost = seconds
        if self.options.budget <= 0:
            return
        now = time.monotonic()
        self.budget_left = min(BUDGET_BURST_S, self.budget_left
                               + self.options.budget * max(0.0, now - seconds - self.budget_at))
        self.budget_left -= seconds
        self.budget_at = now

    def disable_in_child(self) -> None:
        """After fork (DataLoader workers...): the child never writes."""
        self.enabled = False

    # -- public API -------------------------------------------------------------
    def checkpoint(self, label: str | None, frame: Any) -> int | None:
        """snapline.checkpoint(): an explicit snapshot; returns its seq."""
        if not self._active():
            return None
        self._guarded(self._snapshot, "explicit", frame, frame.f_lineno, label=label)
        return self.seq - 1

    def take(self, trigger: str, label: str | None = None, frames: list[types.FrameType] | None = None,
             line: int | None = None) -> int | None:
        """A snapshot asked for by a front end (a notebook cell's end):
        returns its seq, or None when none was taken (a failure is stored
        as a warning, as at every safe point)."""
        if not self.enabled or self.in_snapshot or os.getpid() != self.pid:
            return None
        before = self.seq
        self._guarded(self._snapshot, trigger, None, line, label=label, frames=frames or [])
        return before if self.seq > before else None

    def framework_due(self, every: str | None) -> bool:
        """Whether a framework safe point throttled by `every` would take a
        snapshot now: asked at every step, before its roots are gathered."""
        return self._active() and (every is None or self._due(every == "outer"))

    def framework_point(self, point: FrameworkPoint) -> int | None:
        """A safe point inside a framework's training loop (frameworks/):
        a snapshot of the script's state plus `point.roots`, throttled like
        an inner loop (`every="inner"`), an epoch (`"outer"`) or not at all;
        returns its seq, or None when none was taken."""
        if not self._active():
            return None
        if point.every is not None and not self._due(point.every == "outer"):
            return None
        frame = sys._getframe(1)
        frames = self._user_frames(frame)
        line = frames[0].f_lineno if frames else None
        if point.exception is not None:
            # The user's frames the exception went through (a training_step
            # the script defines), innermost first, then the caller's.
            failed = script_tb_entries(point.exception.__traceback__, self.script_path,
                                       self.is_user_file)
            inner = [tb.tb_frame for tb in failed if tb.tb_frame not in frames]
            if failed:
                line = failed[0].tb_lineno
            frames = inner + frames
        before = self.seq
        if callable(point.roots):
            try:
                point.roots = point.roots()
            except Exception as exc:  # noqa: BLE001 - the failsafe
                self._internal_error(exc)
                return None
        self.framework_point_now = point
        try:
            self._guarded(self._snapshot, point.trigger, None, line, label=point.label,
                          frames=frames, at="framework")
        finally:
            self.framework_point_now = None
        if point.exception is not None and self.seq > before:
            self.post_mortem_of = point.exception
        return before if self.seq > before else None

    def log(self, step: float | None, values: Mapping[str, object], epoch: int | None = None) -> None:
        """snapline.log(): metric points between snapshots, flushed in batches
        (`epoch`: a framework's own epoch, else the outermost loop's count)."""
        if not self.enabled or os.getpid() != self.pid:
            return
        now = time.time()
        with self.lock:
            for name, value in values.items():
                number = scalar_number(value)
                if number is None:
                    number = _tensor_scalar(value)
                if number is None:
                    continue
                if self.scalars is not None and name not in self.logged:
                    self.logged.add(name)
                    self.scalars.mute(str(name))  # the program's own points win
                point_step = float(step) if step is not None else float(self.seq)
                self.log_buffer.append({"name": str(name), "step": point_step,
                                        "value": _wire_float(number), "time": now,
                                        "epoch": self._epoch() if epoch is None else epoch})
            if len(self.log_buffer) >= 512:
                self._guarded(self._flush_log)

    def _flush_log(self) -> None:
        with self.lock:
            points, self.log_buffer = self.log_buffer, []
            if self.scalars is not None:
                self.scalars.flush()
        if points:
            self.recorder.log_metrics(_dumps(points))

    # -- ends of the run ---------------------------------------------------------
    def on_signal(self, frame: Any) -> None:
        """SIGTERM / SIGINT: a final snapshot where the program was (the
        line is the script's, even when the signal lands in library code)."""
        if self.enabled and not self.in_snapshot and os.getpid() == self.pid:
            frames = self._user_frames(frame)
            line = frames[0].f_lineno if frames else None
            self._guarded(self._snapshot, "signal", None, line, frames=frames)

    def on_exception(self, exc: BaseException) -> None:
        """An uncaught exception: a post-mortem snapshot with the failing
        frame's locals, taken from the traceback's frames."""
        if not self.enabled or os.getpid() != self.pid:
            return
        if exc is self.post_mortem_of:
            return  # taken inside the framework already, with its roots
        failed = script_tb_entries(exc.__traceback__, self.script_path, self.is_user_file)
        frames = [tb.tb_frame for tb in failed]
        line = failed[0].tb_lineno if failed else None
        self._guarded(self._snapshot, "exception", None, line, frames=frames)

    def finish(self, status: str, exit_code: int | None, exc: BaseException | None,
               final_snapshot: bool, frame: Any = None) -> None:
        """Record how the run ended; waits for the writer to drain."""
        if self.finished or os.getpid() != self.pid:
            return
        if self.nan_hooks is not None:
            self._guarded(self.nan_hooks.close)
        if final_snapshot and self.enabled:
            self._guarded(self._snapshot, "exit", frame, None)
        self.finished = True
        exception = None
        if exc is not None:
            import traceback

            exception = {"type": type(exc).__name__, "message": str(exc)[:2000],
                         "traceback": "".join(traceback.format_exception(
                             type(exc), exc, exc.__traceback__))[-8000:]}
        try:
            self._flush_log()
            self._record_local_modules()
            from . import lineage

            self.recorder.set_lineage("packages", _dumps(lineage.imported_packages()))
            git = lineage.git_check.result() if lineage.git_check is not None else None
            if git:  # the commit and `dirty`, once `git status` answered
                self.recorder.set_lineage("git", _dumps(git))
            self.recorder.finish(status, time.time(), exit_code,
                                 _dumps(exception) if exception else None)
        except Exception as err:  # noqa: BLE001 - never disturb the program's end
            _warn_once(f"the run's end could not be recorded: {err}")
        self.enabled = False

    def _record_local_modules(self) -> None:
        if self.local_modules is not None:
            self._guarded(self._update_local_modules, self.local_modules)

    def _update_local_modules(self, modules: LocalModules) -> None:
        if modules.update(self.recorder, self.native.hash_bytes):
            self.recorder.set_lineage("modules", _dumps(modules.found))

    # -- snapshots ---------------------------------------------------------------
    def _guarded(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the failsafe
            self._internal_error(exc)

    def _internal_error(self, exc: BaseException) -> None:
        self.errors += 1
        failure = None
        try:
            failure = self.recorder.failure()
        except Exception:  # noqa: BLE001
            failure = None
        message = f"agent error: {type(exc).__name__}: {exc}"
        try:
            import traceback  # (imported when needed: it costs start-up time)

            self.recorder.warn(time.time(), message + "\n" + traceback.format_exc()[-4000:])
        except Exception:  # noqa: BLE001 - the store itself may be the problem
            pass
        if failure is not None or self.errors >= MAX_ERRORS:
            self.enabled = False
            _warn_once(f"capture stopped ({failure or message}); the program continues; "
                       "earlier snapshots are kept")

    def _epoch(self) -> int | None:
        return self.stack[0].count if self.stack and self.stack[0].count >= 0 else None

    def _snapshot(self, trigger: str, frame: Any, line: int | None, label: str | None = None,
                  frames: list[types.FrameType] | None = None,
                  at: str = "line") -> None:
        started = time.monotonic()
        # The cyclic collector is off while the snapshot is taken, then as
        # it was. The walk's short-lived objects (records, keys, JSON) are
        # freed by reference counting when it ends; collected mid-walk, they
        # were traversed and promoted to older generations, whose growth set
        # off full collections of the whole program inside snapshots (a
        # DCGAN: one 145 ms full collection in 11 snapshots of 1.2 s).
        try:
            with self.lock:
                self.in_snapshot = True
                collecting = gc.isenabled()
                gc.disable()
                try:
                    self._take(trigger, frame, line, label, frames, at)
                finally:
                    if collecting:
                        gc.enable()
                    self.in_snapshot = False
                    took = time.monotonic() - started
                    self.snapshot_s += took
                    if at in _BUDGETED and self.charge_budget:
                        self._spend(took)
                    self.charge_budget = False
        finally:
            # A SIGTERM/SIGINT that arrived meanwhile: handle it now, so that
            # it still gets its own snapshot (and SIGINT its KeyboardInterrupt).
            deferred, self.deferred = self.deferred, None
            if deferred is not None:
                deferred(sys._getframe())

    def _take(self, trigger: str, frame: Any, line: int | None, label: str | None,
              frames: list[types.FrameType] | None, at: str) -> None:
        started = time.perf_counter()
        self._record_local_modules()
        if frames is None:
            frames = self._user_frames(frame)
        stack = self.unwound if (trigger == "exception" and self.unwound) else [
            (loop, max(loop.count, 0)) for loop in self.stack]
        loops = [count for _, count in stack]
        builder = GraphBuilder(self.recorder, self.committed, self.native.hash_bytes)
        roots = self._roots(frames)
        builder.hold(obj for _, obj in roots)
        for path, obj in roots:
            if path.startswith("$rng."):
                # Read at every snapshot, walked only when the generator advanced.
                builder.add_root_as_before(path, obj, _rng_fingerprint(obj), self.rng_before)
            else:
                builder.add_root(path, obj)
        point = self.framework_point_now
        for path, obj in point.roots if point is not None else ():
            builder.add_root(path, obj)
        if point is not None and not loops and point.epoch is not None:
            loops = [point.epoch]
        for depth, (loop, _) in enumerate(stack):
            for name, state in loop.entry_rng or ():
                builder.add_root_as_before(f"$loop{depth}.rng.{name}", state,
                                           _rng_fingerprint(state), self.rng_before)
        seq = self.seq
        now = time.time()
        epoch = loops[0] if loops else None
        metrics = []
        for name, value in builder.metrics:
            if name.startswith("$"):
                continue
            if not self._metric_changed(name, value):
                continue  # a point only when the value changed
            metrics.append({"name": name, "step": float(seq), "value": _wire_float(value),
                            "time": now, "seq": seq, "epoch": epoch})
        meta: JsonObject = {
            "seq": seq, "trigger": trigger, "file": self._file_of(frames), "line": line,
            "loops": loops, "label": label, "time": now,
            "capture_ms": (time.perf_counter() - started) * 1000.0,
            "bytes_new": 0, "bytes_reused": 0,
            "objects": len(builder.nodes), "nonfinite": builder.nonfinite,
            "position": self._position(at, frames, stack),
        }
        if point is not None:
            meta["position"]["framework"] = point.position
        payload = {"meta": meta, "objects": builder.objects, "entries": builder.entries,
                   "metrics": metrics}
        if self.scalars is not None and self.scalars.pending():
            # Before the commit: a reader that sees the snapshot sees them.
            self.scalars.flush()
        self.recorder.commit(_commit_json(payload))
        self.committed |= builder.new_hashes
        if self.options.check_roundtrip:
            self._check_roundtrip(builder)
        self.last_graph = builder if self.keep_graph else None
        self.seq += 1
        self.last_snapshot = time.monotonic()
        if self.log_buffer or (self.scalars is not None and self.scalars.pending()):
            self._flush_log()

    def _check_roundtrip(self, builder: GraphBuilder) -> None:
        """`--check-roundtrip`: each way a sampled object does not come back
        the same is a warning, once per type and difference."""
        from .restore import roundtrip

        try:
            found = roundtrip.check_capture(builder)
        except Exception as err:  # noqa: BLE001 - the check must not stop capture
            found = [("", "", f"the check failed: {type(err).__name__}: {err}")]
        for path, type_name, how in found:
            key = (type_name, how)
            if key in self.roundtrip_seen:
                continue
            self.roundtrip_seen.add(key)
            self.recorder.warn(time.time(), f"check-roundtrip: {path} ({type_name}) would not "
                                            f"come back the same at restore: {how}")

    def _metric_changed(self, name: str, value: float) -> bool:
        if self.scalars is not None:
            changed: bool = self.scalars.changed(name, value)
            return changed
        last = self.metric_last.get(name)
        if last is not None and (last == value or (math.isnan(last) and math.isnan(value))):
            return False
        self.metric_last[name] = value
        return True

    def _position(self, at: str, frames: list[types.FrameType],
                  stack: list[tuple[_Loop, int]]) -> JsonObject:
        """Where the program is, for `restore --resume`: the safe point
        (`iteration`, `loop_done`, `statement`, or `line` for anywhere
        else), the script's frames outermost first, the enclosing loops."""
        return {
            "at": at,
            "frames": [{"name": f.f_code.co_name, "def_line": f.f_code.co_firstlineno,
                        "line": f.f_lineno, "file": f.f_code.co_filename}
                       for f in reversed(frames)],
            "loops": [{"line": self.loop_lines.get(loop.loop_id),
                       "file": self.loop_files.get(loop.loop_id, self.script_path),
                       "kind": self.loop_kinds.get(loop.loop_id, "for"),
                       "def_line": loop.def_line, "count": count,
                       "entry_rng": loop.entry_rng is not None}
                      for loop, count in stack],
        }

    def _user_frames(self, frame: types.FrameType | None) -> list[types.FrameType]:
        """The script's frames from the safe point outwards (module frame last)."""
        frames: list[types.FrameType] = []
        while frame is not None:
            if self.is_user_file(frame.f_code.co_filename):
                frames.append(frame)
            frame = frame.f_back
        return frames

    def _is_script(self, filename: str) -> bool:
        return filename == self.script_path or filename in self.project_files

    def register_module(self, filename: str, loops: Sequence[LoopInfo]) -> None:
        """An imported module of the user's project was instrumented
        (project.py): its frames are user frames, its loops known by id."""
        with self.lock:
            self.project_files.add(filename)
            for info in loops:
                self.loop_lines[info.loop_id] = info.lineno
                self.loop_kinds[info.loop_id] = info.kind
                self.loop_assigned[info.loop_id] = info.assigned
                self.loop_files[info.loop_id] = filename
            self.next_loop_id = max(self.next_loop_id, *(i.loop_id + 1 for i in loops), 0)

    def _file_of(self, frames: list[types.FrameType]) -> str:
        """The snapshot's file: the imported project module the innermost
        user frame is in, else the script's (a notebook's: the cell's label)."""
        if frames and frames[0].f_code.co_filename in self.project_files:
            return frames[0].f_code.co_filename
        return self.script_path

    def _roots(self, frames: list[types.FrameType]) -> list[tuple[str, object]]:
        """(path, object) of every captured variable: the script's globals,
        then the locals of each user frame (outermost first) as `func:name`,
        then the RNG states as `$rng.*`."""
        roots: list[tuple[str, object]] = []
        if self.global_items is not None:
            roots.extend(self.global_items())
        else:
            main = sys.modules.get("__main__")
            if main is not None:
                roots.extend(named_values(vars(main)))
        seen: dict[str, int] = {}
        for frame in reversed(frames):
            if frame.f_code.co_name == "<module>":
                continue
            name = frame.f_code.co_name
            seen[name] = seen.get(name, 0) + 1
            prefix = name if seen[name] == 1 else f"{name}#{seen[name]}"
            roots.extend((f"{prefix}:{k}", v) for k, v in named_values(frame.f_locals))
        roots.extend((f"$rng.{name}", state) for name, state in rng.states())
        return roots


class NullAgent:
    """Capture hooks that do nothing: what instrumented code calls when no
    run is being captured (a resumed run whose store cannot be written,
    SNAPLINE_DISABLE=1, a notebook after `%unload_ext snapline` whose
    functions were instrumented while it was loaded)."""

    def __getattr__(self, name: str) -> Any:
        return _nothing

    def loop_enter(self, loop_id: int, plain_copy: bool = False) -> bool:
        """Run a loop's plain copy where it has one (rewrite.py)."""
        return plain_copy


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def named_values(namespace: Any) -> list[tuple[str, Any]]:
    """A namespace's variables: (name, value) less dunders, modules and
    compiler temporaries (what a snapshot records of a frame or module)."""
    out: list[tuple[str, Any]] = []
    for name, value in list(namespace.items()):
        if name.startswith("__") and name.endswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            continue
        if name.startswith("@"):  # compiler temporaries
            continue
        out.append((name, value))
    return out


# numpy's scalar types whose values become metric points like floats.
_NUMPY_SCALARS = ("float16", "float32", "float64", "longdouble", "int8", "int16", "int32",
                  "int64", "uint8", "uint16", "uint32", "uint64")


def _scalar_tracker(native: Any, recorder: Any) -> Any:
    """The Rust ScalarTracker for this recorder, or None (a recorder that is
    not the Rust one: metric points then come from snapshots only)."""
    try:
        return native.ScalarTracker(recorder)
    except Exception:  # noqa: BLE001 - capture goes on without per-iteration points
        return None


def _rng_fingerprint(state: Any) -> bytes:
    """The exact bytes of an RNG state (equal bytes: the same state)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(state, torch.Tensor):
        data: bytes = state.numpy().tobytes()
        return data
    return pickle.dumps(state, protocol=5)


def _tensor_scalar(value: Any) -> float | None:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().item())
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray) and value.size == 1:
        return float(value.item())
    return None


def _wire_float(value: float) -> Any:
    """JSON has no NaN or Infinity: those travel as "nan", "inf", "-inf"."""
    if math.isnan(value):
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return value


def _commit_json(payload: JsonObject) -> str:
    """A snapshot's commit as JSON, the text json.dumps writes: written in
    Rust where it can be (record_json.rs `commit_json`: 1.4 against 2.4 ms
    for a DCGAN epoch snapshot's 180 KB; issue #16), else by json (NaN, a
    value only str() can write)."""
    encode = native_function("commit_json")
    text = encode(payload) if encode is not None else None
    return text if text is not None else _dumps(payload)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    return str(obj)


def script_tb_entries(tb: types.TracebackType | None, script_path: str,
                      is_user_file: Callable[[str], bool] | None = None
                      ) -> list[types.TracebackType]:
    """The traceback entries in the script's own frames (or those of files
    `is_user_file` accepts), innermost first (the order
    `Agent._user_frames` gives)."""
    entries: list[types.TracebackType] = []
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == script_path or (is_user_file is not None and is_user_file(filename)):
            entries.append(tb)
        tb = tb.tb_next
    entries.reverse()
    return entries


_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        try:
            sys.stderr.write(f"snapline: {message}\n")
        except Exception:  # noqa: BLE001
            pass


# The capture settings a resumed run takes over from the run it continues.
RESUMED_OPTIONS = ("inner_every", "outer_every", "statements", "budget", "inner_every_given",
                   "outer_every_given", "loop_metrics")


def resumed_options(store: str, saved: Mapping[str, object]) -> Options:
    """Options for a run resumed from one captured with `saved` (its
    lineage's `options`): the same throttles, budget and loop metrics."""
    options = Options(store=store)
    for name in RESUMED_OPTIONS:
        if name in saved and hasattr(options, name):
            setattr(options, name, saved[name])
    return options

