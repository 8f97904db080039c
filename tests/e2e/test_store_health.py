"""Keeping a store healthy: `snapline fsck` finds what kill -9 or a flipped
bit left and names the snapshots affected, `--repair` drops exactly those;
`snapline gc` thins snapshots by its keep rules and every kept snapshot
still restores; `snapline rm` removes a run and keeps what others share."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from conftest import EXAMPLES, PYTHON, TIMEOUT, wait_for_iterations

MLP = EXAMPLES / "numpy_mlp.py"
# Wide enough that the weights live in chunk files (chunks over 64 KiB).
MLP_ARGS = ("--epochs", "5", "--hidden", "16384")

# Prints a number that depends on every array of the restored state.
FINGERPRINT = (
    "import numpy as np\n"
    "vals = [v for k, v in sorted(globals().items()) if isinstance(v, np.ndarray)]\n"
    "vals += [v for k, v in sorted(globals().get('params', {}).items())]\n"
    "print('fp', repr(sum(float(np.asarray(v, dtype=np.float64).sum()) for v in vals)))\n"
)

CHURN = """
import numpy as np

arrays = [np.arange(256 * 1024, dtype=np.float64) * (k + 1) for k in range(4)]  # 4 x 2 MiB
print("ready", flush=True)
step = 0
while True:
    step += 1
    for a in arrays:
        a += 1.0
"""


def fingerprint(sl, ref: str) -> str:
    done = sl.cli_raw("restore", ref, "-c", FINGERPRINT, json_out=False)
    assert done.returncode == 0, f"restore {ref}: {done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("fp ")]
    assert len(lines) == 1, done.stdout
    return lines[0]


def chunk_files(store: Path) -> list:
    return sorted(p for p in (store / "chunks").glob("*/*") if p.is_file())


def chunk_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in chunk_files(store))


def fsck(sl, *args: str) -> tuple:
    done = sl.cli_raw("fsck", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def capture_mlp(sl, *extra: str) -> str:
    done = sl.capture(MLP, *MLP_ARGS, *extra)
    assert done.returncode == 0, done.stderr
    return sl.last_run()["id"]


def verify_all(sl) -> None:
    for run in sl.runs():
        done = sl.cli_raw("log", run["id"], "--verify")
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        assert all(r["verified"] for r in rows), [r for r in rows if not r["verified"]]



def test_a_healthy_store(sl):
    capture_mlp(sl)
    code, report = fsck(sl)
    assert code == 0
    assert report["healthy"] is True and report["problems"] == []
    assert report["chunks"] > 0 and report["snapshots"] > 0
    human = sl.cli_raw("fsck", json_out=False)
    assert human.returncode == 0 and "healthy" in human.stdout


def test_kill_9_leaves_only_reclaimable_leftovers(sl):
    script = sl.script(CHURN)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
    assert proc.stdout.readline() == "ready\n", proc.stderr.read()
    wait_for_iterations(sl, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    run_id = sl.last_run()["id"]
    snapshots = len(sl.log(run_id))

    code, report = fsck(sl)
    assert code == 0, report
    assert report["problems"] == [] and report["affected_snapshots"] == []
    assert report["leftovers"]["stale_runs"] == [run_id]

    code, repaired = fsck(sl, "--repair")
    assert code == 0
    assert repaired["repair"]["dropped_snapshots"] == []
    assert repaired["repair"]["runs_marked_killed"] == [run_id]
    assert len(sl.log(run_id)) == snapshots, "no snapshot was touched"
    verify_all(sl)
    code, after = fsck(sl)
    assert code == 0
    left = after["leftovers"]
    assert left["orphan_chunk_files"] == [] and left["temp_files"] == []
    assert left["stale_runs"] == []
    assert not [p for p in chunk_files(sl.store) if ".tmp-" in p.name]
    assert sl.runs()[-1]["status"] == "killed"


def test_a_flipped_byte_names_the_snapshots_and_repair_drops_only_them(sl):
    run_id = capture_mlp(sl)
    rows = sl.log(run_id)
    iterations = [r["seq"] for r in rows if r["trigger"] == "iteration"]
    before = {seq: fingerprint(sl, f"{run_id}@{seq}") for seq in iterations}

    # A chunk no delta is encoded against: a damaged delta base damages the
    # chunks decoded through it too (tests/e2e/test_weight_delta.py).
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        bases = {b for (b,) in conn.execute("SELECT base FROM chunks WHERE base IS NOT NULL")}
    files = sorted((p for p in chunk_files(sl.store) if p.stem not in bases),
                   key=lambda p: p.stat().st_mtime_ns)
    victim = files[len(files) // 2]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    code, report = fsck(sl)
    assert code == 1
    assert report["healthy"] is False
    [problem] = report["problems"]
    assert problem["kind"] == "damaged_chunk"
    assert problem["subject"] == victim.name.removesuffix(".zst")
    affected = report["affected_snapshots"]
    assert affected and problem["snapshots"] == affected
    assert len(affected) < len(rows)
    # The same snapshots `log --verify` finds damaged.
    done = sl.cli_raw("log", run_id, "--verify")
    assert done.returncode == 1
    failing = [f"{run_id}@{r['seq']}" for r in json.loads(done.stdout) if not r["verified"]]
    assert failing == affected
    human = sl.cli_raw("fsck", json_out=False)
    assert human.returncode == 1
    assert "damaged chunk" in human.stdout and affected[0] in human.stdout
    assert "fsck --repair" in human.stdout

    code, repaired = fsck(sl, "--repair")
    assert code == 0
    assert repaired["repair"]["dropped_snapshots"] == affected
    assert not victim.exists()
    remaining = [r["seq"] for r in sl.log(run_id)]
    assert sorted(remaining + [int(a.split("@")[1]) for a in affected]) == [
        r["seq"] for r in rows]
    verify_all(sl)
    assert fsck(sl)[0] == 0
    for seq in iterations:
        if seq in remaining:
            assert fingerprint(sl, f"{run_id}@{seq}") == before[seq]


def test_gc_keeps_by_its_rules_and_every_kept_snapshot_restores(sl):
    capture_mlp(sl)
    capture_mlp(sl, "--lr", "0.1")
    rules = ("--keep-last", "2", "--keep-every", "10", "--keep-labeled")
    plan = sl.cli("gc", *rules, "--dry-run")
    assert plan["dry_run"] is True
    kept = {}
    for run in plan["runs"]:
        seqs = [r["seq"] for r in sl.log(run["run"])]
        kept[run["run"]] = [s for s in seqs if s not in run["removed"]]
        assert seqs[0] in kept[run["run"]] and seqs[-1] in kept[run["run"]]
        assert all(s in kept[run["run"]] for s in seqs[-2:])
        assert all(s in kept[run["run"]] for s in seqs if s % 10 == 0)
    before = {(run_id, seq): fingerprint(sl, f"{run_id}@{seq}")
              for run_id, seqs in kept.items() for seq in seqs}
    size = chunk_bytes(sl.store)

    report = sl.cli("gc", *rules)
    assert report["snapshots_removed"] == plan["snapshots_removed"] > 0
    assert report["chunks_removed"] == plan["chunks_removed"]
    for run_id, seqs in kept.items():
        assert [r["seq"] for r in sl.log(run_id)] == seqs
    verify_all(sl)
    for (run_id, seq), value in before.items():
        assert fingerprint(sl, f"{run_id}@{seq}") == value
    assert chunk_bytes(sl.store) < size
    assert fsck(sl)[0] == 0

    # Without rules gc removes no snapshot.
    again = sl.cli("gc")
    assert again["snapshots_removed"] == 0


def test_rm_removes_a_run_and_keeps_what_another_shares(sl):
    a = capture_mlp(sl)
    b = capture_mlp(sl)  # the same seed: many chunks shared with a
    last_b = fingerprint(sl, f"{b}@last")
    size = chunk_bytes(sl.store)

    report = sl.cli("rm", a)
    assert report["removed_runs"] == [a]
    assert [r["id"] for r in sl.runs()] == [b]
    verify_all(sl)
    assert fingerprint(sl, f"{b}@last") == last_b
    assert chunk_bytes(sl.store) <= size
    assert fsck(sl)[0] == 0

    code, err = sl.cli_fail("rm", "nosuchrun")
    assert code == 2 and "no run matches" in err


def test_rm_refuses_a_run_being_captured(sl):
    script = sl.script(CHURN)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        wait_for_iterations(sl, proc)
        run_id = sl.last_run()["id"]
        code, err = sl.cli_fail("rm", run_id)
        assert code == 2 and "still being captured" in err and "--force" in err
        report = sl.cli("gc", "--keep-last", "1")
        assert run_id in report["live_runs"]
        assert next(r for r in report["runs"] if r["run"] == run_id)["removed"] == []
    finally:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
    assert sl.cli("rm", run_id)["removed_runs"] == [run_id]
    assert fsck(sl)[0] == 0


STEADY = """
import sys
import time

import numpy as np

pause = float(sys.argv[1])
arrays = [np.arange(256 * 1024, dtype=np.float64) * (k + 1) for k in range(4)]  # 4 x 2 MiB
print("ready", flush=True)
for step in range(30):
    for a in arrays:
        a += 1.0
    time.sleep(pause)
"""


def test_gc_rm_and_repair_never_break_a_capture_in_progress(sl):
    script = sl.script(STEADY)
    done = sl.capture(script, "0")
    assert done.returncode == 0, done.stderr
    old = sl.last_run()["id"]
    # The same arrays again, slowly: the live run meets chunks the old run
    # has, which it reuses without writing them, while they are being swept.
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script, "0.15"])
    assert proc.stdout.readline() == "ready\n", proc.stderr.read()
    wait_for_iterations(sl, proc)
    live = sl.last_run()["id"]
    rounds = 0
    while proc.poll() is None:
        sl.cli("gc", "--keep-last", "1")
        code, _ = fsck(sl, "--repair")
        assert code == 0
        if rounds == 2:
            sl.cli("rm", old)
        rounds += 1
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert rounds >= 3, "the capture ended before the sweeps ran"
    assert [r["id"] for r in sl.runs()] == [live]
    verify_all(sl)
    code, report = fsck(sl)
    assert code == 0 and report["problems"] == []
    sl.cli("gc")  # nothing live now: the deferred chunks go
    verify_all(sl)
    assert fsck(sl)[0] == 0


VOCAB = """
import random

random.seed(0)
vocab = {}
for i in range(400):
    word = "".join(random.choice("abcdefgh") for _ in range(8))
    vocab[word] = vocab.get(word, 0) + i
print(len(vocab))
"""


def test_rm_packs_the_catalog_and_the_other_run_stays_whole(sl):
    """Rows deleted by `rm` give their pages back: the catalog file shrinks
    (`catalog_bytes_freed`), and the run left restores as before."""
    assert sl.capture(VOCAB, opts=("--outer-every", "0")).returncode == 0
    big = sl.last_run()["id"]
    assert sl.capture(VOCAB).returncode == 0
    kept = sl.last_run()["id"]
    before = sl.show(f"{kept}@last", "vocab")
    catalog = sl.store / "catalog.sqlite"
    size = catalog.stat().st_size

    report = sl.cli("rm", big)
    assert report["removed_runs"] == [big]
    assert report["catalog_bytes_freed"] > 0
    assert catalog.stat().st_size < size
    assert sl.show(f"{kept}@last", "vocab") == before
    assert fsck(sl)[0] == 0
