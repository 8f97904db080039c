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
