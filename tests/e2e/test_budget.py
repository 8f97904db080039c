"""The time budget (`--budget`, issue #16): snapshots take at most a small
share of the run's wall time; past it, loops are snapshotted less often, said
once on stderr and in the run's warnings; explicit throttles still win."""

from __future__ import annotations

import sqlite3

from conftest import line_of

# A vocabulary built in a tight loop: the state grows at every iteration, so
# a snapshot at every outermost iteration (the default rate) would make the
# run quadratic.
GROWING_LOOP = """
    import random

    random.seed(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    vocab = {}
    tokens = []
    for i in range({n}):
        word = random.choice(words) + str(i % 997)
        vocab[word] = vocab.get(word, 0) + 1
        tokens.append(word)
    print(len(vocab), len(tokens))
"""


def _warnings(store) -> list:
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        return [row[0] for row in conn.execute("SELECT message FROM warnings")]


def _iterations(sl, script) -> list:
    loop_line = line_of(script, "for i in range")
    return [r for r in sl.log() if r["trigger"] == "iteration" and r["line"] == loop_line]


def test_budget_throttles_a_tight_growing_loop(sl):
    script = sl.script(GROWING_LOOP.replace("{n}", "10000"))
    plain = sl.plain(script)
    captured = sl.capture(script, default_budget=True)
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    notes = [line for line in captured.stderr.splitlines() if line.startswith("snapline:")]
    assert len(notes) == 1, captured.stderr
    assert "snapshotted less often" in notes[0] and "2%" in notes[0]
    assert captured.stderr.strip() == notes[0]
    assert any("snapshotted less often" in w for w in _warnings(sl.store))
    iterations = _iterations(sl, script)
    # Some snapshots, far from one per iteration; the end is still there.
    assert 1 <= len(iterations) < 1000, len(iterations)
    last = sl.log()[-1]
    assert last["trigger"] == "exit"
    assert sl.objects(f"last@{last['seq']}")["tokens"]["shape"] == [10000]


def test_explicit_throttle_and_no_budget_snapshot_every_iteration(sl):
    script = sl.script(GROWING_LOOP.replace("{n}", "300"))
    for opts in (("--outer-every", "0"), ("--budget", "0")):
        store = sl.store.parent / f"store{opts[0]}"
        captured = sl.capture(script, opts=opts, store=store)
        assert captured.returncode == 0, captured.stderr
        assert "snapline:" not in captured.stderr
        assert not _warnings(store)
        iterations = [r for r in sl.log(store=store) if r["trigger"] == "iteration"]
        assert len(iterations) == 300, (opts, len(iterations))


def test_budget_option_is_checked(sl):
    script = sl.script("print('hi')\n")
    captured = sl.capture(script, opts=("--budget", "lots"))
    assert captured.returncode == 2
    assert "percentage" in captured.stderr


# The budget's floor (agent.BUDGET_FLOOR_S): what loop snapshots may take
# before the run has run long enough to earn it at the budget's rate.
FLOOR_S = 0.005


def test_budget_holds_from_the_start_of_a_short_run(sl):
    """No first allowance: at the default 2%, the loop snapshots of a short
    run take at most 2% of its wall time + the floor + the one snapshot that
    overdraws the budget (figures of the run itself, not a timing bound)."""
    script = sl.script(GROWING_LOOP.replace("{n}", "10000"))
    captured = sl.capture(script, default_budget=True)
    assert captured.returncode == 0, captured.stderr
    run = sl.cli("runs")[-1]
    loop_ms = [r["capture_ms"] for r in sl.log() if r["trigger"] == "iteration"]
    assert loop_ms, "the first loop snapshot of a run is always taken"
    bound_ms = (0.02 * run["duration"] + FLOOR_S) * 1000 + max(loop_ms)
    assert sum(loop_ms) <= bound_ms, (len(loop_ms), sum(loop_ms), run["duration"])
