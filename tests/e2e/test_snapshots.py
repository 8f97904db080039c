"""When snapshots are taken, what `log` says about them, explicit
checkpoints and metrics, and how runs and snapshots are named."""

from __future__ import annotations

import re

import pytest
from conftest import EXAMPLES, LOG_FIELDS, line_of, snapshots_contiguous


def test_epoch_boundaries_of_numpy_example(sl):
    script = EXAMPLES / "numpy_mlp.py"
    # No budget: a snapshot at every epoch of this short run (test_budget.py).
    done = sl.capture(script, "--epochs", "5", opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    rows = sl.log()
    assert rows, "no snapshots"
    for row in rows:
        for field in LOG_FIELDS:
            assert field in row, f"log entry without {field}: {row}"
        assert row["file"] == str(script)
        assert row["bytes_new"] >= 0 and row["bytes_reused"] >= 0
    snapshots_contiguous(rows)
    times = [r["time"] for r in rows]
    assert times == sorted(times)

    loop_line = line_of(script, "for epoch in range(args.epochs)")
    epochs = [r for r in rows if r["trigger"] == "iteration" and r["line"] == loop_line]
    assert [r["loops"] for r in epochs] == [[1], [2], [3], [4], [5]]
    assert rows[-1]["trigger"] == "exit"
    assert rows[-1]["line"] is None
    # Statement snapshots follow top-level statements and are outside any loop.
    statements = [r for r in rows if r["trigger"] == "statement"]
    assert statements and all(r["loops"] == [] for r in statements)


NESTED = """
def train(epochs):
    total = 0
    for epoch in range(epochs):
        for step in range(4):
            total += step
    return total


result = train(3)
print(result)
"""


def _nested_rows(sl, *opts):
    script = sl.script(NESTED)
    done = sl.capture(script, opts=opts)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "18\n"
    return sl.log(), line_of(script, "for epoch"), line_of(script, "for step")


def test_inner_loop_snapshots_when_asked(sl):
    rows, outer_line, inner_line = _nested_rows(sl, "--inner-every", "0")
    inner = [r["loops"] for r in rows if r["trigger"] == "iteration" and r["line"] == inner_line]
    outer = [r["loops"] for r in rows if r["trigger"] == "iteration" and r["line"] == outer_line]
    # Outermost first: [completed epochs, completed steps of this epoch].
    assert inner == [[e, s] for e in range(3) for s in (1, 2, 3)]
    assert outer == [[1], [2], [3]]
    # The function's locals are captured at an inner-loop snapshot.
    seq = next(r["seq"] for r in rows if r["line"] == inner_line and r["loops"] == [1, 2])
    objects = sl.objects(f"last@{seq}")
    assert objects["train:epoch"]["preview"] == "1"
    assert objects["train:step"]["preview"] == "2"
    assert objects["train:epochs"]["preview"] == "3"
    # A local's series, found by its last part; a point only when it changed.
    (series,) = sl.cli("metrics", "last", "total")
    assert series["name"] == "train:total"
    assert [p["value"] for p in series["points"]] == [0, 1, 3, 6, 7, 9, 12, 13, 15, 18]


def test_no_inner_loop_snapshots_by_default(sl):
    rows, outer_line, inner_line = _nested_rows(sl)
    assert not [r for r in rows if r["line"] == inner_line]
    outer = [r["loops"] for r in rows if r["trigger"] == "iteration" and r["line"] == outer_line]
    assert outer == [[1], [2], [3]]


def test_throttles_count_from_any_snapshot(sl):
    # Epochs of 0.24 s with four steps each; at most one snapshot per 0.5 s,
    # whether the boundary is an epoch's or a step's.
    script = sl.script("""
import time
for epoch in range(8):
    for step in range(4):
        time.sleep(0.06)
""")
    done = sl.capture(script, opts=("--no-statements", "--inner-every", "0.5",
                                    "--outer-every", "0.5"))
    assert done.returncode == 0, done.stderr
    times = [r["time"] for r in sl.log() if r["trigger"] == "iteration"]
    assert len(times) >= 2
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.45, gaps


def test_checkpoint_and_log(sl):
    script = sl.script("""
        import snapline

        for i in range(4):
            snapline.log(step=i * 10, acc=i / 10, loss=1.0 / (i + 1))
        seq = snapline.checkpoint(label="x")
        print("checkpoint", seq)
    """)
    done = sl.capture(script, opts=("--no-statements",))
    assert done.returncode == 0, done.stderr
    printed = int(done.stdout.split()[-1])
    rows = sl.log()
    explicit = [r for r in rows if r["trigger"] == "explicit"]
    assert len(explicit) == 1
    assert explicit[0]["label"] == "x"
    assert explicit[0]["seq"] == printed
    assert explicit[0]["line"] == 5
    # Without statement snapshots: the loop's iterations, the checkpoint, the exit.
    assert [r["trigger"] for r in rows] == ["iteration"] * 4 + ["explicit", "exit"]

    (acc,) = sl.cli("metrics", "last", "acc")
    assert acc["name"] == "acc"
    assert [p["step"] for p in acc["points"]] == [0, 10, 20, 30]
    assert [p["value"] for p in acc["points"]] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert all(p["seq"] is None for p in acc["points"])  # logged, not read from a snapshot
    (loss,) = sl.cli("metrics", "last", "loss")
    assert [p["value"] for p in loss["points"]] == pytest.approx([1.0, 1 / 2, 1 / 3, 1 / 4])
    # Outside a captured run both calls do nothing.
    plain = sl.plain(script)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "checkpoint None\n"


def test_loss_metric_of_numpy_example_matches_printed_losses(sl):
    # No budget: a snapshot at every epoch of this short run (test_budget.py).
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "5", opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    printed = [float(m) for m in re.findall(r"^epoch +\d+ +loss (\S+)", done.stdout,
                                                re.MULTILINE)]
    assert len(printed) == 5
    (series,) = sl.cli("metrics", "last", "loss")
    assert series["name"] == "loss"
    values = [p["value"] for p in series["points"]]
    assert values == pytest.approx(printed, abs=1e-6)
    # One point per epoch, read by the loop at each iteration boundary: its
    # step is the loop's completed iterations, as the epoch snapshots' counters.
    assert [p["epoch"] for p in series["points"]] == [1, 2, 3, 4, 5]
    assert [p["step"] for p in series["points"]] == [1, 2, 3, 4, 5]
    assert all(p["seq"] is None for p in series["points"])
    epochs = [r["loops"] for r in sl.log() if r["trigger"] == "iteration" and r["loops"] != []
              and r["line"] == line_of(EXAMPLES / "numpy_mlp.py", "for epoch in")]
    assert epochs == [[1], [2], [3], [4], [5]]
    # Without per-iteration reading, the same points come from the snapshots.
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "5",
                      opts=("--no-loop-metrics", "--budget", "0"))
    assert done.returncode == 0, done.stderr
    (series,) = sl.cli("metrics", "last", "loss")
    assert [p["value"] for p in series["points"]] == pytest.approx(printed, abs=1e-6)
    assert all(p["step"] == p["seq"] for p in series["points"])


def test_runs_listing_and_names(sl):
    first = sl.capture(sl.script("import numpy\nx = 1\ny = x + 1\n"))
    second = sl.capture(sl.script("a = 'one'\nb = a * 2\nc = b.upper()\n"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    runs = sl.runs()
    assert len(runs) == 2
    for run in runs:
        for field in ("id", "script", "status", "snapshots", "duration"):
            assert field in run
        assert run["status"] == "finished"
        assert run["duration"] >= 0
    assert [r["script"] for r in runs] == ["script_1.py", "script_2.py"]
    old, new = runs[0]["id"], runs[1]["id"]
    assert old != new

    # `last` is the newest run; an id prefix names a run.
    assert sl.log("last") == sl.log(new)
    old_rows = sl.log(old[:6])
    assert len(old_rows) == runs[0]["snapshots"]
    assert [r["line"] for r in old_rows if r["trigger"] == "statement"] == [1, 2, 3]
    # Lineage: argv, the script's hash, and the versions of what it imported.
    import numpy

    lineage = runs[0]["lineage"]
    assert lineage["packages"] == {"numpy": numpy.__version__}
    assert lineage["argv"][0].endswith("script_1.py") and len(lineage["script_hash"]) == 32
    assert lineage["python"]["version"].count(".") == 2
    new_rows = sl.log(new[:6])
    assert len(new_rows) == runs[1]["snapshots"]

    # RUN@first, RUN@last, RUN@SEQ and a bare RUN.
    first_snap = sl.objects(f"{new[:6]}@first")
    assert set(first_snap) == {"a"}
    last_snap = sl.objects(f"{new}@last")
    assert {p: o["preview"] for p, o in last_snap.items()} == {
        "a": "'one'", "b": "'oneone'", "c": "'ONEONE'"}
    assert sl.objects(new[:6]) == last_snap
    assert sl.objects(f"last@{new_rows[-1]['seq']}") == last_snap
    assert set(sl.objects(f"{old[:6]}@last")) == {"x", "y"}
    detail = sl.show(f"{old[:6]}@last", "y")
    assert detail["value"] == "2"
    assert detail["path"] == "y"


def test_lineage_keeps_the_source_of_the_scripts_own_modules(sl):
    helper = sl.script("def double(x):\n    return 2 * x\n", name="helper_mod.py")
    sl.script("SCALE = 3\n", name="pkg/settings.py")
    main = sl.script("""
        import json
        import numpy as np
        import helper_mod
        for i in range(2):
            y = helper_mod.double(i)
        from pkg import settings  # imported after the loop: recorded at the end
        print(y * settings.SCALE)
    """, name="main.py")
    done = sl.capture(main, cwd=main.parent)
    assert done.returncode == 0, done.stderr
    modules = sl.last_run()["lineage"]["modules"]
    assert set(modules) == {"helper_mod", "pkg.settings"}, modules
    assert modules["helper_mod"]["path"] == str(helper)
    # The source is stored: its chunk is the one `hash` names.
    assert modules["helper_mod"]["chunks"] == [modules["helper_mod"]["hash"]]
    assert "numpy" not in modules and "json" not in modules
