"""`snapline view` (issue #17): the native viewer opens a window titled
"Snapline: STORE" under Xvfb (also before the store exists, staying open
as a run is captured into it; following is tested in crates/viewer), and
`--json` / a bad run answer without a window."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import BIN, EXAMPLES, PYTHON, base_env, run

needs_x = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool (scripts/setup.sh installs them)",
)


def _start(cmd: list, env: dict, log) -> subprocess.Popen:
    """A child in its own process group (killed whole at the end)."""
    return subprocess.Popen([str(c) for c in cmd], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _window(display: str, title: str, timeout: float = 30.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", title], capture_output=True,
                               text=True, env={**os.environ, "DISPLAY": display}, check=False)
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.3)
    return None


def test_view_json_says_what_it_would_open_and_a_bad_run_is_one_line(tmp_path):
    store = tmp_path / "store"
    done = run([BIN, "--store", store, "--json", "view"])
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["store"] == str(store) and said["title"] == f"Snapline: {store}"
    captured = run([PYTHON, "-m", "snapline", "run", "--store", store,
                    EXAMPLES / "numpy_mlp.py", "--epochs", "2"])
    assert captured.returncode == 0, captured.stderr
    bad = run([BIN, "--store", store, "view", "nosuchrun"])
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1 and "nosuchrun" in bad.stderr


def _xvfb(log) -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display (it writes the number it took to a pipe)."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-noreset", "-screen", "0",
                             "1400x900x24"],
                            stdout=log, stderr=subprocess.STDOUT, pass_fds=(write,),
                            start_new_session=True)
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    assert number, "Xvfb did not start"
    return proc, f":{number}"


@needs_x
def test_view_opens_a_window_before_its_store_exists_and_stays_open(tmp_path):
    with open(tmp_path / "x.log", "w") as log:
        xvfb, display = _xvfb(log)
        viewer = None
        try:
            store = tmp_path / "live"
            env = base_env({"DISPLAY": display})
            # The store does not exist yet: the window opens and waits for it.
            viewer = _start([BIN, "--store", store, "view"], env, log)
            assert _window(display, "Snapline") is not None, (tmp_path / "x.log").read_text()
            captured = run([PYTHON, "-m", "snapline", "run", "--store", store,
                            EXAMPLES / "numpy_mlp.py", "--epochs", "2"])
            assert captured.returncode == 0, captured.stderr
            time.sleep(1.5)
            assert viewer.poll() is None, "the viewer is still open after the run appeared"
        finally:
            if viewer is not None:
                _stop(viewer)
            _stop(xvfb)
