"""Unchanged data is stored once: snapshots of a big, unchanged array cost
almost nothing, and a one-element change stores about one chunk."""

from __future__ import annotations

from conftest import snapshots_contiguous

MiB = 1 << 20


def test_unchanged_array_is_reused(sl):
    script = sl.script("""
        import numpy as np

        big = np.random.default_rng(0).random(8 * 1024 * 1024, dtype=np.float32)  # 32 MiB
        small = np.zeros(1000)
        for i in range(5):
            small[i] += 0.5
        print(float(big[:4].sum()) > 0, small.sum())
    """)
    # No budget: a snapshot at every iteration of this short run (test_budget.py).
    done = sl.capture(script, opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True 2.5\n"
    rows = sl.log()
    snapshots_contiguous(rows)
    # The snapshot after `big = ...` stores it, once (bytes_new counts the
    # chunks as written: zstd takes about a tenth off random float32).
    stored = next(r for r in rows if r["trigger"] == "statement" and r["line"] == 3)
    assert 24 * MiB <= stored["bytes_new"] < 33 * MiB
    iterations = [r for r in rows if r["trigger"] == "iteration"]
    assert [r["loops"] for r in iterations] == [[1], [2], [3], [4], [5]]
    for row in iterations:
        assert row["bytes_new"] < 2 * MiB, row
        assert row["bytes_reused"] >= 32 * MiB, row
    # The run's total is about one copy of the array, not one per snapshot.
    run = sl.last_run()
    assert run["bytes_stored"] < 34 * MiB
    # `small` did change at every iteration.
    means = [sl.show(f"last@{r['seq']}", "small")["stats"]["mean"] for r in iterations]
    assert means == [0.5 * k / 1000 for k in range(1, 6)]


def test_one_element_change_stores_one_chunk(sl):
    script = sl.script("""
        import numpy as np

        huge = np.random.default_rng(1).random(100_000_000 // 8)  # 100 MB
        for i in range(3):
            huge[i * 3_000_000 + 17] = -1.0
        print(int((huge == -1.0).sum()))
    """)
    done = sl.capture(script, opts=("--budget", "0"))  # every iteration
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3\n"
    rows = sl.log()
    stored = next(r for r in rows if r["trigger"] == "statement" and r["line"] == 3)
    assert stored["bytes_new"] >= 80_000_000  # 100 MB of random float64, compressed
    iterations = [r for r in rows if r["trigger"] == "iteration"]
    assert [r["loops"] for r in iterations] == [[1], [2], [3]]
    for row in iterations:
        # One changed element: one 1 MiB chunk is new, the rest reused.
        assert 0 < row["bytes_new"] <= 1.1 * MiB, row
        assert row["bytes_reused"] >= 100_000_000 - 1.1 * MiB, row
    minima = [sl.show(f"last@{r['seq']}", "huge")["stats"]["min"] for r in iterations]
    assert minima == [-1.0, -1.0, -1.0]
