"""The user's own modules: an import hook that instruments every module of
the project the script imports (`engine.py`'s `train_one_epoch`, the other
modules of a package run with `-m`) with the same loop hooks as the script.

A module belongs to the project when its source file lies under the
script's directory or the working directory, and not under the
interpreter's prefixes, the standard library, a `site-packages` or
`dist-packages` directory, a virtual environment (a directory holding
`pyvenv.cfg`) or the snapline package itself.

The instrumented code comes from Snapline's own code cache (code_cache.py)
or is compiled from the source, and is never written to `__pycache__` (nor
read from it): plain python runs of the same project keep their own cached
bytecode. `__file__`, tracebacks, `inspect`
and `linecache` see the module's own file and lines."""

from __future__ import annotations

import importlib.machinery
import os
import sys
import threading
from typing import Any

from .code_cache import instrument_module
from .instrumented import LoopInfo

_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "")
_THIRD_PARTY_DIRS = ("site-packages", "dist-packages")


class ProjectFiles:
    """Which source files are the user's project (see the module's doc)."""

    def __init__(self, *directories: str) -> None:
        """`directories`: the script's directory and the working directory."""
        self.roots: tuple[str, ...] = ()
        for directory in directories:
            self.add_root(directory)
        self._excluded: tuple[str, ...] | None = None
        self._venv_dirs: dict[str, bool] = {}

    @property
    def excluded(self) -> tuple[str, ...]:
        """The interpreter's prefixes and install directories, found when a
        file below a root first asks (`sysconfig` costs a run's start-up
        about 1 ms)."""
        if self._excluded is None:
            excluded = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
            # The prefixes meanwhile: importing sysconfig (and its data
            # module) comes through this finder too, and may ask again.
            self._excluded = tuple(os.path.join(os.path.realpath(p), "") for p in excluded if p)
            import sysconfig

            for name in ("stdlib", "platstdlib", "purelib", "platlib"):
                try:
                    excluded.add(sysconfig.get_path(name))
                except KeyError:
                    continue
            self._excluded = tuple(os.path.join(os.path.realpath(p), "") for p in excluded if p)
        return self._excluded

    def add_root(self, directory: str) -> None:
        real = os.path.join(os.path.realpath(directory), "")
        # A working directory of / would make every file the project's.
        if real != os.sep and real not in self.roots:
            self.roots = (*self.roots, real)
            self._venv_dirs = {}

    def contains(self, filename: str) -> bool:
        """True for a `.py` file of the project (symlinks resolved)."""
        if not isinstance(filename, str) or not filename.endswith(".py"):
            return False
        if any(part in filename for part in _THIRD_PARTY_DIRS):
            return False  # most imports: decided without touching the disk
        real = os.path.realpath(filename)
        if not real.startswith(self.roots) or real.startswith(_PACKAGE_DIR):
            return False
        if real.startswith(self.excluded):
            return False
        parts = real.split(os.sep)
        if any(part in _THIRD_PARTY_DIRS for part in parts):
            return False
        return not self._in_venv(os.path.dirname(real))

    def _in_venv(self, directory: str) -> bool:
        """Whether `directory` is inside a virtual environment below a root."""
        found = self._venv_dirs.get(directory)
        if found is not None:
            return found
        parent = os.path.dirname(directory)
        if os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            found = True
        elif parent == directory or not os.path.join(parent, "").startswith(self.roots):
            found = False
        else:
            found = self._in_venv(parent)
        self._venv_dirs[directory] = found
        return found


class ProjectLoader(importlib.machinery.SourceFileLoader):
    """Loads a project module from its source, instrumented; the finder
    learns its loops."""

    def __init__(self, fullname: str, path: str, finder: ProjectFinder) -> None:
        super().__init__(fullname, path)
        self.finder = finder

    def get_code(self, fullname: str) -> Any:
        """Instrumented from the source, or found in the code cache;
        `__pycache__` is neither read nor written. A syntax error is the
        one plain python raises."""
        path = self.get_filename(fullname)
        source = self.get_data(path)
        try:
            return self.finder.instrument(source, path)
        except SyntaxError:
            raise
        except Exception as exc:  # noqa: BLE001 - the failsafe: import it uninstrumented
            self.finder.failed(path, exc)
        return compile(source, path, "exec", dont_inherit=True)


class ProjectFinder:  # a meta path finder (importlib.abc costs 10 ms to import)
    """Finds modules as the path finder does; those of the project get a
    ProjectLoader. Their loops are numbered after those instrumented
    before, and registered with the agent (kept until one is attached: a
    `-m` module's packages are imported before the run starts)."""

    def __init__(self, files: ProjectFiles) -> None:
        self.files = files
        self.agent: Any = None
        self.modules: list[tuple[str, tuple[LoopInfo, ...]]] = []  # (path, loops) instrumented so far
        self._next_loop_id = 0
        self._lock = threading.Lock()
        # Names someone else resolves for now (runner.py: the -m module).
        self.skip: set[str] = set()

    @property
    def next_loop_id(self) -> int:
        return self.agent.next_loop_id if self.agent is not None else self._next_loop_id

    def attach(self, agent: Any) -> None:
        """From now on loops are registered with `agent` (those of the
        modules instrumented before too)."""
        with self._lock:
            for path, loops in self.modules:
                agent.register_module(path, loops)
            agent.next_loop_id = max(agent.next_loop_id, self._next_loop_id)
            self.agent = agent

    def instrument(self, source: bytes, path: str) -> Any:
        with self._lock:
            result = instrument_module(source, path, self.next_loop_id)
            self.modules.append((path, result.loops))
            self._next_loop_id = max([self._next_loop_id, *(i.loop_id + 1 for i in result.loops)])
            if self.agent is not None:
                self.agent.register_module(path, result.loops)
        return result.code

    def failed(self, path: str, exc: BaseException) -> None:
        if self.agent is not None:
            self.agent._internal_error(RuntimeError(
                f"{path} could not be instrumented ({type(exc).__name__}: {exc})"))

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in self.skip:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec
        if spec.origin is None or not self.files.contains(spec.origin):
            return spec
        spec.loader = ProjectLoader(fullname, spec.origin, self)
        return spec

    def invalidate_caches(self) -> None:
        importlib.machinery.PathFinder.invalidate_caches()


def install(files: ProjectFiles) -> ProjectFinder:
    """Puts a finder for `files` before the path finder on sys.meta_path."""
    finder = ProjectFinder(files)
    position = next((i for i, f in enumerate(sys.meta_path)
                     if f is importlib.machinery.PathFinder), len(sys.meta_path))
    sys.meta_path.insert(position, finder)
    return finder
