"""The random generators a snapshot keeps and a restore sets back: Python's
`random`, numpy's global generator and torch's CPU and CUDA generators (the
last three only when the program imported them). The agent reads them
(`states`) into each snapshot as `$rng.NAME`; restore, resume and the
Lightning integration set them (`set_state`)."""

from __future__ import annotations

import random
import sys
from typing import Any

#: The generator names, as snapshot roots `$rng.NAME` use them.
NAMES = ("random", "numpy", "torch", "torch_cuda")


def states() -> list[tuple[str, Any]]:
    """(name, state) of each generator the program has, in `NAMES` order."""
    out: list[tuple[str, Any]] = [("random", random.getstate())]
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            out.append(("numpy", np.random.get_state()))
        except Exception:  # noqa: BLE001 - a numpy without its random module
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            out.append(("torch", torch.get_rng_state()))
            if torch.cuda.is_initialized() and torch.cuda.is_available():
                out.append(("torch_cuda", torch.cuda.get_rng_state_all()))
        except Exception:  # noqa: BLE001 - a partial torch: its states are left out
            pass
    return out


def set_state(name: str, state: Any) -> None:
    """Sets generator `name` (one of `NAMES`) to `state`."""
    if name == "random":
        random.setstate(state)
    elif name == "numpy":
        import numpy as np

        np.random.set_state(state)
    elif name == "torch":
        import torch

        torch.set_rng_state(state)
    elif name == "torch_cuda":
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state)
