"""`snapline restore RUN@SEQ --jupyter`: a Jupyter kernel (ipykernel) whose
user namespace is the restored snapshot. The fidelity report and how to
connect go to stderr; the kernel runs until a client shuts it down (or the
process gets SIGTERM)."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from .session import Session
from .snapshot import RestoreError


def serve(session: Session, connection_file: str | None = None, store: str | None = None) -> int:
    """Restores into a fresh `__main__` and serves it as a kernel.
    `connection_file`: where to write the connection info (default: a
    `kernel-PID.json` in Jupyter's runtime directory); `store`: the store's
    directory, for the instructions. Returns the exit status once the
    kernel has shut down."""
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        raise RestoreError(f"ipykernel is not installed in {sys.executable}: "
                           "`pip install ipykernel` there, or pass --python PATH for an "
                           "interpreter that has it") from None
    # Restoring changes into the run's working directory: resolve it first.
    if connection_file:
        connection_file = os.path.abspath(connection_file)
    store = os.path.abspath(store) if store else "STORE"
    err = sys.stderr  # the kernel sends its own stderr to its clients
    if session.trust:
        session.announce_trust(err, session.rerun_code())
    module = session.main_module()
    namespace = module.__dict__
    report = session.restore_interactive(namespace)
    snapshot = session.snapshot
    title = (f"snapline: restored {snapshot.ref} of {snapshot.run.get('script')} "
             f"({snapshot.where})")
    err.write(report.render(title) + "\n")
    err.flush()

    options: dict[str, Any] = {"user_ns": namespace}
    if connection_file:
        options["connection_file"] = connection_file
    app = IPKernelApp.instance(**options)
    # argv: the restored sys.argv is the script's, not options for the kernel.
    app.initialize([])
    path = app.abs_connection_file
    err.write(_how_to_connect(path, snapshot.ref, store))
    err.flush()
    # SIGTERM ends the kernel like a shutdown: exit handlers remove the
    # connection file.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        app.start()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0
    return 0


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _how_to_connect(path: str, ref: str, store: str) -> str:
    return (
        f"snapline: a Jupyter kernel holds {ref}; its connection file is\n"
        f"  {path}\n"
        "Connect with:\n"
        f"  jupyter console --existing {path}\n"
        f"  jupyter qtconsole --existing {path}\n"
        "  JupyterLab, VS Code: they attach to kernels they start; in a notebook there run\n"
        f"    %load_ext snapline\n"
        f"    %snapline restore {ref} --store {store}\n"
        "  for the same state in that notebook's kernel.\n"
        "A client's shutdown (`exit` / quit in the console, or SIGTERM to this process) "
        "stops this kernel.\n"
    )
