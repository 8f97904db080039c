"""Opening a run's recorder (the Rust store, `_native.Recorder`): the
store's directory and catalog, the run's row, its writer thread. Creating a
store waits on fsyncs, so `snapline run` starts it on a thread
(`RecorderOpening`) before it imports the agent's own modules, and the two
overlap (the recorder releases the GIL while it opens). Imports nothing
heavy, for that reason."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from typing import Any, Optional

    from .options import Options

    # (the recorder, the native module), or (None, None) without capture.
    Opened = tuple[Any, Optional[types.ModuleType]]


def main_path(script: str) -> str:
    """The script's path as CPython makes it for `__file__` and tracebacks:
    joined to the working directory, not normalized (`/cwd/../x.py`)."""
    return script if os.path.isabs(script) else os.path.join(os.getcwd(), script)


def open_recorder(path: str, source: bytes, argv: list[str], options: Options,
                  parent: tuple[str, int] | None = None,
                  module_name: str | None = None) -> Opened:
    """The Rust recorder for this run, or None (with one warning line) when
    the store cannot be used; the program then runs without capture."""
    try:
        return _open(path, source, argv, options, parent, module_name)
    except Exception as exc:  # noqa: BLE001 - capture must never stop the program
        _cannot_capture(options, exc)
        return None, None


def _cannot_capture(options: Options, exc: Exception) -> None:
    sys.stderr.write(f"snapline: cannot capture into {options.store!r}: {exc}; "
                     "running without capture (pass --store DIR for a writable store)\n")


def _open(path: str, source: bytes, argv: list[str], options: Options,
          parent: tuple[str, int] | None, module_name: str | None) -> Opened:
    from . import _native, lineage
    from .options import options_dict

    digest = _native.hash_bytes(source)
    run_lineage = lineage.collect(path, argv, digest, options_dict(options))
    info: dict[str, object] = {
        "script": os.path.basename(path),
        "started_at": time.time(),
        "lineage": run_lineage,
    }
    if module_name is not None:
        run_lineage["module"] = module_name  # run with -m
    if parent is not None:
        info["parent_run"], info["parent_seq"] = parent
        run_lineage["resumed_from"] = f"{parent[0]}@{parent[1]}"
    recorder = _native.Recorder(os.path.abspath(options.store), json.dumps(info))
    recorder.put_blob(source)  # the script's source, content-addressed
    return recorder, _native


class RecorderOpening:
    """`open_recorder` for a script, started on a thread. `result()` waits
    for it (and says, as `open_recorder` does, when the store cannot be
    used); a run that ends before its program starts (a syntax error) is
    discarded with `discard()`, so that no run is left for it, as before."""

    @classmethod
    def start(cls, script: str, args: list[str], options: Options) -> RecorderOpening | None:
        """Starts opening the store for `script`; None where run() decides
        alone (capture disabled, or the script unreadable: its error)."""
        if os.environ.get("SNAPLINE_DISABLE", "") not in ("", "0"):
            return None
        path = main_path(script)
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            return None
        return cls(path, source, [script, *args], options)

    def __init__(self, path: str, source: bytes, argv: list[str], options: Options) -> None:
        self.path = path
        self.source = source
        self.options = options
        self._opened: Opened = (None, None)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._open, args=(argv,),
                                        name="snapline-open", daemon=True)
        self._thread.start()

    def _open(self, argv: list[str]) -> None:
        try:
            self._opened = _open(self.path, self.source, argv, self.options, None, None)
        except Exception as exc:  # noqa: BLE001 - said by result(), on the main thread
            self._error = exc

    def result(self) -> Opened:
        self._thread.join()
        if self._error is not None:
            _cannot_capture(self.options, self._error)
        return self._opened

    def discard(self) -> None:
        self._thread.join()
        recorder, _ = self._opened
        if recorder is None:
            return
        try:
            recorder.finish("failed", time.time(), 1)
            recorder.discard()
        except Exception as err:  # noqa: BLE001 - the program's own error is what matters
            sys.stderr.write(f"snapline: the run that did not start could not be removed: "
                             f"{err}\n")
