"""Generator states stored compactly (issue #16): a Mersenne Twister state is
a binary chunk of its words, not 625 ints of JSON, and `snapline restore`
gives back every generator bit for bit."""

from __future__ import annotations

import json
import sqlite3

from conftest import BIN, PYTHON, run

# Every kind of generator a script holds: Python's `random` (with a cached
# gauss), numpy's global one (with a cached normal), a RandomState, two
# Generators, torch's when there is torch. Each iteration pickles what
# the states are after it.
SCRIPT = """
    import pickle
    import random
    import sys

    import numpy as np

    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None

    random.seed(1)
    np.random.seed(2)
    legacy = np.random.RandomState(3)
    gen = np.random.default_rng(4)
    mt_gen = np.random.Generator(np.random.MT19937(5))
    if torch is not None:
        torch.manual_seed(6)
    random.gauss(0.0, 1.0)
    np.random.standard_normal()
    total = 0.0
    for step in range(3):
        total += random.random() + np.random.random() + legacy.random_sample()
        total += gen.random() + mt_gen.random() + sum(random.random() for _ in range(400))
        if torch is not None:
            total += float(torch.rand(3).sum())
        states = {"random": random.getstate(), "numpy": np.random.get_state(),
                  "legacy": legacy.get_state(), "gen": gen.bit_generator.state,
                  "mt_gen": mt_gen.bit_generator.state,
                  "torch": None if torch is None else torch.get_rng_state().numpy().tobytes()}
        with open(sys.argv[1] + f"/state{step}.pkl", "wb") as f:
            pickle.dump(states, f)
    print("done")
"""

# Run in the restored session: compares each live generator with the
# pickled states of the iteration the snapshot is after.
CHECK = """
import pickle, random
import numpy as np
want = pickle.load(open({path!r}, "rb"))
same = {{}}
same["random"] = random.getstate() == want["random"]
def legacy_same(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[1].dtype == b[1].dtype and a[2:] == b[2:]
same["numpy"] = legacy_same(np.random.get_state(), want["numpy"])
same["legacy"] = legacy_same(legacy.get_state(), want["legacy"])
same["gen"] = gen.bit_generator.state == want["gen"]
mt = mt_gen.bit_generator.state
same["mt_gen"] = (np.array_equal(mt["state"]["key"], want["mt_gen"]["state"]["key"])
                  and mt["state"]["pos"] == want["mt_gen"]["state"]["pos"])
if want["torch"] is not None:
    import torch
    same["torch"] = torch.get_rng_state().numpy().tobytes() == want["torch"]
print("SAME", sorted(k for k, v in same.items() if v), sorted(k for k, v in same.items() if not v))
print("NEXT", random.random(), np.random.random(), legacy.random_sample(), gen.random())
"""


def test_every_generator_restores_bit_for_bit(sl, tmp_path):
    out = tmp_path / "states"
    out.mkdir()
    script = sl.script(SCRIPT)
    captured = sl.capture(script, out, opts=("--outer-every", "0"))
    assert captured.returncode == 0, captured.stderr
    iterations = [r for r in sl.log() if r["trigger"] == "iteration"]
    assert [r["loops"] for r in iterations] == [[1], [2], [3]]
    snapshot = iterations[1]  # after the second iteration: state1.pkl
    ref = f"last@{snapshot['seq']}"

    # The Mersenne Twister states are a chunk of 624 words each, described
    # readably, not a walked tuple of ints.
    shown = sl.show(ref, "$rng.random")
    assert "Mersenne Twister state (random), 624 words" in json.dumps(shown)
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        records = {path: json.loads(record) for path, record in conn.execute(
            "SELECT e.path, o.record FROM entries e JOIN objects o ON o.hash = e.hash "
            "WHERE e.seq = ? AND e.path LIKE '$rng.%'", (snapshot["seq"],))}
        for name in ("$rng.random", "$rng.numpy"):
            record = records[name]
            assert record["extra"]["encoding"] == "rng", record
            assert record["nbytes"] == 624 * 4 and len(record["chunks"]) == 1
            assert "value" not in record and "children" not in record
        assert not conn.execute(
            "SELECT COUNT(*) FROM entries WHERE path LIKE '$rng.numpy[%'").fetchone()[0]

    code = CHECK.format(path=str(out / "state1.pkl"))
    restored = run([BIN, "--store", sl.store, "restore", ref, "-c", code])
    assert restored.returncode == 0, restored.stderr
    same = next(line for line in restored.stdout.splitlines() if line.startswith("SAME"))
    expected = ["gen", "legacy", "mt_gen", "numpy", "random"]
    if "'torch'" in same:
        expected.append("torch")
    assert same == f"SAME {sorted(expected)} []", restored.stdout


def test_a_loop_that_only_draws_stores_little_per_snapshot(sl):
    """Each iteration draws a number: what changed is the generator's
    position (and, every 312 draws, its words), a float and the counter."""
    script = sl.script("""
        import random

        random.seed(0)
        total = 0.0
        for step in range(600):
            total += random.random()
        print(round(total, 6))
    """)
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--outer-every", "0"))
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    rows = [r for r in sl.log() if r["trigger"] == "iteration"]
    assert len(rows) == 600
    sizes = sorted(r["bytes_new"] for r in rows[1:])
    # Most snapshots store the new position (in a ~0.3 KB record), not the
    # 2.5 KB of words; none stores the ~7 KB of JSON of a walked state.
    # (About 1.6 KB of records, entries and the snapshot row besides.)
    assert sizes[len(sizes) // 2] < 2_500, sizes[len(sizes) // 2]
    assert sizes[-1] < 4_500, sizes[-1]
    restored = run([BIN, "--store", sl.store, "restore", f"last@{rows[-1]['seq']}", "-c",
                    "import random; print(random.getstate()[1][-1])"])
    assert restored.returncode == 0, restored.stderr
    # The position the live generator had after the loop.
    live = run([PYTHON, "-c", ("import random; random.seed(0); "
                               "[random.random() for _ in range(600)]; "
                               "print(random.getstate()[1][-1])")])
    assert restored.stdout.strip().splitlines()[-1] == live.stdout.strip()


# A loop drawing from `random` and numpy's global generator: each iteration
# regenerates both generators' words (once or a few times), so their words
# chunk is new at every snapshot. Each iteration prints the draws that come
# next, read from copies (the live generators do not move).
DRAWING = """
    import random

    import numpy as np



    def next_draws():
        # The next `random.random()` and `np.random.rand()`, from copies
        # (locals: the snapshot holds only the live generators).
        python = random.Random()
        python.setstate(random.getstate())
        legacy = np.random.RandomState()
        legacy.set_state(np.random.get_state())
        return repr(python.random()), repr(float(legacy.rand()))


    random.seed(11)
    np.random.seed(12)
    total = 0.0
    for step in range(40):
        total += sum(random.random() for _ in range(400 + 40 * (step % 5)))
        total += float(np.random.rand(350 + 300 * (step % 3)).sum())
        print("NEXT", step, *next_draws())
    print(round(total, 6))
"""


def test_new_words_are_stored_as_twists_and_restore_exactly(sl, tmp_path):
    """New words that are the previous ones twisted are stored as 25-byte
    twist frames of a keyframe: restore gives back the exact generators at
    any snapshot (the next draws are the ones the run printed), fsck and an
    exported bundle follow the frames, and the run stores less than with
    the frames off (`SNAPLINE_TWIST=0`)."""
    script = sl.script(DRAWING)
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--outer-every", "0"))
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    printed = {int(line.split()[1]): line.split()[2:]
               for line in plain.stdout.splitlines() if line.startswith("NEXT")}
    run_id = sl.last_run()["id"]
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        twists, bases = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT base) FROM chunks "
            "WHERE base IS NOT NULL AND size = 2496 AND stored < 64").fetchone()
    # Both generators' words are new at every snapshot; all but the first
    # few are twist frames of one keyframe per generator.
    assert twists >= 70, twists
    assert bases <= 4, bases
    assert sl.cli("fsck")["problems"] == []

    iterations = {r["loops"][0] - 1: r["seq"] for r in sl.log() if r["trigger"] == "iteration"}
    code = "import random, numpy as np; print('GOT', repr(random.random()), repr(float(np.random.rand())))"
    for step in (0, 1, 17, 39):
        ref = f"{run_id}@{iterations[step]}"
        restored = run([BIN, "--store", sl.store, "restore", ref, "-c", code])
        assert restored.returncode == 0, restored.stderr
        got = next(line for line in restored.stdout.splitlines() if line.startswith("GOT"))
        assert got.split()[1:] == printed[step], (step, got, printed[step])

    # A bundle carries the frames decoded: the imported run restores alike.
    bundle = tmp_path / "draws.snapline"
    sl.cli("export", run_id, "-o", bundle)
    other = tmp_path / "other"
    sl.cli("import", bundle, store=other)
    assert sl.cli("fsck", store=other)["problems"] == []
    restored = run([BIN, "--store", other, "restore", f"{run_id}@{iterations[17]}", "-c", code])
    assert restored.returncode == 0, restored.stderr
    got = next(line for line in restored.stdout.splitlines() if line.startswith("GOT"))
    assert got.split()[1:] == printed[17]

    # The same run with the frames off stores every new words chunk whole.
    whole = tmp_path / "whole"
    again = sl.capture(script, opts=("--outer-every", "0"), store=whole,
                       env={"SNAPLINE_TWIST": "0"})
    assert again.returncode == 0, again.stderr
    with_frames = sl.last_run()["bytes_stored"]
    without = sl.last_run(store=whole)["bytes_stored"]
    # About 70 words chunks of 2.5 KB each, against 25 bytes each.
    assert with_frames < without - 100_000, (with_frames, without)
