"""Containers by delta (issue #16): a long list, dict or set changed in a
few places stores about what changed, not its whole content again; the
numbers `log` and `runs` give count everything a snapshot wrote; show, diff
and restore read the new representation."""

from __future__ import annotations

import sqlite3

from conftest import BIN, line_of, run

# A tokenizer-style script: a big vocabulary and token list built once, then
# a loop that changes one entry of each, appends a token and a history row.
SCRIPT = """
    vocab = {f"word{i}": i for i in range(20000)}
    tokens = [f"tok{i % 5000}" for i in range(20000)]
    history = [{"step": s, "loss": 1.0 / (s + 1)} for s in range(500)]
    for step in range(6):
        vocab[f"word{step * 3000}"] += 1
        tokens[step * 3000] = "changed"
        tokens.append(f"new{step}")
        history.append({"step": 500 + step, "loss": 0.001})
    print(len(vocab), len(tokens), len(history), vocab["word3000"], tokens[3000])
"""


def test_a_container_changed_in_one_place_stores_little(sl):
    script = sl.script(SCRIPT)
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--outer-every", "0"))
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    rows = sl.log()
    loop_line = line_of(script, "for step in range")
    iterations = [r for r in rows if r["trigger"] == "iteration" and r["line"] == loop_line]
    assert len(iterations) == 6
    # The statement snapshot that first sees `vocab` stores the lot (its
    # JSON alone is about 360 KB).
    first = max(r["bytes_new"] for r in rows if r["trigger"] == "statement")
    assert first > 300_000
    for row in iterations[1:]:
        # One changed item in each of three containers (~600 KB of JSON):
        # a few chunks and three records listing their chunks.
        assert row["bytes_new"] < 40_000, row
        assert row["bytes_new"] * 15 < first, row

    # The run's STORED counts every byte the snapshots wrote; the store
    # holds (compressed) no more than that plus the database's own overhead.
    (run_row,) = sl.runs()
    assert run_row["bytes_stored"] == sum(r["bytes_new"] for r in rows)
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        records = conn.execute("SELECT SUM(LENGTH(record)) FROM objects").fetchone()[0]
        chunk_bytes = conn.execute("SELECT SUM(size) FROM chunks").fetchone()[0]
    assert records + chunk_bytes <= run_row["bytes_stored"]

    last = f"last@{iterations[-1]['seq']}"
    objects = sl.objects(last)
    assert objects["history"]["shape"] == [506]
    assert "history[3]" not in objects  # one value, not a node per row
    assert sl.show(last, 'vocab["word3000"]')["value"] == "3001"
    assert sl.show(last, "tokens[3000]")["value"] == '"changed"'
    assert sl.show(last, 'history[505]["step"]')["value"] == "505"

    before, after = f"last@{iterations[0]['seq']}", last
    diff = sl.cli("diff", before, after)
    changed = {c["path"] for c in diff["changes"]}
    assert {"vocab", "tokens", "history", "step"} <= changed

    code = ("print(len(vocab), len(tokens), len(history), vocab['word3000'], tokens[3000], "
            "history[-1])")
    restored = run([BIN, "--store", sl.store, "restore", last, "-c", code])
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == "20000 20006 506 3001 changed {'step': 505, 'loss': 0.001}"


def test_shared_rows_keep_their_identity(sl):
    """A row something else also holds stays an object of its own (restore
    keeps `last is history[-1]`), however long the list."""
    script = sl.script("""
        history = [{"step": s} for s in range(100)]
        last = history[-1]
        print(len(history))
    """)
    captured = sl.capture(script)
    assert captured.returncode == 0, captured.stderr
    objects = sl.objects("last@last", all_=True)
    assert objects["history[99]"]["node"] == objects["last"]["node"]
    restored = run([BIN, "--store", sl.store, "restore", "last@last", "-c",
                    "print(last is history[-1])"])
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[-1] == "True"
