"""Other processes around a capture: forked DataLoader workers (which must
never write) and readers of the store while a run is writing it."""

from __future__ import annotations

import json

from conftest import (
    EXAMPLES,
    PYTHON,
    TIMEOUT,
    assert_same_output,
    line_of,
    snapshots_contiguous,
)


def test_dataloader_workers(sl, need_torch):
    script = EXAMPLES / "torch_classifier.py"
    args = ("--epochs", "2", "--samples", "1024", "--workers", "2")
    plain = sl.plain(script, *args)
    captured = sl.capture(script, *args)
    assert plain.returncode == 0, plain.stderr
    assert_same_output(plain, captured)
    run = sl.last_run()
    assert run["status"] == "finished"
    assert run["exit_code"] == 0
    done = sl.cli_raw("log", "last", "--verify")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    snapshots_contiguous(rows)
    assert all(r["verified"] for r in rows)
    # One run, written by the main process only: two epochs, then the exit.
    assert len(sl.runs()) == 1
    epoch_line = line_of(script, "for epoch in range(epochs)")
    epochs = [r["loops"] for r in rows if r["trigger"] == "iteration" and r["line"] == epoch_line]
    assert epochs == [[1], [2]]
    assert rows[-1]["trigger"] == "exit"


def test_reader_during_a_run(sl):
    script = sl.script("""
        import time

        import numpy as np

        weights = np.zeros((256, 256))
        print("started", flush=True)
        for step in range(60):
            weights += 0.01
            time.sleep(0.05)
        print("done", flush=True)
    """)
    # No budget: a snapshot at every step (a 0.5 MB array each 50 ms is
    # past 2% on a loaded machine; test_budget.py tests the budget).
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, "--budget", "0",
                     script])
    try:
        assert proc.stdout.readline() == "started\n", proc.stderr.read()
        counts = []
        statuses = set()
        while proc.poll() is None:
            done = sl.cli_raw("log", "last")
            assert done.returncode == 0, done.stderr
            rows = json.loads(done.stdout)
            snapshots_contiguous(rows)
            counts.append(len(rows))
            statuses.add(sl.last_run()["status"])
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == "done\n"
    assert counts == sorted(counts), counts
    # The reader saw the run grow, and saw it running.
    assert len(set(counts)) >= 3, counts
    assert "running" in statuses
    final = sl.log()
    snapshots_contiguous(final)
    assert len(final) >= counts[-1]
    assert [r["loops"] for r in final if r["trigger"] == "iteration"] == [
        [k] for k in range(1, 61)]
    assert sl.last_run()["status"] == "finished"
