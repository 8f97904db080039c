"""Snapline: a time-travel debugger for ML sessions.

Run a script under capture with ``python -m snapline run train.py`` (or
``snapline run train.py``). Inside the script, two optional calls:

- ``snapline.checkpoint(label=None)``: take a snapshot now; returns its seq.
- ``snapline.log(step=None, **values)``: add metric points between snapshots.

Outside a captured run both do nothing.

In IPython or a Jupyter notebook, ``%load_ext snapline`` captures the
session: a snapshot after each cell and at its loops' iterations;
``%snapline log`` and ``%snapline checkout SEQ`` (see snapline.notebook).
"""

from __future__ import annotations

import sys

# `typing` only for the type checker: `import snapline` (and `snapline run`'s
# start-up before it turns the cyclic collector off, __main__.py) stays light.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "checkpoint", "load_ipython_extension", "log",
           "unload_ipython_extension"]


def _agent() -> Any:
    runner = sys.modules.get("snapline.runner")
    agent = getattr(runner, "current", None) if runner is not None else None
    if agent is None:
        notebook = sys.modules.get("snapline.notebook")
        agent = notebook.current_agent() if notebook is not None else None
    return agent


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext snapline`: capture this IPython session / Jupyter kernel."""
    from . import notebook

    notebook.load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext snapline`: end the session's run."""
    from . import notebook

    notebook.unload(ipython)


def checkpoint(label: str | None = None) -> int | None:
    """Snapshot the program's state now. Returns the snapshot's seq, or
    None when the program is not running under Snapline."""
    agent = _agent()
    if agent is None:
        return None
    seq: int | None = agent.checkpoint(label, sys._getframe(1))
    return seq


def log(step: float | None = None, **values: Any) -> None:
    """Record metric points (numbers, numpy scalars, one-element tensors)
    between snapshots: ``snapline.log(step=i, loss=loss, lr=lr)``."""
    agent = _agent()
    if agent is not None:
        agent.log(step, values)
