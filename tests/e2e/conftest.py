"""Fixtures for Snapline's end-to-end tests.

Every test runs real processes: the script under capture
(`python -m snapline run --store STORE script.py ...`), the same script under
plain python where the output must match, and the `snapline` binary reading
the store back as JSON.

- SNAPLINE_TEST_PYTHON: the interpreter to capture with (default: the repo's
  .venv). It needs the snapline package and numpy; torch and scikit-learn are
  optional (the tests needing them skip).
- SNAPLINE_TEST_BIN: the `snapline` binary (default: the repo's .venv/bin).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON") or str(REPO / ".venv" / "bin" / "python")
BIN = os.environ.get("SNAPLINE_TEST_BIN") or str(REPO / ".venv" / "bin" / "snapline")

# Generous: a hung process fails the test instead of the whole suite.
TIMEOUT = 180

# The suite's own code cache (code_cache.py), not the user's ~/.cache:
# shared by its runs, as a user's runs share theirs.
CODE_CACHE = Path(tempfile.mkdtemp(prefix="snapline-code-cache-"))
atexit.register(shutil.rmtree, CODE_CACHE, True)

LOG_FIELDS = ("seq", "trigger", "file", "line", "loops", "time", "bytes_new", "bytes_reused")


def base_env(extra: dict | None = None) -> dict:
    """The environment of every child process: no ambient Snapline settings,
    one thread per math library, a fixed hash seed (so that plain and
    captured runs print the same set orders)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONHASHSEED": "0"})
    env.pop("PYTHONPATH", None)
    env["SNAPLINE_CODE_CACHE"] = str(CODE_CACHE)
    if extra:
        env.update(extra)
    return env


def run(cmd: list, *, cwd: Any = None, env: dict | None = None,
        timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=base_env(env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def line_of(path: Path, text: str) -> int:
    """The number of the first line of `path` containing `text`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def one_line(text: str) -> str:
    """The single non-empty line of `text` (fails when there are more or none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


# -- target interpreter capabilities ------------------------------------------

_available: dict = {}


def python_has(module: str) -> bool:
    """Whether the target interpreter (not this one) can import `module`."""
    if module not in _available:
        done = run([PYTHON, "-c", f"import {module}"], timeout=120)
        _available[module] = done.returncode == 0
    return _available[module]


@pytest.fixture(scope="session")
def need_torch() -> None:
    if not python_has("torch"):
        pytest.skip(f"torch is not installed for {PYTHON}")


@pytest.fixture(scope="session")
def need_ipykernel() -> None:
    if not python_has("ipykernel"):
        pytest.skip(f"ipykernel is not installed for {PYTHON}")


@pytest.fixture(scope="session")
def need_sklearn() -> None:
    if not python_has("sklearn"):
        pytest.skip(f"scikit-learn is not installed for {PYTHON}")


# -- scripts, captures and the CLI --------------------------------------------


class Snapline:
    """Runs scripts (plain and captured) and the CLI against one store."""

    def __init__(self, store: Path, scripts: Path) -> None:
        self.store = store
        self.scripts = scripts
        self._count = 0

    # scripts
    def script(self, source: str, name: str | None = None) -> Path:
        """Writes a (dedented) script and returns its path."""
        self._count += 1
        path = self.scripts / (name or f"script_{self._count}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))
        return path

    def _path(self, script: Any) -> Path:
        if isinstance(script, str) and "\n" in script:
            return self.script(script)
        return Path(script)

    def capture(self, script: Any, *args: Any, env: dict | None = None, cwd: Any = None,
                opts: tuple = (), store: Any = None, timeout: float = TIMEOUT,
                default_budget: bool = False) -> subprocess.CompletedProcess:
        """`python -m snapline run --store STORE [opts] script args...`

        With `--budget 0` unless `opts` names `--budget` or `default_budget`
        is set: the time budget skips loop snapshots by how long snapshots
        took, so a test that reads epoch N's snapshot of a short toy loop
        would depend on the machine's load (test_budget.py tests the budget
        itself, at the default)."""
        path = self._path(script)
        budget = () if default_budget or any(str(o).startswith("--budget") for o in opts) \
            else ("--budget", "0")
        return run([PYTHON, "-m", "snapline", "run", "--store", store or self.store, *budget,
                    *opts, path, *args], cwd=cwd, env=env, timeout=timeout)

    def plain(self, script: Any, *args: Any, env: dict | None = None, cwd: Any = None,
              timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        """`python script args...`"""
        return run([PYTHON, self._path(script), *args], cwd=cwd, env=env, timeout=timeout)

    def popen(self, cmd: list, **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen([str(c) for c in cmd], env=base_env(kwargs.pop("env", None)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                **kwargs)

    # the CLI
    def cli_raw(self, *args: Any, json_out: bool = True, store: Any = None,
                timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        cmd = [BIN, "--store", store or self.store, *args]
        if json_out:
            cmd.append("--json")
        return run(cmd, timeout=timeout)

    def cli(self, *args: Any, store: Any = None) -> Any:
        """Parsed JSON of `snapline --store STORE args... --json`; must exit 0."""
        done = self.cli_raw(*args, store=store)
        assert done.returncode == 0, (
            f"snapline {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
        return json.loads(done.stdout)

    def cli_fail(self, *args: Any, store: Any = None, json_out: bool = True) -> tuple:
        """(returncode, stderr) of a CLI call that must fail."""
        done = self.cli_raw(*args, store=store, json_out=json_out)
        assert done.returncode != 0, (
            f"snapline {' '.join(map(str, args))} unexpectedly succeeded: {done.stdout[:2000]}")
        return done.returncode, done.stderr

    # conveniences
    def runs(self, store: Any = None) -> list:
        return self.cli("runs", store=store)

    def last_run(self, store: Any = None) -> dict:
        runs = self.runs(store=store)
        assert runs, "the store has no runs"
        return runs[-1]

    def log(self, run: str = "last", store: Any = None) -> list:
        return self.cli("log", run, store=store)

    def show(self, ref: str, *rest: str, store: Any = None) -> Any:
        return self.cli("show", ref, *rest, store=store)

    def objects(self, ref: str, all_: bool = False, store: Any = None) -> dict:
        """`show REF --json` as a dict path -> object."""
        listing = self.show(ref, *(["--all"] if all_ else []), store=store)
        by_path = {o["path"]: o for o in listing}
        assert len(by_path) == len(listing), "show listed a path twice"
        return by_path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def sl(tmp_path: Path, store: Path) -> Snapline:
    return Snapline(store, tmp_path / "scripts")


# The fixtures the brief names, as plain functions over `sl`.


@pytest.fixture
def capture(sl: Snapline) -> Callable[..., subprocess.CompletedProcess]:
    return sl.capture


@pytest.fixture
def cli(sl: Snapline) -> Callable[..., Any]:
    return sl.cli


@pytest.fixture
def cli_fail(sl: Snapline) -> Callable[..., tuple]:
    return sl.cli_fail


@pytest.fixture
def write_script(sl: Snapline) -> Callable[..., Path]:
    return sl.script


def assert_same_output(plain: subprocess.CompletedProcess,
                       captured: subprocess.CompletedProcess) -> None:
    """stdout, stderr and exit status identical (less the time budget's one
    line, which the agent writes once when it snapshots loops less often)."""
    assert captured.stdout == plain.stdout
    stderr = "".join(line for line in captured.stderr.splitlines(keepends=True)
                     if not (line.startswith("snapline: ") and "snapshotted less often" in line))
    assert stderr == plain.stderr
    assert captured.returncode == plain.returncode


def wait_for_iterations(sl: Any, proc: subprocess.Popen, count: int = 1) -> list:
    """Until a run being captured by `proc` has committed `count` loop
    iteration snapshots; returns them (the process must stay alive)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        done = sl.cli_raw("log", "last")
        rows = json.loads(done.stdout) if done.returncode == 0 else []
        iterations = [r for r in rows if r["trigger"] == "iteration"]
        if len(iterations) >= count:
            return iterations
        time.sleep(0.02)
    raise AssertionError(f"{count} loop snapshot(s) were not committed in {TIMEOUT} s")


def snapshots_contiguous(rows: list) -> None:
    assert [r["seq"] for r in rows] == list(range(len(rows)))


# -- one torch capture shared by several tests (torch costs seconds to import) --


class TorchRun:
    def __init__(self, sl: Snapline, plain: subprocess.CompletedProcess,
                 captured: subprocess.CompletedProcess) -> None:
        self.sl = sl
        self.plain = plain
        self.captured = captured


@pytest.fixture(scope="session")
def torch_run(tmp_path_factory: pytest.TempPathFactory, need_torch: None) -> TorchRun:
    """examples/torch_classifier.py --epochs 2 --samples 1024, plain and captured."""
    root = tmp_path_factory.mktemp("torch_run")
    sl = Snapline(root / "store", root / "scripts")
    args = ("--epochs", "2", "--samples", "1024")
    script = EXAMPLES / "torch_classifier.py"
    plain = sl.plain(script, *args)
    captured = sl.capture(script, *args)
    return TorchRun(sl, plain, captured)


# A numpy "training" loop whose weights overflow to Inf, then a NaN one step
# after: what the diff/nan tests and the app tests capture.
DIVERGES = """
import json

import numpy as np

w = np.full(4, 0.5, dtype=np.float32)
bias = np.zeros(2, dtype=np.float32)
went_bad = False
with np.errstate(all="ignore"):
    for step in range(30):
        w = w * np.float32(-60.0)
        loss = float(np.abs(w).max())
        if went_bad:
            bias = bias + w[:2] - w[:2]  # inf - inf: NaN, one step after
        went_bad = not np.isfinite(loss)
print("finished")
"""
