"""What a run records about where it came from."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any

# Packages whose versions matter for reproducing an ML state.
KEY_PACKAGES = ("numpy", "torch", "scikit-learn", "scipy", "pandas", "jax", "tensorflow")


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


def _packages() -> dict:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - 3.8 and older
        return {}
    found = {}
    for name in KEY_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except Exception:  # noqa: BLE001 - not installed or broken metadata
            continue
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
        "packages": _packages(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "pid": os.getpid(),
        "options": options,
    }
