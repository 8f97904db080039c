"""Issue #16: changed float weights stored as deltas of their previous
version, in chains of bounded depth. For the torch workloads
(bench/workloads), side by side in one run:

- bytes per epoch snapshot (mean; the weights before the loop are the
  first version stored): chunk bytes on disk that each epoch snapshot adds (`chunks.stored` of the chunks it reaches that no
  earlier epoch snapshot reached), for the whole snapshot and for the model
  and optimizer tensors alone (the arrays under the model and optimizer
  variables, gradients excluded: what `torch.save` of their state dicts
  holds), with deltas at each chain depth limit (`SNAPLINE_DELTA_DEPTH`) and
  without (`SNAPLINE_DELTA=0`), against `torch.save` of model and optimizer
  per epoch (the workload's `--save-dir`);
- restore of each epoch snapshot's arrays into buffers (`Reader.read_into`,
  what `snapline restore` does), each delta store against the plain store
  (read + decompress + hash check): best of `--reps` per snapshot, summed
  over the epochs (their chunks sit at every depth of the chains), and the
  worst epoch's ratio.

    .venv/bin/python bench/delta_bench.py            # about 7 minutes

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
    # name: (arguments, the variables holding models and optimizers)
    "pytorch_mnist": (["--samples", "1280", "--epochs", "6"], ("model", "optimizer")),
    "pytorch_dcgan": (["--samples", "160", "--epochs", "6"],
                      ("netG", "netD", "optimizerG", "optimizerD")),
}


def capture(script: Path, args: list, store: Path, depth: int) -> None:
    """Captures with chains of at most `depth` deltas (0: deltas off)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", SNAPLINE_DELTA="1" if depth else "0",
               SNAPLINE_DELTA_DEPTH=str(depth))
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


def tensors_reach(conn: sqlite3.Connection, seq: int, roots: tuple) -> set:
    """Chunk hashes of the arrays under variables `roots` (entries list every
    path, nested ones too), gradients excluded."""
    chunks = set()
    for path, h in conn.execute("SELECT path, hash FROM entries WHERE seq = ?", (seq,)):
        root = path.split(".")[0].split("[")[0]
        if root not in roots or ".grad" in path:
            continue
        row = conn.execute("SELECT record FROM objects WHERE hash = ?", (h,)).fetchone()
        record = json.loads(row[0]) if row else {}
        if record.get("kind") == "array":
            chunks.update(record.get("chunks") or [])
    return chunks


def per_epoch_stored(store: Path, roots: tuple = ()) -> list:
    """Bytes each epoch snapshot adds (of the model and optimizer tensors
    alone when `roots` names them)."""
    conn = sqlite3.connect(store / "catalog.sqlite")
    stored = dict(conn.execute("SELECT hash, stored FROM chunks"))
    seen: set = set()
    out = []
    for seq in epoch_seqs(conn):
        chunks = tensors_reach(conn, seq, roots) if roots else reach(conn, seq)
        out.append(sum(stored.get(h, 0) for h in chunks - seen))
        seen |= chunks
    return out


def delta_share(store: Path) -> tuple:
    conn = sqlite3.connect(store / "catalog.sqlite")
    return conn.execute("SELECT COUNT(*), COALESCE(SUM(base IS NOT NULL), 0) FROM chunks "
                        "WHERE size > 65536").fetchone()


def restore_seconds(store: Path, seq: int, reps: int) -> float:
    """Best time to read snapshot `seq`'s arrays into fresh buffers."""
    import numpy as np
    from snapline import _native
    reader = _native.Reader(str(store))
    run, seq = reader.resolve(f"last@{seq}")
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
    return min(times)


def restore_each_epoch(store: Path, reps: int) -> list:
    """Best restore time of every epoch snapshot (their chunks sit at every
    depth of their chains)."""
    conn = sqlite3.connect(store / "catalog.sqlite")
    return [restore_seconds(store, seq, reps) for seq in epoch_seqs(conn)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--depths", default="1,2,3",
                        help="chain depth limits to capture with (SNAPLINE_DELTA_DEPTH)")
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "delta_bench.json"))
    args = parser.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (wargs, roots) in WORKLOADS.items():
            script = REPO / "bench" / "workloads" / f"{name}.py"
            root = Path(tmp) / name
            saves = root / "saves"
            saves.mkdir(parents=True)
            stores = {depth: root / f"depth{depth}" for depth in [0, *depths]}
            for depth, store in stores.items():
                capture(script, wargs, store, depth)
            subprocess.run([PYTHON, str(script), *wargs, "--save-dir", str(saves)],
                           cwd=script.parent, check=True, capture_output=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
            save = statistics.median(p.stat().st_size for p in saves.glob("*.pt"))
            rows = {}
            for depth, store in stores.items():
                times = restore_each_epoch(store, args.reps)
                rows[depth] = {
                    # Every epoch snapshot: the weights before the loop (its
                    # statement snapshots) are the first version stored.
                    "snapshot_per_epoch": statistics.mean(per_epoch_stored(store)),
                    "tensors_per_epoch": statistics.mean(per_epoch_stored(store, roots)),
                    "big_chunks_and_deltas": delta_share(store),
                    "restore_s": times,
                }
            for row in rows.values():
                row["torch_save_per_epoch"] = save
                row["save_vs_snapshot"] = save / max(row["snapshot_per_epoch"], 1)
                row["save_vs_tensors"] = save / max(row["tensors_per_epoch"], 1)
                ratios = [t / p for t, p in zip(row["restore_s"], rows[0]["restore_s"])]
                row["restore_vs_plain_mean"] = sum(row["restore_s"]) / sum(rows[0]["restore_s"])
                row["restore_vs_plain_max"] = max(ratios)
            results[name] = rows
            print(name, json.dumps(rows), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("| workload | deltas | torch.save / epoch | snapshot / epoch | torch.save / snapshot "
          "| model+optimizer / epoch | torch.save / model+optimizer "
          "| restore / plain: all epochs (worst epoch) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, rows in results.items():
        for depth, r in rows.items():
            mb = 1e6
            print(f"| {name} | {f'chains <= {depth}' if depth else 'off (plain zstd)'} | "
                  f"{r['torch_save_per_epoch'] / mb:.1f} MB | "
                  f"{r['snapshot_per_epoch'] / mb:.1f} MB | {r['save_vs_snapshot']:.2f}x | "
                  f"{r['tensors_per_epoch'] / mb:.1f} MB | {r['save_vs_tensors']:.2f}x | "
                  f"{sum(r['restore_s']) * 1e3:.0f} ms = {r['restore_vs_plain_mean']:.2f}x "
                  f"({r['restore_vs_plain_max']:.2f}x) |")


if __name__ == "__main__":
    sys.exit(main())
