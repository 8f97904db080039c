"""Issue #16: changed float weights stored as deltas of their previous
version. For the torch workloads (bench/workloads), side by side in one run:

- bytes per epoch snapshot after the first: chunk bytes on disk that each
  epoch snapshot adds (`chunks.stored` of the chunks it reaches that no
  earlier epoch snapshot reached), with deltas (default) and without
  (`SNAPLINE_DELTA=0`), against `torch.save` of model and optimizer per
  epoch (the workload's `--save-dir`);
- restore of the last snapshot's arrays into buffers (`Reader.read_into`,
  what `snapline restore` does), delta store against the plain store
  (read + decompress + hash check): best of `--reps`.

    .venv/bin/python bench/delta_bench.py            # about 4 minutes

Captures run with `--budget 0` so that every epoch is snapshotted.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
WORKLOADS = {
    "pytorch_mnist": ["--samples", "1280", "--epochs", "4"],
    "pytorch_dcgan": ["--samples", "160", "--epochs", "4"],
}


def capture(script: Path, args: list, store: Path, delta: bool) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", SNAPLINE_DELTA="1" if delta else "0")
    # --budget 0: every epoch snapshotted (the DCGAN's 76 MB snapshots
    # would otherwise be thinned by the 2% budget on this slow machine).
    subprocess.run([PYTHON, "-m", "snapline", "run", "--store", str(store), "--budget", "0",
                    str(script), *args],
                   cwd=script.parent, env=env, check=True, capture_output=True)


def epoch_seqs(conn: sqlite3.Connection) -> list:
    rows = conn.execute("SELECT seq, trigger, loops FROM snapshots ORDER BY seq").fetchall()
    return [seq for seq, trigger, loops in rows
            if trigger == "iteration" and len(json.loads(loops)) == 1]


def reach(conn: sqlite3.Connection, seq: int) -> set:
    """Chunk hashes the snapshot's objects reference."""
    todo = [h for (h,) in conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,))]
    seen, chunks = set(), set()
    while todo:
        h = todo.pop()
        if h in seen:
            continue
        seen.add(h)
        row = conn.execute("SELECT record FROM objects WHERE hash = ?", (h,)).fetchone()
        if row is None:
            continue
        record = json.loads(row[0])
        chunks.update(record.get("chunks") or [])
        for buffers in (record.get("extra") or {}).get("buffers") or []:
            chunks.update(buffers)
        todo.extend(c["hash"] for c in record.get("children") or [] if c.get("hash"))
    return chunks


def per_epoch_stored(store: Path) -> list:
    conn = sqlite3.connect(store / "catalog.sqlite")
    stored = dict(conn.execute("SELECT hash, stored FROM chunks"))
    seen: set = set()
    out = []
    for seq in epoch_seqs(conn):
        chunks = reach(conn, seq)
        out.append(sum(stored.get(h, 0) for h in chunks - seen))
        seen |= chunks
    return out


def delta_share(store: Path) -> tuple:
    conn = sqlite3.connect(store / "catalog.sqlite")
    return conn.execute("SELECT COUNT(*), COALESCE(SUM(base IS NOT NULL), 0) FROM chunks "
                        "WHERE size > 65536").fetchone()


def restore_seconds(store: Path, reps: int) -> tuple:
    import numpy as np
    from snapline import _native
    reader = _native.Reader(str(store))
    run, seq = reader.resolve("last@last")
    arrays = []
    todo = [h for _, _, h in reader.entries(run, seq)]
    seen = set()
    while todo:
        h = todo.pop()
        if h in seen:
            continue
        seen.add(h)
        record = json.loads(reader.object(h))
        if record.get("kind") == "array" and record.get("chunks"):
            arrays.append((record["chunks"], int(record["nbytes"])))
        todo.extend(c["hash"] for c in record.get("children") or [] if c.get("hash"))
    times = []
    for _ in range(reps):
        buffers = [np.empty(n, dtype=np.uint8) for _, n in arrays]
        start = time.perf_counter()
        for (chunks, n), buf in zip(arrays, buffers):
            reader.read_into(chunks, buf.ctypes.data, n)
        times.append(time.perf_counter() - start)
    return min(times), sum(n for _, n in arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "delta_bench.json"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, wargs in WORKLOADS.items():
            script = REPO / "bench" / "workloads" / f"{name}.py"
            root = Path(tmp) / name
            delta_store, plain_store, saves = root / "delta", root / "plain", root / "saves"
            saves.mkdir(parents=True)
            capture(script, wargs, delta_store, delta=True)
            capture(script, wargs, plain_store, delta=False)
            subprocess.run([PYTHON, str(script), *wargs, "--save-dir", str(saves)],
                           cwd=script.parent, check=True, capture_output=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
            save_sizes = sorted(p.stat().st_size for p in saves.glob("*.pt"))
            delta_epochs = per_epoch_stored(delta_store)[1:]
            plain_epochs = per_epoch_stored(plain_store)[1:]
            t_delta, nbytes = restore_seconds(delta_store, args.reps)
            t_plain, _ = restore_seconds(plain_store, args.reps)
            row = {
                "torch_save_per_epoch": statistics.median(save_sizes),
                "delta_per_epoch": statistics.median(delta_epochs),
                "plain_per_epoch": statistics.median(plain_epochs),
                "big_chunks_and_deltas": delta_share(delta_store),
                "restore_delta_s": t_delta,
                "restore_plain_s": t_plain,
                "restored_bytes": nbytes,
            }
            row["vs_torch_save"] = row["torch_save_per_epoch"] / max(row["delta_per_epoch"], 1)
            row["vs_plain"] = row["plain_per_epoch"] / max(row["delta_per_epoch"], 1)
            row["restore_ratio"] = t_delta / t_plain
            results[name] = row
            print(name, json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("| workload | torch.save / epoch | plain zstd / epoch | delta / epoch | "
          "torch.save / delta | restore delta / plain |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        mb = 1e6
        print(f"| {name} | {r['torch_save_per_epoch'] / mb:.1f} MB | "
              f"{r['plain_per_epoch'] / mb:.1f} MB | {r['delta_per_epoch'] / mb:.1f} MB | "
              f"{r['vs_torch_save']:.2f}x | {r['restore_delta_s'] * 1e3:.1f} / "
              f"{r['restore_plain_s'] * 1e3:.1f} ms = {r['restore_ratio']:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
