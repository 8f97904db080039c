"""What a run records about where it came from."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
from typing import Any


def _git(script_dir: str) -> dict[str, Any]:
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


def imported_packages() -> dict[str, str]:
    """Versions of the key packages the program actually imported (read at
    the end of the run from the modules themselves: no metadata scan)."""
    found = {}
    for dist, module_name in _IMPORT_NAMES.items():
        module = sys.modules.get(module_name)
        version = getattr(module, "__version__", None) if module is not None else None
        if isinstance(version, str):
            found[dist] = version
    return found


# Local modules bigger than this are named in the lineage but not stored.
MODULE_SOURCE_LIMIT = 4 * 1024 * 1024


class LocalModules:
    """The script's own modules (files under its directory or the working
    directory, outside the interpreter's prefixes) as they were when first
    imported: their source is stored as a blob and named in the lineage under
    `modules`, so a run exported to a colleague carries the code it ran."""

    def __init__(self, script: str) -> None:
        roots = {os.path.dirname(os.path.abspath(script)), os.getcwd()}
        self.roots = tuple(os.path.join(r, "") for r in roots if r)
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix}
        self.excluded = tuple(os.path.join(os.path.realpath(p), "") for p in prefixes if p)
        self.script = os.path.abspath(script)
        self.seen_count = 0
        self.found: dict[str, dict[str, Any]] = {}
        # Every module name looked at once, local or not: a later import
        # resolves only the new names (torch imports lazily during training,
        # and resolving its thousands of paths again took a sixth of a capture).
        self.checked: set[str] = set()

    def _local_file(self, module: Any) -> str | None:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return None
        path = os.path.abspath(path)
        real = os.path.realpath(path)
        if path == self.script or real.startswith(self.excluded) or "site-packages" in real:
            return None
        return path if path.startswith(self.roots) else None

    def update(self, recorder: Any, hash_bytes: Any) -> bool:
        """Records modules imported since the last call; True when the
        lineage's `modules` changed (cheap when nothing was imported)."""
        modules = sys.modules
        if len(modules) == self.seen_count:
            return False
        self.seen_count = len(modules)
        changed = False
        for name, module in list(modules.items()):
            if name in self.checked or name == "__main__":
                continue
            self.checked.add(name)
            path = self._local_file(module)
            if path is None:
                continue
            entry: dict[str, Any] = {"path": path}
            try:
                with open(path, "rb") as f:
                    source = f.read(MODULE_SOURCE_LIMIT + 1)
                if len(source) <= MODULE_SOURCE_LIMIT:
                    entry["hash"] = hash_bytes(source)
                    entry["chunks"] = recorder.put_blob(source)
                else:
                    entry["skipped"] = f"larger than {MODULE_SOURCE_LIMIT} bytes"
            except OSError as err:
                entry["skipped"] = f"unreadable: {err}"
            self.found[name] = entry
            changed = True
        return changed


def _parent_start() -> str:
    """When the parent process (the launcher) started, in clock ticks since
    boot (field 22 of /proc/PPID/stat), or "" where unreadable."""
    try:
        with open(f"/proc/{os.getppid()}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""


def group(environ: Any = None) -> dict[str, Any] | None:
    """The run group of a rank started by a distributed launcher (torchrun,
    SLURM, anything that sets RANK and WORLD_SIZE), or None for a solo run.
    Every rank of one job derives the same group id from the job's id:
    TORCHELASTIC_RUN_ID, else SLURM_JOB_ID (and step), else
    MASTER_ADDR:MASTER_PORT with the launcher's start time."""
    env = os.environ if environ is None else environ
    try:
        rank, world_size = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_rank = int(env.get("LOCAL_RANK", rank))
    except (KeyError, ValueError):
        return None
    if env.get("TORCHELASTIC_RUN_ID"):
        launcher, job = "torchrun", f"torchelastic:{env['TORCHELASTIC_RUN_ID']}"
    elif env.get("SLURM_JOB_ID"):
        launcher = "slurm"
        job = f"slurm:{env['SLURM_JOB_ID']}.{env.get('SLURM_STEP_ID', '')}"
    elif env.get("MASTER_ADDR") and env.get("MASTER_PORT"):
        launcher = "env"
        job = f"master:{env['MASTER_ADDR']}:{env['MASTER_PORT']}:{_parent_start()}"
    else:
        return None
    # "g" is not a hex digit: a group id never reads as a run id prefix.
    gid = "g" + hashlib.sha256(job.encode()).hexdigest()[:11]
    return {"id": gid, "rank": rank, "world_size": world_size, "local_rank": local_rank,
            "launcher": launcher}


def collect(script: str, argv: list[str], source_hash: str, options: dict[str, Any]) -> dict[str, Any]:
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
        **({"group": g} if (g := group()) is not None else {}),
    }
