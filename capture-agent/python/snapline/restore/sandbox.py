"""The sandbox of a safe restore of a foreign snapshot (defense in depth
behind safety.py's allow-list): before anything of the snapshot is loaded,
this process enters a Landlock ruleset (the agent's Rust extension,
capture-agent/src/sandbox.rs): it may read files, and write only beneath a
scratch directory; it cannot execute programs, bind or connect TCP sockets
(Landlock ABI 4+), nor signal processes outside it (ABI 6+). It lasts until
the process ends; `--trust` restores without it.

Where Landlock is missing (an old or non-Linux kernel, or a restore into a
live process such as `%snapline restore` or a `--jupyter` kernel, which
need the network or must not be confined), nothing runs unsandboxed that
needs the sandbox: pickles of the foreign snapshot are withheld, the rest
(arrays, tensors, plain values, frames) is restored."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, TypedDict

#: Set to "off" to act as if Landlock were missing (pickles are then withheld).
SANDBOX_ENV = "SNAPLINE_SANDBOX"
#: A scratch directory made by the caller (the `snapline` CLI removes it).
SCRATCH_ENV = "SNAPLINE_SCRATCH"


class Sandboxed(TypedDict):
    """How a session was confined (Session.sandbox)."""

    abi: int  # the Landlock ABI in force
    scratch: str  # the one directory it may write


def confine(session: Any, *, in_process: bool = False) -> None:
    """Puts this process in the sandbox when `session` restores a foreign
    snapshot in safe mode; says so in its report. `in_process`: the
    restore goes into a process that must stay unconfined (a kernel):
    pickles are withheld instead."""
    policy = session.policy
    if policy is None or not session.imported:
        return
    if in_process:
        _refuse_pickles(session, "this restore runs in a live kernel, which is not sandboxed")
        return
    if os.environ.get(SANDBOX_ENV, "").lower() in ("off", "0", "no"):
        _refuse_pickles(session, f"the sandbox is turned off (${SANDBOX_ENV})")
        return
    from .. import _native

    scratch = _scratch_dir()
    try:
        abi = _native.sandbox(scratch)
    except _native.SandboxError as err:
        _refuse_pickles(session, f"no sandbox here: {err}")
        return
    except Exception as err:  # noqa: BLE001 - an unexpected failure: fail closed
        _refuse_pickles(session, f"the sandbox could not be set up ({type(err).__name__}: {err})")
        return
    session.sandbox = {"abi": abi, "scratch": scratch}
    session.report.notes.append(
        f"sandboxed (Landlock ABI {abi}): this process writes only to {scratch}, runs no "
        "programs and opens no network connections; --trust restores without the sandbox")


def _refuse_pickles(session: Any, why: str) -> None:
    session.policy.pickles_refused = (
        f"{why}; pickles of a snapshot from elsewhere load only in the sandbox, or with --trust")
    session.report.notes.append(f"not sandboxed: {why}; pickles are withheld (--trust loads them)")


def _scratch_dir() -> str:
    """The only directory the sandboxed process may write to; temporary
    files, matplotlib's and IPython's settings go there too."""
    given = os.environ.get(SCRATCH_ENV)
    if given and os.path.isdir(given) and not os.path.islink(given):
        scratch = os.path.realpath(given)
    else:
        scratch = os.path.realpath(tempfile.mkdtemp(prefix="snapline-restore-"))
        # The sandbox cannot remove the directory itself (that is a write to
        # its parent): its content goes at exit, the empty directory stays.
        atexit.register(_empty, scratch)
    for name, sub in (("TMPDIR", "tmp"), ("MPLCONFIGDIR", "matplotlib"),
                      ("IPYTHONDIR", "ipython")):
        path = os.path.join(scratch, sub)
        os.makedirs(path, exist_ok=True)
        os.environ[name] = path
    tempfile.tempdir = os.environ["TMPDIR"]
    return scratch


def _empty(scratch: str) -> None:
    for name in os.listdir(scratch):
        path = os.path.join(scratch, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
