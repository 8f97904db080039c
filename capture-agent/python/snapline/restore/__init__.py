"""Restore a snapshot: rebuild its objects (rebuild.py) into an interpreter
(session.py) for a prompt (repl.py) or a Jupyter kernel, or resume the
script from it (continuation.py builds the code, resume.py runs it)."""

from .report import Fidelity
from .session import Session
from .snapshot import RestoreError, Snapshot

__all__ = ["Fidelity", "RestoreError", "Session", "Snapshot"]
