"""What a run records about where it came from."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any


def _git(script_dir: str) -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=script_dir, capture_output=True, text=True, timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


# distribution name -> import name
_IMPORT_NAMES = {"numpy": "numpy", "torch": "torch", "scikit-learn": "sklearn", "scipy": "scipy",
                 "pandas": "pandas", "jax": "jax", "tensorflow": "tensorflow"}


def imported_packages() -> dict:
    """Versions of the key packages the program actually imported (read at
    the end of the run from the modules themselves: no metadata scan)."""
    found = {}
    for dist, module_name in _IMPORT_NAMES.items():
        module = sys.modules.get(module_name)
        version = getattr(module, "__version__", None) if module is not None else None
        if isinstance(version, str):
            found[dist] = version
    return found


def collect(script: str, argv: list, source_hash: str, options: dict) -> dict[str, Any]:
    """The lineage JSON stored with a run."""
    script_dir = os.path.dirname(os.path.abspath(script))
    return {
        "argv": argv,
        "cwd": os.getcwd(),
        "script_path": os.path.abspath(script),
        "script_hash": source_hash,
        "git": _git(script_dir),
        "python": {"version": platform.python_version(), "implementation":
                   platform.python_implementation(), "executable": sys.executable},
        "packages": {},  # filled in at the end with imported_packages()
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "pid": os.getpid(),
        "options": options,
    }
