"""How runs end badly: an uncaught exception (post-mortem snapshot), SIGTERM
and SIGINT (a last snapshot, death by the same signal), kill -9 (the store
stays consistent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from conftest import BIN, PYTHON, TIMEOUT, snapshots_contiguous, wait_for_iterations
from conftest import run as run_command

FAILING = """
import numpy as np

weights = np.arange(10.0)


def step(i, scale):
    denom = 3 - i
    return scale / denom


total = 0.0
for i in range(10):
    total += step(i, 6)
print(total)
"""


def test_post_mortem_snapshot(sl):
    script = sl.script(FAILING)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert plain.returncode == 1
    assert "ZeroDivisionError" in plain.stderr
    assert captured.returncode == 1
    assert captured.stdout == plain.stdout
    assert captured.stderr.splitlines() == plain.stderr.splitlines()

    rows = sl.log()
    snapshots_contiguous(rows)
    last = rows[-1]
    assert last["trigger"] == "exception"
    assert last["loops"] == [3]  # three iterations done, the fourth failed
    assert last["line"] == 8  # `return scale / denom`
    assert last["file"] == str(script)
    objects = sl.objects("last@last")
    assert objects["step:denom"]["preview"] == "0"
    assert objects["step:i"]["preview"] == "3"
    assert objects["step:scale"]["preview"] == "6"
    assert objects["i"]["preview"] == "3"
    assert objects["total"]["preview"] == "11.0"  # 6/3 + 6/2 + 6/1
    assert sl.show("last@last", "step:denom")["value"] == "0"
    assert objects["weights"]["stats"]["max"] == 9.0

    run = sl.last_run()
    assert run["status"] == "failed"
    assert run["exit_code"] == 1
    assert run["exception"]["type"] == "ZeroDivisionError"
    assert "division by zero" in run["exception"]["message"]
    # The recorded traceback is the one python printed.
    assert run["exception"]["traceback"].splitlines() == plain.stderr.splitlines()


def test_post_mortem_names_recursive_frames_like_other_snapshots(sl):
    # The outermost call of a function is `f:`, the next `f#2:`, as in
    # snapshots taken at safe points; the failing line is the innermost.
    script = sl.script(
        "def f(n):\n"
        "    depth = n\n"
        "    if n == 0:\n"
        "        raise ValueError('bottom')\n"
        "    f(n - 1)\n"
        "\n"
        "f(2)\n"
    )
    assert sl.capture(script).returncode == 1
    last = sl.log()[-1]
    assert (last["trigger"], last["line"]) == ("exception", 4)
    objects = sl.objects("last@last")
    assert [objects[p]["preview"] for p in ("f:n", "f#2:n", "f#3:n")] == ["2", "1", "0"]


def test_post_mortem_in_nested_loops(write_script, capture, cli, cli_fail, store):
    script = write_script("""
        def train():
            seen = 0
            for epoch in range(3):
                for step in range(5):
                    seen += 1
                    if epoch == 1 and step == 2:
                        raise ValueError("boom")


        try:
            train()
        except KeyError:
            pass
    """)
    done = capture(script)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "ValueError: boom"
    assert store.is_dir()
    last = cli("log", "last")[-1]
    assert last["trigger"] == "exception"
    assert last["loops"] == [1, 2]  # outermost first
    assert last["line"] == 7
    assert cli("show", "last@last", "train:seen")["value"] == "8"
    assert cli("show", "last@last", "train:step")["value"] == "2"
    _, err = cli_fail("show", "last@last", "train:nothing")
    assert "train:nothing" in err


def test_rust_runner_passes_the_exit_status_through(sl):
    script = sl.script(FAILING)
    plain = sl.plain(script)
    done = run_command([BIN, "--store", sl.store, "run", "--python", PYTHON, script])
    assert done.returncode == plain.returncode == 1
    assert done.stdout == plain.stdout
    assert done.stderr.splitlines() == plain.stderr.splitlines()
    assert sl.last_run()["status"] == "failed"
    assert sl.log()[-1]["trigger"] == "exception"


LOOP_FOREVER = """
import time

import numpy as np

w = np.zeros(10)
i = 0
while True:
    i += 1
    w[0] = i
    time.sleep(0.05)
    if i == 5:
        print("ready", flush=True)
"""


def _signal_when_ready(proc: subprocess.Popen, signum: int) -> tuple:
    """Waits for the "ready" line, sends `signum`, returns (rc, stdout, stderr)."""
    line = proc.stdout.readline()
    assert line == "ready\n", f"no ready line: {line!r} {proc.stderr.read()}"
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, line + out, err


def _assert_killed_with_signal_snapshot(sl):
    rows = sl.log()
    snapshots_contiguous(rows)
    assert rows[-1]["trigger"] == "signal"
    # Where the program was: inside the loop, on one of its lines.
    assert 7 <= rows[-1]["line"] <= 12
    assert rows[-1]["loops"][0] >= 4
    run = sl.last_run()
    assert run["status"] == "killed"
    return run


def test_sigterm_python_runner(sl):
    script = sl.script(LOOP_FOREVER)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
    rc, out, err = _signal_when_ready(proc, signal.SIGTERM)
    assert rc == -signal.SIGTERM, err
    assert out == "ready\n"
    assert err == ""
    run = _assert_killed_with_signal_snapshot(sl)
    assert run["exit_code"] == -signal.SIGTERM
    # The last snapshot holds the loop's state.
    assert int(sl.show("last@last", "i")["value"]) >= 5


def test_sigterm_rust_runner_forwards(sl):
    script = sl.script(LOOP_FOREVER)
    proc = sl.popen([BIN, "--store", sl.store, "run", "--python", PYTHON, script])
    rc, out, err = _signal_when_ready(proc, signal.SIGTERM)
    assert rc == -signal.SIGTERM, err
    assert out == "ready\n"
    run = _assert_killed_with_signal_snapshot(sl)
    # The Python process got the signal (its handler took the last snapshot)
    # and is gone.
    pid = run["lineage"]["pid"]
    assert pid != proc.pid
    assert not os.path.exists(f"/proc/{pid}")


def _default_sigint() -> None:
    # A test run started in the background (`cmd &` in a script) inherits
    # SIGINT ignored, and Python then keeps ignoring it: Ctrl-C's default
    # for the programs under test, as at a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_like_plain_python(sl):
    script = sl.script(LOOP_FOREVER)
    plain_proc = sl.popen([PYTHON, script], preexec_fn=_default_sigint)
    plain_rc, plain_out, plain_err = _signal_when_ready(plain_proc, signal.SIGINT)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script],
                    preexec_fn=_default_sigint)
    rc, out, err = _signal_when_ready(proc, signal.SIGINT)
    assert plain_rc == -signal.SIGINT
    assert rc == plain_rc
    assert out == plain_out
    # The same KeyboardInterrupt traceback: it starts and ends the same way and
    # names only the script's frames (the line it lands on is timing's choice).
    lines, plain_lines = err.splitlines(), plain_err.splitlines()
    assert lines[0] == plain_lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == plain_lines[-1] == "KeyboardInterrupt"
    files = [line.strip() for line in lines if line.lstrip().startswith("File ")]
    assert files and all(f.startswith(f'File "{script}", line ') for f in files), err
    assert "snapline" not in err
    _assert_killed_with_signal_snapshot(sl)


CHURN = """
import numpy as np

arrays = [np.arange(2 * 1024 * 1024, dtype=np.float64) * (k + 1) for k in range(4)]  # 4 x 16 MiB
print("ready", flush=True)
step = 0
while True:
    step += 1
    for a in arrays:
        a += 1.0
"""


@pytest.mark.parametrize("delays", [(0.3, 0.8, 1.4, 2.0)])
def test_kill_9_leaves_a_consistent_store(sl, delays):
    script = sl.script(CHURN)
    ids = []
    for delay in delays:
        proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        wait_for_iterations(sl, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == -signal.SIGKILL
        ids.append(sl.last_run()["id"])

    runs = {r["id"]: r for r in sl.runs()}
    assert set(ids) <= set(runs) and len(set(ids)) == len(delays)
    for run_id in ids:
        assert runs[run_id]["status"] == "killed"
        assert runs[run_id]["ended_at"] is None
        done = sl.cli_raw("log", run_id, "--verify")
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        assert rows, f"run {run_id} has no snapshots"
        snapshots_contiguous(rows)
        assert all(r["verified"] is True and r["problem"] is None for r in rows), rows
        assert any(r["trigger"] == "iteration" for r in rows)
        assert runs[run_id]["snapshots"] == len(rows)
        last = {o["path"]: o for o in sl.show(f"{run_id}@last")}
        assert [last[f"arrays[{k}]"]["stats"]["count"] for k in range(4)] == [2 * 1024 * 1024] * 4
        assert last["arrays"]["type"] == "list"

