"""`%load_ext snapline`: capture an IPython session or a Jupyter kernel.

Loading the extension starts one run in the store (`.snapline/` in the
kernel's working directory, or `$SNAPLINE_STORE`), named after the notebook
when the front end tells (JupyterLab's `JPY_SESSION_NAME`, VS Code's
`__vsc_ipynb_file__`), else `ipython`. Then:

* every cell's end is a snapshot (trigger `cell`, label `In [N]`), a cell
  that raised included, with the locals of the user's frames the exception
  went through;
* the loops written in a cell get loop-iteration snapshots, as in a script
  (the cell's AST is rewritten by an IPython AST transformer; no statement
  hooks: the cell's end is its statement boundary);
* each cell's source goes to the store, and the run's lineage lists the
  cells: `cells: [{execution_count, seq, hash, code}]` (`hash`: the source
  as typed, `code`: the Python IPython ran, when different);
* `%snapline log` lists the session's snapshots, `%snapline checkout SEQ`
  brings the variables back to snapshot SEQ in place (only those that
  differ), `%snapline restore RUN@SEQ` loads another run's snapshot into
  this kernel, `%snapline budget PERCENT` sets the share of the time cells
  run that loop snapshots may take (the wait between cells does not count).

The captured globals are the user namespace less IPython's own names
(In, Out, _, _i, _N, get_ipython...). The agent stays failsafe: an error in
it becomes a warning stored with the run; the cells' output never changes.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import builtins
import json
import os
import re
import shlex
import sys
import threading
import time
import types
from typing import Any, TypedDict

from . import project
from .agent import BUDGET_FLOOR_S, Agent, NullAgent, Options, named_values, options_dict
from .rewrite import HOOK_NAME, TreeRewriter, clone
from .values import JsonObject

# IPython's own names in the user namespace (the numbered _N, _iN too).
_IPYTHON_NAMES = frozenset({
    "In", "Out", "_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh", "_exit_code",
    "get_ipython", "exit", "quit",
})
_NUMBERED = re.compile(r"^_i?\d+$")
# Names front ends put in the namespace for their own use (VS Code's variable viewer).
_FRONT_END_PREFIXES = ("_VSCODE_",)
# A global variable's entry path is its bare name.
_GLOBAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# How long `%snapline log` and `checkout` wait for the writer to commit.
COMMIT_WAIT = 10.0

# The capture of this process, while the extension is loaded.
current: NotebookCapture | None = None


class Cell(TypedDict, total=False):
    """One entry of a notebook run's lineage `cells` (restore/session.py reads them)."""

    execution_count: int
    seq: int | None  # the cell's snapshot
    hash: str  # the source as typed: its digest,
    hash_chunks: list[str]  # and its chunks when it spans several
    code: str  # the Python IPython ran, when different
    code_chunks: list[str]
    error: str  # what the cell raised


def load(shell: Any) -> None:
    """`%load_ext snapline` (snapline.load_ipython_extension)."""
    global current
    if current is not None:
        return
    if os.environ.get("SNAPLINE_DISABLE", "") not in ("", "0"):
        sys.stderr.write("snapline: SNAPLINE_DISABLE is set; this session is not captured\n")
        return
    capture = NotebookCapture.start(shell)
    if capture is not None:
        current = capture


def unload(shell: Any) -> None:
    """`%unload_ext snapline`: the run ends (status finished)."""
    global current
    capture, current = current, None
    if capture is not None:
        capture.stop()


def current_agent() -> Agent | None:
    return current.agent if current is not None else None


class _CellTransformer(ast.NodeTransformer):
    """The entry in `shell.ast_transformers`; IPython calls `visit(module)`."""

    def __init__(self, capture: NotebookCapture) -> None:
        self.capture = capture

    def visit(self, node: Any) -> Any:
        return self.capture.instrument(node)


class NotebookCapture:
    """One IPython session captured as one run."""

    def __init__(self, shell: Any, agent: Agent, store: str, name: str) -> None:
        self.shell = shell
        self.agent = agent
        self.store = store
        self.name = name
        self.run_id = agent.recorder.run_id
        # Loop hooks only (no statement hooks in a cell). One instance serves
        # the whole session, so loop ids keep growing across cells (they
        # index the agent's loop tables).
        self.rewriter = TreeRewriter(statements=False)
        self.transformer = _CellTransformer(self)
        self.cells: list[Cell] = []
        self.code: list[str] = []  # the Python of every cell run, for the run's script source
        self.pending = False  # between pre_run_cell and the cell's AST transform
        # When the last cell ended (None while one runs): the time budget
        # refills while cells run, not while the kernel waits for the next.
        self.idle_since: float | None = None
        self.stopped = False
        self.reader: Any = None
        agent.is_user_file = self.is_cell_file
        # The project's modules the session imports (project.py), set by start().
        self.finder: Any = None
        agent.global_items = self.global_items

    # -- start and stop ----------------------------------------------------------
    @classmethod
    def start(cls, shell: Any) -> NotebookCapture | None:
        store = os.path.abspath(os.environ.get("SNAPLINE_STORE") or ".snapline")
        name, path = _session_name(shell)
        options = Options(store=store, statements=False)
        try:
            from . import _native, lineage

            run_lineage = lineage.collect(path, list(sys.argv), "", options_dict(options))
            # No file holds a session's source: the cells do (lineage `cells`).
            run_lineage["script_path"] = "<ipython>"
            if path != "<ipython>":
                run_lineage["notebook"] = os.path.abspath(path)
            info = {"script": name, "started_at": time.time(), "lineage": run_lineage}
            recorder = _native.Recorder(store, json.dumps(info))
        except Exception as exc:  # noqa: BLE001 - capture must never stop the session
            sys.stderr.write(f"snapline: cannot capture into {store!r}: {exc}; this session "
                             "is not captured (set SNAPLINE_STORE to a writable directory)\n")
            return None
        agent = Agent(recorder, _native, "In [?]", (), options)
        # The thread that runs the cells (not always the main one in a kernel).
        agent.main_thread = threading.current_thread()
        capture = cls(shell, agent, store, name)
        setattr(builtins, HOOK_NAME, agent)
        try:
            # Modules of the project in the working directory get loop hooks too.
            capture.finder = project.install(project.ProjectFiles(os.getcwd()))
            capture.finder.attach(agent)
        except Exception as exc:  # noqa: BLE001 - capture goes on without them
            capture._warn(exc)
        from . import frameworks

        frameworks.install()  # Trainer / Lightning callbacks, when the session imports them
        shell.events.register("pre_run_cell", capture.pre_run_cell)
        shell.events.register("post_run_cell", capture.post_run_cell)
        shell.ast_transformers.append(capture.transformer)
        shell.register_magic_function(capture.magic, magic_kind="line", magic_name="snapline")
        atexit.register(capture.stop)
        _register_fork_handler()
        sys.stdout.write(f"snapline: capturing this session as run {capture.run_id} in "
                         f"{store} (%snapline log, %snapline checkout SEQ)\n")
        return capture

    def stop(self) -> None:
        """Ends the run (idempotent; also at interpreter exit)."""
        if self.stopped:
            return
        self.stopped = True
        shell = self.shell
        for event, callback in (("pre_run_cell", self.pre_run_cell),
                                ("post_run_cell", self.post_run_cell)):
            try:
                shell.events.unregister(event, callback)
            except ValueError:
                pass
        if self.transformer in shell.ast_transformers:
            shell.ast_transformers.remove(self.transformer)
        shell.magics_manager.magics["line"].pop("snapline", None)
        if getattr(builtins, HOOK_NAME, None) is self.agent:
            # Functions and modules instrumented while loaded still call hooks.
            setattr(builtins, HOOK_NAME, NullAgent())
        if self.finder is not None and self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        if self.agent.enabled and os.getpid() == self.agent.pid:
            self.agent.script_path = self.name
            self._guarded(self._end_snapshot)
        self.agent.finish("finished", 0, None, final_snapshot=False)
        try:
            atexit.unregister(self.stop)
        except Exception:  # noqa: BLE001
            pass

    # -- what is the user's ----------------------------------------------------
    def is_cell_file(self, filename: str) -> bool:
        """The code objects of cells (and of functions defined in them)."""
        compiler = getattr(self.shell, "compile", None)
        names = getattr(compiler, "_filename_map", None)
        return ((names is not None and filename in names) or filename.startswith("<ipython-input-")
                or filename in self.agent.project_files)

    def global_items(self) -> list[tuple[str, object]]:
        """The user namespace less IPython's own names and modules."""
        hidden = self.shell.user_ns_hidden
        keep: dict[str, object] = {}
        for name, value in list(self.shell.user_ns.items()):
            if name in _IPYTHON_NAMES or _NUMBERED.match(name):
                continue
            if name in hidden and hidden[name] is value:
                continue
            if name.startswith(_FRONT_END_PREFIXES):
                continue
            keep[name] = value
        return named_values(keep)

    # -- the cell's life ---------------------------------------------------------
    def pre_run_cell(self, info: Any = None) -> None:
        self.pending = True
        self._guarded(self._skip_idle_refill)
        count = self.shell.execution_count
        if info is None or getattr(info, "store_history", False):
            count -= 1  # already counted when pre_run_cell fires
        self.agent.script_path = f"In [{count}]"

    def instrument(self, tree: Any) -> Any:
        """The cell's AST with loop hooks (only the cell's own AST: the ASTs
        %timeit and %%time transform later in the same cell stay as they are)."""
        if not self.pending or not self.agent.enabled or not isinstance(tree, ast.Module):
            return tree
        self.pending = False
        try:
            rewritten = clone(tree)
            new = self.rewriter.rewrite(rewritten, self.agent.next_loop_id)
            if not new:
                return tree
            # Instrumentation must not turn a cell that compiles into one that
            # does not (too many nested blocks): then it runs as written.
            flags = getattr(self.shell.compile, "flags", 0) | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            try:
                compile(rewritten, "<snapline cell>", "exec", flags=flags, dont_inherit=True)
            except SyntaxError:
                return tree
            for info in new:
                self.agent.loop_lines[info.loop_id] = info.lineno
                self.agent.loop_kinds[info.loop_id] = info.kind
                self.agent.loop_assigned[info.loop_id] = info.assigned
            # The project's modules (project.py) number their loops after these.
            self.agent.next_loop_id = max(self.agent.next_loop_id, new[-1].loop_id + 1)
            return rewritten
        except Exception as exc:  # noqa: BLE001 - the cell runs uninstrumented
            self._warn(exc)
            return tree

    def post_run_cell(self, result: Any = None) -> None:
        self._guarded(self._cell_done, result)
        self.idle_since = time.monotonic()

    def _skip_idle_refill(self) -> None:
        """The loop snapshots' time budget (Agent._within_budget) is a share
        of the time cells run: the wait for the user's next cell does not
        refill it, or every cell after a pause would get a fresh burst
        (up to BUDGET_BURST_S, 0.2 s: +20% on a one-second cell)."""
        if self.idle_since is not None:
            self.agent.budget_at += max(0.0, time.monotonic() - self.idle_since)
            self.idle_since = None

    def _cell_done(self, result: Any) -> None:
        agent = self.agent
        self.pending = False
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", None) or ""
        count = getattr(result, "execution_count", None)
        if not source.strip() or count is None or not agent.enabled or os.getpid() != agent.pid:
            return
        label = f"In [{count}]"
        agent.script_path = label  # the snapshots' `file`
        agent.unwound = None
        # The sources first: a blob becomes durable with the next snapshot.
        entry: Cell = {"execution_count": count}
        entry["hash"], chunks = self._put_text(source)
        if chunks is not None:
            entry["hash_chunks"] = chunks
        code = getattr(info, "transformed_cell", None)
        if code is None:
            code = self._transform(source)
        if code is not None:
            self.code.append(code)
            if code != source:
                entry["code"], chunks = self._put_text(code)
                if chunks is not None:
                    entry["code_chunks"] = chunks
        error = getattr(result, "error_in_exec", None)
        failure = error if error is not None else getattr(result, "error_before_exec", None)
        if failure is not None:
            entry["error"] = f"{type(failure).__name__}: {failure}"[:500]
        frames, line = self._failed_frames(error)
        entry["seq"] = agent.take("cell", label=label, frames=frames, line=line)
        self.cells.append(entry)
        agent.recorder.set_lineage("cells", json.dumps(self.cells))

    def _failed_frames(self, error: Any) -> tuple[list[types.FrameType], int | None]:
        """The cell frames (and their functions') an exception went
        through, innermost first, and the innermost line."""
        if error is None:
            return [], None
        entries = []
        tb = error.__traceback__
        while tb is not None:
            if self.is_cell_file(tb.tb_frame.f_code.co_filename):
                entries.append(tb)
            tb = tb.tb_next
        entries.reverse()
        if not entries:
            return [], None
        return [tb.tb_frame for tb in entries], entries[0].tb_lineno

    def _transform(self, source: str) -> str | None:
        try:
            return str(self.shell.transform_cell(source))
        except Exception:  # noqa: BLE001
            return None

    def _put_text(self, text: str) -> tuple[str, list[str] | None]:
        """Stores `text`: its digest, and its chunk list when it is not one chunk."""
        data = text.encode("utf-8", "surrogatepass")
        chunks: list[str] = self.agent.recorder.put_blob(data)
        digest: str = self.agent.native.hash_bytes(data)
        return digest, (chunks if len(chunks) != 1 else None)

    def _end_snapshot(self) -> None:
        """The session's last snapshot (trigger `exit`), which also stores
        every cell's Python, in order, as the run's script source (a blob
        becomes durable with the snapshot that follows it)."""
        data = "\n".join(self.code).encode("utf-8", "surrogatepass") if self.code else None
        if data is not None:
            self.agent.recorder.put_blob(data)
        if self.agent.take("exit") is not None and data is not None:
            digest = self.agent.native.hash_bytes(data)
            self.agent.recorder.set_lineage("script_hash", json.dumps(digest))

    # -- failsafe ------------------------------------------------------------------
    def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - never disturb the cell's output
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        self.agent._internal_error(exc)

    # -- %snapline -------------------------------------------------------------------
    def magic(self, line: str = "") -> None:
        """%snapline [log | checkout SEQ | restore RUN@SEQ [--store DIR]]"""
        try:
            words = shlex.split(line)
        except ValueError as err:
            print(f"snapline: {err}")
            return
        command = words[0] if words else ""
        if command == "":
            self.status()
        elif command == "log":
            self.log()
        elif command == "checkout" and len(words) == 2:
            try:
                seq = int(words[1])
            except ValueError:
                print(f"snapline: checkout takes a snapshot number of this session, "
                      f"not {words[1]!r} (see %snapline log)")
                return
            self.checkout(seq)
        elif command == "restore":
            self.restore(words[1:])
        elif command == "budget" and len(words) <= 2:
            self.budget(words[1] if len(words) == 2 else None)
        else:
            print(_USAGE)

    def budget(self, percent: str | None) -> None:
        """%snapline budget [PERCENT]: the share of time loop snapshots may take."""
        from .__main__ import budget_share

        options = self.agent.options
        if percent is not None:
            try:
                options.budget = budget_share(percent)
            except Exception as err:  # noqa: BLE001 - argparse's message
                print(f"snapline: budget: {err}")
                return
            self.agent.budget_noted = False
            # A fresh start at the new rate: the floor, refilled from now on.
            self.agent.budget_left, self.agent.budget_at = BUDGET_FLOOR_S, time.monotonic()
            self.agent.budget_until = 0.0
        state = f"{options.budget * 100:g}% of the time" if options.budget > 0 else "no budget"
        print(f"snapline: loop snapshots may take {state} (%snapline budget PERCENT; 0: "
              "no budget)")

    def status(self) -> None:
        state = "capturing" if self.agent.enabled else "capture stopped"
        print(f"snapline: {state}: run {self.run_id} ({self.name}) in {self.store}, "
              f"{self.agent.seq} snapshots")
        print(_USAGE)

    def log(self) -> None:
        """%snapline log: this session's snapshots."""
        rows = self._snapshots()
        if rows is None:
            return
        print(f"run {self.run_id} ({self.name}), {len(rows)} snapshots in {self.store}")
        print(f"{'seq':>5}  {'trigger':<10} {'label':<24} {'where':<14} {'time':<8} "
              f"{'new bytes':>10}")
        for row in rows:
            where = row.get("file") or ""
            if row.get("line") is not None:
                where += f":{row['line']}"
            loops = row.get("loops") or []
            if loops:
                where += " " + "/".join(str(n) for n in loops)
            stamp = time.strftime("%H:%M:%S", time.localtime(row.get("time") or 0))
            print(f"{row.get('seq'):>5}  {row.get('trigger', ''):<10} "
                  f"{(row.get('label') or ''):<24} {where:<14} {stamp:<8} "
                  f"{_size(row.get('bytes_new') or 0):>10}")

    def _snapshots(self) -> list[JsonObject] | None:
        reader = self._reader()
        if reader is None:
            return None
        self._wait_committed(self.agent.seq - 1)
        rows: list[JsonObject] = json.loads(reader.snapshots(self.run_id))
        return rows

    def _reader(self) -> Any:
        if self.reader is None:
            from . import _native

            try:
                self.reader = _native.Reader(self.store)
            except Exception as err:  # noqa: BLE001
                print(f"snapline: cannot read the store {self.store}: {err}")
                return None
        return self.reader

    def _wait_committed(self, seq: int) -> bool:
        """Snapshots are written by a background thread: wait until `seq`
        is in the catalog (or the writer failed, or COMMIT_WAIT passed)."""
        if seq < 0:
            return True
        reader = self._reader()
        deadline = time.monotonic() + COMMIT_WAIT
        while True:
            try:
                reader.snapshot(self.run_id, seq)
                return True
            except Exception:  # noqa: BLE001 - not committed yet
                pass
            if time.monotonic() > deadline or self.agent.recorder.failure() is not None:
                return False
            time.sleep(0.01)

    def checkout(self, seq: int) -> None:
        """%snapline checkout SEQ: the variables as they were at snapshot SEQ,
        in place. The current state is saved first (a snapshot to come back
        to); then only the variables whose content differs from SEQ are
        rebuilt, those SEQ did not have are deleted, and the random states
        are set back. Everything else keeps its identity."""
        from .restore import RestoreError, Session

        agent = self.agent
        if not agent.enabled:
            print("snapline: capture has stopped in this session; checkout needs it "
                  "(it saves the current state first)")
            return
        if not 0 <= seq < agent.seq:
            print(f"snapline: this session has snapshots 0 to {agent.seq - 1}; "
                  f"no snapshot {seq} (see %snapline log)")
            return
        agent.keep_graph = True
        try:
            saved = agent.take("explicit", label=f"before checkout {seq}")
            graph = agent.last_graph
        finally:
            agent.keep_graph = False
            agent.last_graph = None
        if saved is None or graph is None:
            print("snapline: the current state could not be saved; nothing was changed")
            return
        print(f"snapline: saved the current state as snapshot {saved} "
              f"(%snapline checkout {saved} comes back to it)")
        if not self._wait_committed(seq):
            print(f"snapline: snapshot {seq} is not in the store; nothing was changed")
            return
        try:
            session = Session(self.store, f"{self.run_id}@{seq}")
        except RestoreError as err:
            print(f"snapline: {err}; nothing was changed")
            return
        namespace = self.shell.user_ns
        now = {path: (node, digest) for path, node, digest in graph.entries}
        then = session.snapshot.entries
        wanted = session.roots.globals
        current = {name for name in now if _GLOBAL.match(name)}
        changed = sorted(name for name in wanted
                         if name not in now or now[name][1] != then[name][1])
        same = set(wanted) - set(changed)
        later = current - set(wanted)
        # Functions and classes the cells defined are code, not state (and
        # are stored by name only): those defined since SEQ stay.
        kept = sorted(name for name in later if _is_definition(namespace.get(name)))
        gone = sorted(later - set(kept))

        # What the rebuilt variables share with the kept ones stays shared:
        # objects under an unchanged variable stand for their nodes at SEQ.
        rebuilder = session.rebuilder_for(namespace)
        for path, (node, digest) in then.items():
            if _root(path) in same and path in now and now[path][1] == digest:
                rebuilder.by_node.setdefault(node, graph.keepalive[now[path][0]])
        session.restore_globals(namespace, names=set(changed))
        session.restore_rng(namespace)
        for name in gone:
            namespace.pop(name, None)
        del graph

        report = session.report
        restored = [n for n in changed if n in report.restored]
        label = session.snapshot.meta.get("label")
        print(f"snapline: checked out snapshot {seq}" + (f" ({label})" if label else ""))
        print(f"  restored: {', '.join(restored) if restored else 'nothing'}")
        if gone:
            print(f"  deleted (not there at snapshot {seq}): {', '.join(gone)}")
        if kept:
            print(f"  kept (functions and classes defined since): {', '.join(kept)}")
        print(f"  unchanged, kept as they are: {len(same)} variables")
        for path, how in report.rebuilt:
            print(f"  rebuilt: {path}: {how}")
        for path, why in report.missing:
            print(f"  could not restore {path}: {why}")

    def restore(self, args: list[str]) -> None:
        """%snapline restore RUN@SEQ [--store DIR]: another snapshot's state
        in this kernel (what `snapline restore --jupyter` serves, for front
        ends that attach only to their own kernels)."""
        from .restore import RestoreError, Session

        parser = argparse.ArgumentParser(prog="%snapline restore", add_help=False)
        parser.add_argument("snapshot")
        parser.add_argument("--store", default=self.store)
        try:
            ns = parser.parse_args(args)
        except SystemExit:
            print("usage: %snapline restore RUN@SEQ [--store DIR]")
            return
        try:
            session = Session(ns.store, ns.snapshot)
            from .restore.sandbox import confine

            confine(session, in_process=True)  # never confine the user's kernel
            report = session.restore_interactive(self.shell.user_ns)
        except RestoreError as err:
            print(f"snapline: {err}")
            return
        print(report.render(f"snapline: restored {session.snapshot.ref} of "
                            f"{session.snapshot.run.get('script')} "
                            f"(working directory: {os.getcwd()})"))


_USAGE = """\
%snapline log               this session's snapshots
%snapline checkout SEQ      the variables as at snapshot SEQ (the current state is saved first)
%snapline restore RUN@SEQ   load a snapshot of another run into this kernel [--store DIR]
%snapline budget [PERCENT]  the share of time loop snapshots may take (default 2; 0: none)"""


def _session_name(shell: Any) -> tuple[str, str]:
    """(run name, notebook path or "<ipython>")."""
    for path in (shell.user_ns.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(path, str) and path:
            return os.path.basename(path), path
    return "ipython", "<ipython>"


def _is_definition(value: Any) -> bool:
    return (isinstance(value, (types.FunctionType, type))
            and getattr(value, "__module__", None) == "__main__")


def _root(path: str) -> str:
    """The variable a path starts from (`params["W1"]` -> `params`)."""
    for i, ch in enumerate(path):
        if ch in ".[{" and i:
            return path[:i]
    return path


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


_fork_handler_registered = False


def _register_fork_handler() -> None:
    global _fork_handler_registered
    if not _fork_handler_registered:
        _fork_handler_registered = True
        os.register_at_fork(after_in_child=_disable_in_child)


def _disable_in_child() -> None:
    if current is not None:
        current.agent.disable_in_child()
