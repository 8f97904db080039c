"""Snapline: a time-travel debugger for ML sessions.

Run a script under capture with ``python -m snapline run train.py`` (or
``snapline run train.py``). Inside the script, two optional calls:

- ``snapline.checkpoint(label=None)``: take a snapshot now; returns its seq.
- ``snapline.log(step=None, **values)``: add metric points between snapshots.

Outside a captured run both do nothing.
"""

from __future__ import annotations

import sys
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "checkpoint", "log"]


def _agent() -> Any:
    runner = sys.modules.get("snapline.runner")
    return getattr(runner, "current", None) if runner is not None else None


def checkpoint(label: str | None = None) -> int | None:
    """Snapshot the program's state now. Returns the snapshot's seq, or
    None when the program is not running under Snapline."""
    agent = _agent()
    if agent is None:
        return None
    return agent.checkpoint(label, sys._getframe(1))


def log(step: float | None = None, **values: Any) -> None:
    """Record metric points (numbers, numpy scalars, one-element tensors)
    between snapshots: ``snapline.log(step=i, loss=loss, lr=lr)``."""
    agent = _agent()
    if agent is not None:
        agent.log(step, values)
