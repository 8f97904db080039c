"""Issue #16: changed float weights stored as deltas, in stars (each
version a delta of its chunk's last plain version, its keyframe, at most N
per keyframe: `SNAPLINE_DELTA_STAR`, the default shape) or chains (each a
delta of the previous version, at most N in a row: `SNAPLINE_DELTA_DEPTH`,
the earlier shape). For the torch workloads
(bench/workloads), side by side in one run:

- bytes per epoch snapshot (mean; the weights before the loop are the
  first version stored): chunk bytes on disk that each epoch snapshot adds (`chunks.stored` of the chunks it reaches that no
  earlier epoch snapshot reached), for the whole snapshot and for the model
  and optimizer tensors alone (the arrays under the model and optimizer
  variables, gradients excluded: what `torch.save` of their state dicts
  holds), with deltas at each chain depth limit (`--depths`) and star size
  (`--stars`) and without (`SNAPLINE_DELTA=0`), against `torch.save` of model and optimizer
  per epoch (the workload's `--save-dir`);
- restore of each epoch snapshot's arrays into buffers (`Reader.read_into`,
  what `snapline restore` does), each delta store against the plain store
  (read + decompress + hash check): best of `--reps` per snapshot, summed
  over the epochs (their chunks sit at every depth of the chains), and the
  worst epoch's ratio.

    .venv/bin/python bench/delta_bench.py --depths 2 --stars 2,4,6   # about 5 minutes

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


def capture(script: Path, args: list, store: Path, shape: str) -> None:
    """Captures with deltas in `shape`: "off", "chainN" or "starN"."""
    env = dict(os.environ, OMP_NUM_THREADS="1", SNAPLINE_DELTA="0" if shape == "off" else "1")
    env.pop("SNAPLINE_DELTA_DEPTH", None)
    env.pop("SNAPLINE_DELTA_STAR", None)
    if shape.startswith("chain"):
        env["SNAPLINE_DELTA_DEPTH"] = shape[len("chain"):]
    elif shape.startswith("star"):
        env["SNAPLINE_DELTA_STAR"] = shape[len("star"):]
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


def snapshot_arrays(reader, seq: int) -> list:
    """(chunks, nbytes) of every array snapshot `seq` holds."""
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
    return arrays


def restore_each_epoch(stores: dict, reps: int) -> dict:
    """Best time to read each epoch snapshot's arrays into fresh buffers
    (their chunks sit at every place of the chains), per store. The stores
    take turns within each repetition, so that the load of the shared
    machine falls on all of them alike."""
    import numpy as np
    from snapline import _native
    work = {}
    for shape, store in stores.items():
        reader = _native.Reader(str(store))
        conn = sqlite3.connect(store / "catalog.sqlite")
        work[shape] = (reader, [snapshot_arrays(reader, seq) for seq in epoch_seqs(conn)])
    best = {shape: [float("inf")] * len(epochs) for shape, (_, epochs) in work.items()}
    for _ in range(reps):
        for shape, (reader, epochs) in work.items():
            for i, arrays in enumerate(epochs):
                buffers = [np.empty(n, dtype=np.uint8) for _, n in arrays]
                start = time.perf_counter()
                for (chunks, n), buf in zip(arrays, buffers):
                    reader.read_into(chunks, buf.ctypes.data, n)
                best[shape][i] = min(best[shape][i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--depths", default="2",
                        help="chain depth limits to capture with (SNAPLINE_DELTA_DEPTH)")
    parser.add_argument("--stars", default="2,4,6",
                        help="deltas per keyframe to capture with (SNAPLINE_DELTA_STAR)")
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "delta_bench.json"))
    args = parser.parse_args()
    shapes = ["off", *(f"chain{d}" for d in args.depths.split(",") if d),
              *(f"star{n}" for n in args.stars.split(",") if n)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (wargs, roots) in WORKLOADS.items():
            script = REPO / "bench" / "workloads" / f"{name}.py"
            root = Path(tmp) / name
            saves = root / "saves"
            saves.mkdir(parents=True)
            stores = {shape: root / shape for shape in shapes}
            for shape, store in stores.items():
                capture(script, wargs, store, shape)
            subprocess.run([PYTHON, str(script), *wargs, "--save-dir", str(saves)],
                           cwd=script.parent, check=True, capture_output=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
            save = statistics.median(p.stat().st_size for p in saves.glob("*.pt"))
            rows = {}
            restores = restore_each_epoch(stores, args.reps)
            for shape, store in stores.items():
                times = restores[shape]
                rows[shape] = {
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
                ratios = [t / p for t, p in zip(row["restore_s"], rows["off"]["restore_s"])]
                row["restore_vs_plain_mean"] = (sum(row["restore_s"])
                                                / sum(rows["off"]["restore_s"]))
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
        for shape, r in rows.items():
            mb = 1e6
            label = {"off": "off (plain zstd)"}.get(shape, shape.replace("chain", "chains <= ")
                                                     .replace("star", "star of "))
            print(f"| {name} | {label} | "
                  f"{r['torch_save_per_epoch'] / mb:.1f} MB | "
                  f"{r['snapshot_per_epoch'] / mb:.1f} MB | {r['save_vs_snapshot']:.2f}x | "
                  f"{r['tensors_per_epoch'] / mb:.1f} MB | {r['save_vs_tensors']:.2f}x | "
                  f"{sum(r['restore_s']) * 1e3:.0f} ms = {r['restore_vs_plain_mean']:.2f}x "
                  f"({r['restore_vs_plain_max']:.2f}x) |")


if __name__ == "__main__":
    sys.exit(main())
