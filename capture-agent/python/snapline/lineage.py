"""What a run records about where it came from."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

# How long the run's end waits for `git status` (GitCheck) at most.
GIT_TIMEOUT_S = 5.0


def _git_dir(start: str) -> str | None:
    """The git directory of the repository `start` is in (a `.git`
    directory, or the one a worktree's `.git` file names), or None."""
    directory = os.path.abspath(start)
    while True:
        dot_git = os.path.join(directory, ".git")
        if os.path.isdir(dot_git):
            return dot_git
        if os.path.isfile(dot_git):
            try:
                with open(dot_git, encoding="utf-8") as f:
                    line = f.read(4096).strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not line.startswith("gitdir:"):
                return None
            return os.path.join(directory, line[len("gitdir:"):].strip())
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return None


def _is_object_name(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def head_commit(git_dir: str) -> str | None:
    """HEAD's commit read from the repository's files (HEAD, loose refs,
    packed-refs), as `git rev-parse HEAD` prints it; None where that is
    not certain (a reftable repository, an unreadable file): then git
    itself is asked."""
    common = git_dir
    relative = _read_text(os.path.join(git_dir, "commondir"))
    if relative:
        common = os.path.normpath(os.path.join(git_dir, relative))
    head = _read_text(os.path.join(git_dir, "HEAD"))
    for _ in range(5):  # a symbolic ref may name another
        if head is None:
            return None
        if _is_object_name(head):
            return head
        if not head.startswith("ref:"):
            return None
        ref = head[len("ref:"):].strip()
        if not ref.startswith("refs/") or ".." in ref:
            return None
        loose = [os.path.join(git_dir, ref)] + ([os.path.join(common, ref)]
                                                  if common != git_dir else [])
        head = next((text for text in map(_read_text, loose) if text is not None), None)
        if head is None:
            return _packed_ref(common, ref)
    return None


def _packed_ref(common: str, ref: str) -> str | None:
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(("#", "^")):
                    continue
                name, _, target = line.strip().partition(" ")
                if target == ref and _is_object_name(name):
                    return name
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _run_git(script_dir: str, *args: str) -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", *args], cwd=script_dir, capture_output=True, text=True,
            timeout=GIT_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


class GitCheck:
    """The script's git commit and whether its tracked files differ from
    it. The commit is read from the repository's files at start-up (no
    process started: `git_now`); `git status` runs on a background thread
    while the program runs, and the run's end records its answer
    (`result`). Not in a repository: nothing, and no git started."""

    def __init__(self, script_dir: str) -> None:
        self.script_dir = script_dir
        self.commit: str | None = None
        self.found: dict[str, object] | None = None
        self.thread: threading.Thread | None = None
        git_dir = None if "GIT_DIR" in os.environ else _git_dir(script_dir)
        if git_dir is None and "GIT_DIR" not in os.environ:
            self.found = {}  # not a repository
            return
        if git_dir is not None:
            self.commit = head_commit(git_dir)
        self.thread = threading.Thread(target=self._ask_git, name="snapline-git", daemon=True)
        self.thread.start()

    def git_now(self) -> dict[str, object]:
        """What is known at start-up: the commit, when read from the files."""
        if self.found is not None:
            return self.found
        return {"commit": self.commit} if self.commit is not None else {}

    def _ask_git(self) -> None:
        commit = self.commit or _run_git(self.script_dir, "rev-parse", "HEAD")
        if commit is None:
            self.found = {}
            return
        status = _run_git(self.script_dir, "status", "--porcelain", "--untracked-files=no")
        self.found = {"commit": commit, "dirty": bool(status)}

    def result(self, timeout: float = GIT_TIMEOUT_S) -> dict[str, object] | None:
        """The commit and `dirty` once `git status` answered (waiting up to
        `timeout`), else None."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.found


# The check `collect` started for this process's run (Agent.finish records it).
git_check: GitCheck | None = None


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
        self.excluded = tuple({os.path.join(resolve(p), "") for p in prefixes if p
                               for resolve in (os.path.realpath, os.path.abspath)})
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
        # Decided from the path first: resolving the links of every path
        # (realpath) of the thousands of modules torch imports cost tens of ms.
        if (path == self.script or not path.startswith(self.roots)
                or path.startswith(self.excluded) or "site-packages" in path):
            return None
        real = os.path.realpath(path)
        if real.startswith(self.excluded) or "site-packages" in real:
            return None
        return path

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
    import hashlib

    # "g" is not a hex digit: a group id never reads as a run id prefix.
    gid = "g" + hashlib.sha256(job.encode()).hexdigest()[:11]
    return {"id": gid, "rank": rank, "world_size": world_size, "local_rank": local_rank,
            "launcher": launcher}


def platform_text() -> str:
    """`platform.platform()` without its `uname -p` process on Linux:
    `Linux-6.1.0-18-amd64-x86_64-with-glibc2.36`."""
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") if sys.platform == "linux" else None
    except (ValueError, OSError):  # not glibc
        libc = None
    if not libc:
        import platform

        return platform.platform()
    u = os.uname()
    return "-".join((u.sysname, u.release, u.machine, "with", libc.replace(" ", "")))


def collect(script: str, argv: list[str], source_hash: str, options: dict[str, Any]) -> dict[str, Any]:
    """The lineage JSON stored with a run. Its `git` holds the commit read
    from the repository's files; `dirty` comes at the run's end
    (`git_check`, on a background thread meanwhile)."""
    global git_check
    script_dir = os.path.dirname(os.path.abspath(script))
    git_check = GitCheck(script_dir)
    implementation = sys.implementation.name
    return {
        "argv": argv,
        "cwd": os.getcwd(),
        "script_path": os.path.abspath(script),
        "script_hash": source_hash,
        "git": git_check.git_now(),
        "python": {"version": sys.version.split()[0], "implementation":
                   {"cpython": "CPython", "pypy": "PyPy"}.get(implementation, implementation),
                   "executable": sys.executable},
        "packages": {},  # filled in at the end with imported_packages()
        "host": os.uname().nodename,
        "platform": platform_text(),
        "pid": os.getpid(),
        "options": options,
        **({"group": g} if (g := group()) is not None else {}),
    }
