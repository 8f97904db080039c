"""Run a script as `__main__` under capture, exactly as `python script.py`
would: same argv, sys.path, __file__, output, traceback and exit status."""

from __future__ import annotations

import builtins
import functools
import importlib.machinery
import os
import signal
import sys
import types
from typing import Any, NoReturn

from . import agent as agent_module
from . import lineage, project
from .agent import Agent, Options
from .code_cache import instrument_script
from .instrumented import HOOK_NAME, RESUME_HOOK_NAME, LoopInfo
from .recorder_open import RecorderOpening, main_path, open_recorder

# The agent of this process, for snapline.checkpoint() and snapline.log().
current: Agent | None = None


def _cannot_open(script: str, err: OSError) -> NoReturn:
    # The same line CPython prints for a script it cannot open: it names the
    # interpreter as it was invoked (argv[0]), not by its basename.
    orig_argv = getattr(sys, "orig_argv", None) or [sys.executable or "python"]
    prog = orig_argv[0]
    sys.stderr.write(f"{prog}: can't open file {main_path(script)!r}: "
                     f"[Errno {err.errno}] {err.strerror}\n")
    raise SystemExit(2)


def new_main_module(path: str,
                    spec: importlib.machinery.ModuleSpec | None = None) -> types.ModuleType:
    """A fresh `__main__` for the script (or for the module `spec`, as
    `python -m` makes it: __spec__, __package__, __loader__, __cached__)."""
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__dict__["__cached__"] = None
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    if spec is not None:
        module.__spec__ = spec
        module.__package__ = spec.parent
        module.__loader__ = spec.loader
        module.__dict__["__cached__"] = spec.cached
    module.__dict__["__builtins__"] = builtins
    if sys.version_info < (3, 14):
        module.__annotations__ = {}  # CPython's own __main__ has one (add_main_module)
    sys.modules["__main__"] = module
    return module


def _set_path0(directory: str) -> None:
    """sys.path[0] as python sets it for the script (or -m module) it runs,
    in place of this package's own entry."""
    if sys.path and sys.path[0] in ("", os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        sys.path[0] = directory
    else:
        sys.path.insert(0, directory)


class _NoModule(Exception):
    """A -m module that cannot be run (runpy's message)."""


def _find_main_module(name: str, finder: Any) -> Any:
    """The spec of the module `python -m NAME` runs (a package's
    `__main__`), its parent packages imported; what python prints and
    exit status 1 when there is none."""
    import runpy

    if finder is not None:
        finder.skip |= {name, f"{name}.__main__"}  # compiled by run() with statement hooks
    try:
        _, spec, _ = runpy._get_module_details(name, _NoModule)  # type: ignore[attr-defined]
    except _NoModule as err:
        sys.stderr.write(f"{sys.executable}: {err}\n")
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - a package's __init__ failed: as python does
        _report(exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        raise SystemExit(1) from None
    finally:
        if finder is not None:
            finder.skip -= {name, f"{name}.__main__"}
    return spec


def _install_signal_handlers(agent: Agent) -> None:
    def on_term(signum: int, frame: types.FrameType | None) -> None:
        if agent.in_snapshot:  # finish that snapshot first (see Agent._snapshot)
            agent.deferred = functools.partial(on_term, signum)
            return
        agent.on_signal(frame)
        agent.finish("killed", -signum, None, final_snapshot=False)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def on_int(signum: int, frame: types.FrameType | None) -> None:
        if agent.in_snapshot:
            agent.deferred = functools.partial(on_int, signum)
            return
        agent.on_signal(frame)
        agent.interrupted = True
        signal.default_int_handler(signum, frame)

    for signum, handler, default in (
        (signal.SIGTERM, on_term, signal.SIG_DFL),
        (signal.SIGINT, on_int, signal.default_int_handler),
    ):
        try:
            if signal.getsignal(signum) is default:
                signal.signal(signum, handler)
        except (ValueError, OSError):  # not the main thread, or not allowed
            pass


def _report(exc: BaseException, tb: types.TracebackType | None) -> None:
    """Print an uncaught exception as python would. The traceback goes on the
    exception itself too: sys.excepthook prints `exc.__traceback__` whenever
    it is set, ignoring its `tb` argument, which would show our own frames."""
    exc.__traceback__ = tb
    sys.excepthook(type(exc), exc, tb)


def _user_traceback(tb: types.TracebackType | None, path: str) -> types.TracebackType | None:
    """Drop the runner's own frames from the front of a traceback, and the
    agent's from its end (a KeyboardInterrupt raised by our SIGINT handler,
    or while a snapshot was being taken, ends in our frames)."""
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    last_user = None
    # A syntax error in a project module ends in importlib's frames then ours
    # (project.py compiling it): those go, as python drops importlib's.
    last_real, ours_after_real = None, False
    cur = tb
    while cur is not None:
        filename = cur.tb_frame.f_code.co_filename
        if is_agent_file(filename):
            ours_after_real = True
        else:
            last_user = cur
            if not filename.startswith("<frozen importlib"):
                last_real, ours_after_real = cur, False
        cur = cur.tb_next
    if ours_after_real and last_real is not None:
        last_user = last_real
    if last_user is not None:
        last_user.tb_next = None
    return tb


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_agent_file(filename: str) -> bool:
    """Whether `filename` is a file of this package (the agent's own frames)."""
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def run(script: str, args: list[str], options: Options, *, resume: Any = None,
        script_path: str | None = None, module_name: str | None = None,
        parent: tuple[str, int] | None = None,
        opening: RecorderOpening | None = None) -> None:
    """Runs the script (or, with `module_name`, that module as `python -m`
    does); returns normally when it does, otherwise raises the same
    SystemExit or dies by the same signal. With `resume`
    (restore.resume.Resume) it runs that continuation instead, captured as a
    run whose parent is the snapshot it continues. The user's own modules
    it imports are instrumented too (project.py). `opening`: the store
    already being opened for this script (`snapline run`'s start-up);
    used when it read the same source, else discarded."""
    global current
    disabled = os.environ.get("SNAPLINE_DISABLE", "") not in ("", "0")
    finder = None
    spec = None
    if module_name is not None:
        # As `python -m`: the working directory first on sys.path, the
        # module's packages imported (and instrumented) while finding it.
        _set_path0(os.getcwd())
        sys.argv = ["-m", *args]
        if not disabled:
            finder = project.install(project.ProjectFiles(os.getcwd()))
        spec = _find_main_module(module_name, finder)
        path = spec.origin
        script = path
        if finder is not None:
            finder.files.add_root(os.path.dirname(path))
    else:
        path = script_path or main_path(script)
    if resume is not None:
        source = resume.source
    else:
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as err:
            if opening is not None:
                opening.discard()
            _cannot_open(script, err)
    if opening is not None and (opening.path != path or opening.source != source
                                or resume is not None or module_name is not None or disabled):
        opening.discard()  # not this program's (the file changed meanwhile)
        opening = None

    argv = [script, *args]
    sys.argv = argv
    if module_name is None:
        _set_path0(os.path.dirname(os.path.realpath(path)))

    first_loop_id = finder.next_loop_id if finder is not None else 0
    loops: tuple[LoopInfo, ...]
    try:
        if resume is not None:
            code, loops = resume.instrument(path, first_loop_id)
        elif disabled:
            code = compile(source, path, "exec", dont_inherit=True)
            loops = ()
        else:
            instrumented = instrument_script(source, path, first_loop_id)
            code, loops = instrumented.code, instrumented.loops
    except SyntaxError as err:
        if opening is not None:
            opening.discard()
        _report(err, None)
        raise SystemExit(1) from None

    parent = resume.parent if resume is not None else parent
    if opening is not None:
        recorder, native = opening.result()
    elif disabled:
        recorder, native = None, None
    else:
        recorder, native = open_recorder(path, source, argv, options, parent, module_name)
    module = new_main_module(path, spec)
    agent = None
    if recorder is not None:
        agent = Agent(recorder, native, path, loops, options)
        agent.local_modules = lineage.LocalModules(path)
        if finder is None:
            finder = project.install(project.ProjectFiles(os.path.dirname(path), os.getcwd()))
        finder.attach(agent)
        if options.nan_hooks:
            from .nan_hooks import NanHooks

            agent.nan_hooks = NanHooks(agent)
            agent.nan_hooks.install()
        _install_signal_handlers(agent)
        os.register_at_fork(after_in_child=agent.disable_in_child)
        from . import frameworks

        frameworks.install()  # Trainer / Lightning callbacks, when the script imports them
    elif resume is None:
        code = compile(source, path, "exec", dont_inherit=True)
    current = agent
    setattr(builtins, HOOK_NAME, agent)
    if agent is None and finder is not None and resume is None:
        # The -m module's packages were instrumented before the store failed.
        from .agent import NullAgent

        setattr(builtins, HOOK_NAME, NullAgent())
    if resume is not None:
        from .agent import NullAgent

        resume.hooks.namespace = module.__dict__
        setattr(builtins, RESUME_HOOK_NAME, resume.hooks)
        if agent is None:
            setattr(builtins, HOOK_NAME, NullAgent())
        else:
            agent.resumer = resume.hooks

    try:
        exec(code, module.__dict__)  # noqa: S102 - running the user's script is the point
    except ResumeAborted as exc:
        if agent is not None:
            agent.enabled = False
            agent.finish("failed", 1, None, final_snapshot=False)
            _discard(agent)  # refused before the program ran: no run is left
        sys.stderr.write(f"snapline: error: {exc}\n")
        raise SystemExit(1) from None
    except SystemExit as exc:
        if agent is not None:
            status = "finished" if exc.code in (None, 0) else "failed"
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            agent.finish(status, exit_code, None, final_snapshot=True,
                         frame=_last_frame(exc.__traceback__, path))
        raise
    except KeyboardInterrupt as exc:
        # The traceback python prints, also the one the run records.
        exc.__traceback__ = _user_traceback(exc.__traceback__, path)
        if agent is not None:
            if not agent.interrupted:
                agent.on_exception(exc)
            agent.finish("killed", -int(signal.SIGINT), exc, final_snapshot=False)
        _report(exc, exc.__traceback__)
        sys.stdout.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(130) from None
    except BaseException as exc:  # noqa: BLE001 - report exactly as python would
        exc.__traceback__ = _user_traceback(exc.__traceback__, path)
        if agent is not None:
            agent.on_exception(exc)
            agent.finish("failed", 1, exc, final_snapshot=False)
        _report(exc, exc.__traceback__)
        raise SystemExit(1) from None
    else:
        if agent is not None:
            agent.finish("finished", 0, None, final_snapshot=True, frame=None)
    finally:
        current = None


class ResumeAborted(BaseException):
    """Raised from a resume hook (restore/resume.py) when the state turned
    out not to be exact (a damaged chunk...) and --force was not given.
    Nothing of the user's program has run yet beyond its imports,
    definitions and settings: the run is discarded and exits 1."""


def _discard(agent: Agent) -> None:
    try:
        agent.recorder.discard()
    except Exception as err:  # noqa: BLE001 - the refusal itself is what matters
        sys.stderr.write(f"snapline: the refused resume's run could not be removed: {err}\n")


def _last_frame(tb: types.TracebackType | None, path: str) -> types.FrameType | None:
    """The innermost frame of the script in a traceback, or None."""
    entries = agent_module.script_tb_entries(tb, path)
    return entries[0].tb_frame if entries else None
