"""`snapline restore REF`: a Python prompt (IPython when installed) holding
the snapshot's state."""

from __future__ import annotations

import code
import sys
from typing import Any

from ..runner import is_agent_file
from .session import Session


def interact(session: Session, *, command: str | None = None, json_out: bool = False) -> int:
    """Restores into a fresh `__main__` and opens the prompt (or runs
    `command` there, for scripts and tests). Returns the exit status."""
    trusted = None
    if session.trust:  # first say what safe mode would have withheld
        trusted = session.announce_trust(None if json_out else sys.stderr,
                                         session.rerun_code())
    module = session.main_module()
    namespace = module.__dict__
    report = session.restore_interactive(namespace)
    title = (f"snapline: restored {session.snapshot.ref} of {session.snapshot.run.get('script')} "
             f"({session.snapshot.where})")
    if json_out:
        import json

        out = {"snapshot": session.snapshot.ref, "mode": session.mode, **report.to_json()}
        if trusted is not None:
            out["trusted"] = [{"what": what, "count": count} for what, count in trusted]
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write(report.render(title) + "\n")
        sys.stderr.flush()
    if command is not None:
        return run_command(command, namespace)
    try:
        from IPython import start_ipython
    except ImportError:
        start_ipython = None
    if start_ipython is not None and sys.stdin.isatty():
        start_ipython(argv=["--no-banner"], user_ns=namespace)
        return 0
    banner = f"Python {sys.version.split()[0]} — the snapshot's variables are in scope; Ctrl-D to leave"
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0


def run_command(command: str, namespace: dict[str, Any]) -> int:
    """Runs `-c CODE` as `python -c` would: an uncaught exception prints the
    traceback of the user's code only (`File "<string>"`, and the script's
    functions it called), then exit status 1; SystemExit goes through."""
    try:
        code = compile(command, "<string>", "exec")
        exec(code, namespace)  # noqa: S102 - the user's own code
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported as python would
        tb = exc.__traceback__
        # Our own frames come first (this function); the user's follow.
        while tb is not None and is_agent_file(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        if isinstance(exc, SyntaxError):
            tb = None
        exc.__traceback__ = tb
        sys.excepthook(type(exc), exc, tb)
        sys.stderr.flush()
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0

