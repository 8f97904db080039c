"""Changed float weights are stored as deltas (zigzag difference of bit
patterns, byte-shuffled, zstd), by default of their chunk's keyframe (a
star), or of their previous version in chains of bounded depth
(`SNAPLINE_DELTA_DEPTH`, most tests here): a model trained for five epochs
restores bit for bit at every epoch, stores less than with deltas off
(`SNAPLINE_DELTA=0`), and gc, fsck, export and import follow every base of
a chain."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import BIN, Snapline, run

TRAIN = """
import hashlib
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(32, 512), torch.nn.ReLU(),
    torch.nn.Linear(512, 512), torch.nn.ReLU(),
    torch.nn.Linear(512, 4),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(256, 32)
y = torch.randint(0, 4, (256,))


def digest(m):
    h = hashlib.sha256()
    for name, t in m.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


for epoch in range(5):
    for i in range(0, 256, 64):
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(epoch, digest(model))
"""

CHECK = """
import hashlib
h = hashlib.sha256()
for name, t in model.state_dict().items():
    h.update(name.encode())
    h.update(t.detach().contiguous().numpy().tobytes())
print("DIGEST", epoch, h.hexdigest())
"""


def chunk_rows(store: Path) -> list:
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        return conn.execute("SELECT hash, size, stored, base FROM chunks").fetchall()


def chain_depths(rows: list) -> dict:
    """Deltas between each chunk and a plain chunk, from the catalog's bases."""
    base = {r[0]: r[3] for r in rows}
    depths = {}
    for h in base:
        depth, at = 0, h
        while base.get(at) is not None:
            depth, at = depth + 1, base[at]
        depths[h] = depth
    return depths


def epoch_snapshots(sl: Snapline, store: Path) -> list:
    """(seq, epochs done) of the snapshot after each epoch iteration."""
    log = sl.log(store=store)
    return [(s["seq"], s["loops"][0]) for s in log
            if s["trigger"] == "iteration" and len(s["loops"]) == 1]


def restored_digest(store: Path, ref: str) -> tuple:
    done = run([BIN, "--store", store, "restore", ref, "-c", CHECK])
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("DIGEST"))
    _, epoch, digest = line.split()
    return int(epoch), digest


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, need_torch: None) -> tuple:
    root = tmp_path_factory.mktemp("weight_delta")
    sl = Snapline(root / "store", root / "scripts")
    script = sl.script(TRAIN, "train.py")
    # The same snapshots in both runs whatever the machine's load: every
    # epoch, no inner (per-batch) snapshot, no budget thinning.
    opts = ("--inner-every", "1000", "--budget", "0")
    # Chains of at most 2 deltas (each epoch's weights against the epoch
    # before), whatever the default: the initial weights are stored plain,
    # epochs 1-2 as deltas, epoch 3 plain again, epochs 4-5 as deltas.
    done = sl.capture(script, opts=opts, env={"SNAPLINE_DELTA_DEPTH": "2"})
    assert done.returncode == 0, done.stderr
    plain_store = root / "plain"
    off = sl.capture(script, env={"SNAPLINE_DELTA": "0"}, store=plain_store, opts=opts)
    assert off.returncode == 0, off.stderr
    assert off.stdout == done.stdout
    digests = {int(line.split()[0]): line.split()[1] for line in done.stdout.splitlines()}
    return sl, root, plain_store, digests


def test_trained_weights_restore_bit_for_bit_and_store_less(trained):
    sl, _, plain_store, digests = trained
    rows = chunk_rows(sl.store)
    deltas = [r for r in rows if r[3] is not None]
    assert deltas, "no chunk was stored as a delta"
    assert all(r[1] > 64 * 1024 for r in deltas)
    stored = sum(r[2] for r in rows)
    stored_plain = sum(r[2] for r in chunk_rows(plain_store))
    assert [r[3] for r in chunk_rows(plain_store) if r[3]] == []
    assert stored < stored_plain, (stored, stored_plain)
    # Chains deeper than one delta, never deeper than the limit; a new
    # chain starts after it (more plain float chunks than one per buffer).
    depths = chain_depths(rows)
    assert max(depths.values()) == 2, sorted(depths.values())
    big = [r for r in rows if r[1] > 64 * 1024]
    plain_big = [r for r in big if depths[r[0]] == 0]
    assert len(plain_big) > len(big) // 5, (len(plain_big), len(big))
    # Each epoch's snapshot (at the end of its iteration) comes back bit for
    # bit: the first stores plain chunks, the later ones deltas of deltas.
    seqs = epoch_snapshots(sl, sl.store)
    assert [done for _, done in seqs] == [1, 2, 3, 4, 5]
    for seq, done in seqs:
        _, digest = restored_digest(sl.store, f"last@{seq}")
        assert digest == digests[done - 1], f"snapshot {seq} ({done} epochs done)"
    assert restored_digest(sl.store, "last@last") == (4, digests[4])
    assert sl.cli("fsck")["problems"] == []


def test_gc_keeps_a_base_while_a_delta_needs_it_and_export_carries_it(trained, tmp_path):
    sl, _, _, digests = trained
    store = tmp_path / "copy"
    shutil.copytree(sl.store, store)
    # Keep only the last snapshot: the earlier ones that stored its chain's
    # bases (plain and delta) go, the bases stay.
    sl.cli("gc", "--keep-last", "1", store=store)
    assert restored_digest(store, "last@last") == (4, digests[4])
    # Depths are counted through the bases left in the catalog: a dropped
    # base would cut a chain short.
    left = chain_depths(chunk_rows(store))
    assert max(left.values()) == 2, "gc dropped a base of the last snapshot's chains"
    assert sl.cli("fsck", store=store)["problems"] == []
    bundle = tmp_path / "last.snapline"
    done = run([BIN, "--store", store, "export", "last@last", "-o", bundle])
    assert done.returncode == 0, done.stderr
    other = tmp_path / "other"
    done = run([BIN, "--store", other, "import", bundle])
    assert done.returncode == 0, done.stderr
    assert restored_digest(other, "last@last") == (4, digests[4])


def test_a_missing_base_is_a_clear_error(trained, tmp_path):
    sl, _, _, _ = trained
    store = tmp_path / "copy"
    shutil.copytree(sl.store, store)
    # Every base goes (which chunks are deltas depends on how many inner
    # snapshots the time throttle let through, so no single one is picked).
    bases = {r[3] for r in chunk_rows(store) if r[3] is not None}
    for base in bases:
        (store / "chunks" / base[:2] / f"{base}.zst").unlink()
    done = sl.cli_raw("fsck", store=store)
    assert done.returncode != 0
    details = " ".join(p["detail"] for p in json.loads(done.stdout)["problems"])
    assert any(f"delta of chunk {b}, which is missing" in details for b in bases), details
    # Restore brings back what it can and names what it cannot, and why.
    done = run([BIN, "--store", store, "restore", "last@last", "-c", "print('ran')"])
    said = done.stdout + done.stderr
    assert any(f"stored as a delta of chunk {b}, which is missing" in said for b in bases), said


def test_a_corrupted_base_in_a_chain_is_a_clear_error(trained, tmp_path):
    sl, _, _, _ = trained
    store = tmp_path / "copy"
    shutil.copytree(sl.store, store)
    rows = chunk_rows(store)
    depths = chain_depths(rows)
    # The bases in the middle of chains (deltas themselves) get garbage in
    # the middle of their files.
    middle = {r[3] for r in rows if r[3] is not None and depths[r[3]] >= 1}
    assert middle, "no chain deeper than one delta"
    for base in middle:
        path = store / "chunks" / base[:2] / f"{base}.zst"
        data = bytearray(path.read_bytes())
        data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
        path.write_bytes(bytes(data))
    done = sl.cli_raw("fsck", store=store)
    assert done.returncode != 0
    problems = json.loads(done.stdout)["problems"]
    named = " ".join(p["detail"] + " " + json.dumps(p) for p in problems)
    assert all(b in named for b in middle), named
    done = run([BIN, "--store", store, "restore", "last@last", "-c", "print('ran')"])
    said = done.stdout + done.stderr
    assert "delta" in said and "damaged" in said, said


def test_bases_read_back_from_the_store_make_the_same_chains(trained, tmp_path):
    sl, root, _, digests = trained
    # No base bytes kept in memory: each base is read back from the store
    # (decoded through its own chain). Which chunk a version is encoded
    # against depends on buffer addresses, which vary between runs, so the
    # frames are not compared one by one: the chains are there, bounded,
    # and restore bit for bit.
    store = tmp_path / "no_memory"
    done = sl.capture(root / "scripts" / "train.py", store=store,
                      env={"SNAPLINE_DELTA_DEPTH": "2", "SNAPLINE_DELTA_MEMORY_MB": "0"},
                      opts=("--inner-every", "1000", "--budget", "0"))
    assert done.returncode == 0, done.stderr
    rows = chunk_rows(store)
    depths = chain_depths(rows)
    assert max(depths.values()) == 2, sorted(depths.values())
    assert sum(r[2] for r in rows) < sum(r[1] for r in rows)
    for seq, done in epoch_snapshots(sl, store):
        assert restored_digest(store, f"last@{seq}")[1] == digests[done - 1]
    assert sl.cli("fsck", store=store)["problems"] == []


def test_by_default_each_version_is_one_delta_from_a_plain_keyframe(trained, tmp_path):
    sl, root, plain_store, digests = trained
    # The default shape, a star: every epoch's weights are a delta of the
    # last plain version of their chunk (at most 2 per keyframe), so
    # restore applies at most one delta to any chunk.
    store = tmp_path / "star"
    done = sl.capture(root / "scripts" / "train.py", store=store,
                      opts=("--inner-every", "1000", "--budget", "0"))
    assert done.returncode == 0, done.stderr
    rows = chunk_rows(store)
    depths = chain_depths(rows)
    assert max(depths.values()) == 1, sorted(depths.values())
    per_keyframe: dict = {}
    for r in rows:
        if r[3] is not None:
            per_keyframe[r[3]] = per_keyframe.get(r[3], 0) + 1
    assert max(per_keyframe.values()) == 2, sorted(per_keyframe.values())
    assert sum(r[2] for r in rows) < sum(r[2] for r in chunk_rows(plain_store))
    for seq, epochs in epoch_snapshots(sl, store):
        assert restored_digest(store, f"last@{seq}")[1] == digests[epochs - 1]
    # gc keeps the keyframes the last snapshot's deltas need.
    sl.cli("gc", "--keep-last", "1", store=store)
    assert restored_digest(store, "last@last") == (4, digests[4])
    assert sl.cli("fsck", store=store)["problems"] == []


BIG = """
import hashlib
import numpy as np

# 40 MiB: more than the 32 MiB of new chunks a scan copies while it hashes
# them (the rest are copied after the scan).
big = np.random.default_rng(0).standard_normal(10_500_000).astype(np.float32)
for step in range(3):
    big[::4096] += 1.0  # every chunk changes
    print(step, hashlib.sha256(big.tobytes()).hexdigest())
"""

BIG_CHECK = """
import hashlib
print("DIGEST", hashlib.sha256(big.tobytes()).hexdigest())
"""


def test_a_large_changed_buffer_restores_bit_for_bit_and_a_rerun_stores_nothing_new(
        sl: Snapline) -> None:
    # The first run stores every chunk of every step; the second run of the
    # same script into the same store finds them all stored already (its
    # scans copy chunks the run has not seen, then drop what the store had).
    script = sl.script(BIG, "big.py")
    first = sl.capture(script)
    assert first.returncode == 0, first.stderr
    digests = dict(line.split() for line in first.stdout.splitlines())
    again = sl.capture(script)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    runs = sl.runs()
    assert len(runs) == 2
    for run_ref in (runs[0]["id"], runs[1]["id"]):
        steps = [s for s in sl.log(run_ref) if s["trigger"] == "iteration"]
        assert [s["loops"][0] for s in steps] == [1, 2, 3]
        for s in steps:
            done = run([BIN, "--store", sl.store, "restore", f"{run_ref}@{s['seq']}",
                        "-c", BIG_CHECK])
            assert done.returncode == 0, done.stderr
            # (The snapshot after k iterations: `big` as step k - 1 left it.)
            _, digest = next(x for x in done.stdout.splitlines()
                             if x.startswith("DIGEST")).split()
            assert digest == digests[str(s["loops"][0] - 1)], (run_ref, s["seq"])
    new = [sum(s["bytes_new"] for s in sl.log(r["id"])) for r in runs]
    assert new[0] > 40 * 2**20, new
    assert new[1] < 2**20, new
    assert sl.cli("fsck")["problems"] == []
