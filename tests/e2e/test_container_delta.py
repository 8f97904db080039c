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
    # JSON alone is about 360 KB; bytes_new counts chunks as stored,
    # compressed: 66 to 140 KB here).
    first = max(r["bytes_new"] for r in rows if r["trigger"] == "statement")
    assert first > 50_000
    for row in iterations[1:]:
        # One changed item in each of three containers (~600 KB of JSON):
        # a few chunks and three records listing their chunks.
        assert row["bytes_new"] < 40_000, row
        assert row["bytes_new"] * 4 < first, row

    # The run's STORED counts every byte the snapshots wrote (chunks as
    # stored, compressed): the records and chunk frames add up to no more.
    (run_row,) = sl.runs()
    assert run_row["bytes_stored"] == sum(r["bytes_new"] for r in rows)
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        records = conn.execute("SELECT SUM(LENGTH(record)) FROM objects").fetchone()[0]
        chunk_bytes = conn.execute("SELECT SUM(stored) FROM chunks").fetchone()[0]
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


# A dict of user counts and a list of scores, each changed in one place per
# iteration: what a snapshot stores must not grow with their size.
ONE_PLACE = """
    import sys

    n = int(sys.argv[1])
    counts = {f"user{i:06d}": i for i in range(n)}
    scores = [i * 0.5 for i in range(n)]
    for step in range(5):
        counts[f"user{(step * 7919) % n:06d}"] += 1
        scores[(step * 104729) % n] = -1.0
    print(len(counts), sum(counts.values()), sum(scores))
"""

# The same state, rebuilt after `done` iterations, compared in the restore.
EXPECTED = """
want_counts = {{f"user{{i:06d}}": i for i in range({n})}}
want_scores = [i * 0.5 for i in range({n})]
for s in range({done}):
    want_counts[f"user{{(s * 7919) % {n}:06d}}"] += 1
    want_scores[(s * 104729) % {n}] = -1.0
print(counts == want_counts, scores == want_scores, list(counts) == list(want_counts))
"""


def _iterations(sl, script, size):
    store = sl.store.parent / f"store{size}"
    captured = sl.capture(script, str(size), opts=("--outer-every", "0"), store=store)
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == sl.plain(script, str(size)).stdout
    rows = sl.log(store=store)
    loop_line = line_of(script, "for step in range")
    iterations = [r for r in rows if r["trigger"] == "iteration" and r["line"] == loop_line]
    assert len(iterations) == 5
    return store, rows, iterations


def test_a_change_in_one_place_stores_the_same_at_any_size(sl):
    """A 50,000-item dict and list changed in one place store O(1) per
    snapshot, their records included: no more than at 10,000 items."""
    script = sl.script(ONE_PLACE)
    sizes = {}
    for size in (10_000, 50_000):
        _, rows, iterations = _iterations(sl, script, size)
        first = max(r["bytes_new"] for r in rows if r["trigger"] == "statement")
        changed = [r["bytes_new"] for r in iterations[1:]]
        # Each: a chunk or two of each container's JSON, one chunk-list node
        # per level, the two value records, the snapshot's own rows.
        assert max(changed) < 24_000, (size, changed)
        sizes[size] = (first, sum(changed))
    # The first sight of the 50,000 items stores them all (~1.5 MB of JSON,
    # about 165 KB compressed as written; 35 to 78 KB at 10,000)...
    assert sizes[50_000][0] > 1.5 * sizes[10_000][0] > 40_000, sizes
    # ...and a change in one place about what it does at 10,000 items (a
    # record listing every chunk would make this about 5x).
    assert sizes[50_000][1] < 2 * sizes[10_000][1], sizes


def test_large_values_restore_diff_export_and_gc_through_their_chunk_lists(sl, tmp_path):
    script = sl.script(ONE_PLACE)
    n = 50_000
    store, _, iterations = _iterations(sl, script, n)
    third = f"last@{iterations[2]['seq']}"  # after 3 iterations
    assert sl.show(third, "counts", store=store)["shape"] == [n]
    assert sl.show(third, f'counts["user{7919:06d}"]', store=store)["value"] == str(7919 + 1)
    assert sl.show(third, f"scores[{2 * 104729 % n}]", store=store)["value"] == "-1.0"

    # diff names the key and the index that changed, not just "changed".
    diff = sl.cli("diff", f"last@{iterations[1]['seq']}", third, store=store)
    details = {c["path"]: c.get("detail") or {} for c in diff["changes"]}
    assert details["counts"]["changed_keys"] == [f'["user{2 * 7919 % n:06d}"]']
    assert details["counts"]["items_changed"] == 1
    assert details["scores"]["changed_keys"] == [f"[{2 * 104729 % n}]"]
    text = run([BIN, "--store", store, "diff", f"last@{iterations[1]['seq']}", third])
    assert f'at ["user{2 * 7919 % n:06d}"]' in text.stdout

    def restored(at, done, where=store):
        out = run([BIN, "--store", where, "restore", at, "-c", EXPECTED.format(n=n, done=done)])
        assert out.returncode == 0, out.stderr
        assert "differs" not in out.stderr, out.stderr
        return out.stdout.strip().splitlines()[-1]

    assert restored(third, 3) == "True True True"

    # A bundle carries the chunk-list nodes; the import restores the same.
    bundle = tmp_path / "run.snapline"
    sl.cli("export", "last", "-o", bundle, store=store)
    other = tmp_path / "other"
    sl.cli("import", bundle, store=other)
    assert restored(third, 3, other) == "True True True"

    # gc keeps what the kept snapshots' trees need, drops the rest; fsck agrees.
    sl.cli("gc", "--keep-last", "1", store=store)
    fsck = sl.cli("fsck", store=store)
    assert fsck["healthy"], fsck
    assert restored("last", 5) == "True True True"
