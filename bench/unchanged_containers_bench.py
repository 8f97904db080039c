"""Issue #16: what finding big unchanged containers by identity saves
(capture-agent/python/snapline/unchanged_containers.py).

1. Per container: the snapshot cost of one unchanged list (and dict) of N
   strings, walked (encode, JSON, hash) or found by identity, N from 64 (the
   threshold, REMEMBER_FROM) to 26,000 (the notebook's `docs` + `words` +
   `vocab`).
2. The six-cell notebook of bench/notebook_cost_bench.py, in-process, with
   cell snapshots only (as its `--attribute` variant), with and without the
   identity check (switched off by setting REMEMBER_FROM out of reach):
   main-thread CPU ms per cell and of its end snapshot (`Agent._take`),
   medians, both variants in each repetition.

    .venv/bin/python bench/unchanged_containers_bench.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "unchanged_containers_bench.json"


def per_container() -> list[dict]:
    from snapline import _native, graph, unchanged_containers

    recorder = _native.Recorder(tempfile.mkdtemp(prefix="uc-bench-") + "/store", json.dumps(
        {"script": "bench.py", "started_at": 0.0, "lineage": {}}))
    rows = []
    for n in (64, 1024, 26000):
        for kind in ("list", "dict"):
            words = [f"word{i}" for i in range(n)]
            obj = words if kind == "list" else {w: i for i, w in enumerate(words)}
            row: dict = {"items": n, "type": kind}
            for name, containers in (("walked_us", None),
                                     ("identity_us", unchanged_containers.UnchangedContainers())):
                committed: set[str] = set()
                reps = 2000 if n < 2000 else 50
                for rep in range(reps + 1):
                    if rep == 1:  # (the first one stores it)
                        started = time.perf_counter()
                    builder = graph.GraphBuilder(recorder, committed, _native.hash_bytes,
                                                 containers=containers)
                    builder.add_root("x", obj)
                    committed |= builder.new_hashes
                row[name] = round((time.perf_counter() - started) / reps * 1e6, 1)
            rows.append(row)
            print(f"  {kind} of {n} strings: walked {row['walked_us']} us, "
                  f"by identity {row['identity_us']} us", file=sys.stderr, flush=True)
    return rows


# The cells of notebook_cost_bench.py in an in-process IPython shell, cell
# snapshots only (no loop hooks); prints [[cell CPU s, its snapshot's CPU ms]]
# in main-thread time.
DRIVER = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell

spec = json.loads(sys.argv[1])
shell = InteractiveShell.instance()
shell.run_cell(spec["sizes"], store_history=True)
shell.run_cell("%load_ext snapline", store_history=True)
import snapline.notebook
import snapline.unchanged_containers

if spec["walked"]:
    snapline.unchanged_containers.REMEMBER_FROM = 1 << 62
current = snapline.notebook.current
shell.ast_transformers.remove(current.transformer)
agent = current.agent
take, taken = agent._take, []

def timed_take(*args, **kwargs):
    started = time.thread_time()
    try:
        return take(*args, **kwargs)
    finally:
        taken.append((time.thread_time() - started) * 1000)

agent._take = timed_take
out = []
for cell in spec["cells"]:
    started, before = time.thread_time(), len(taken)
    assert shell.run_cell(cell, store_history=True).success, cell
    out.append([time.thread_time() - started, sum(taken[before:])])
print(json.dumps(out))
"""


def notebook(reps: int) -> dict:
    import os
    import statistics
    import subprocess

    sys.path.insert(0, str(REPO / "bench"))
    import notebook_cost_bench as nb

    runs: dict = {"identity": [], "walked": []}
    for rep in range(reps):
        for name in (runs if rep % 2 == 0 else list(runs)[::-1]):
            with tempfile.TemporaryDirectory(prefix="uc-nb-") as tmp:
                spec = {"sizes": "MB = 32\nDOCS = 20000", "cells": nb.CELLS,
                        "walked": name == "walked"}
                done = subprocess.run([nb.PYTHON, "-c", DRIVER, json.dumps(spec)], cwd=tmp,
                                      capture_output=True, text=True, check=False,
                                      env={**nb.env(), "SNAPLINE_STORE": os.path.join(tmp, "s")})
                if done.returncode != 0:
                    raise SystemExit(f"the notebook ({name}) failed:\n{done.stderr[-2000:]}")
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {}
    for name, got in runs.items():
        cells = [[round(statistics.median(r[i][0] for r in got) * 1000, 1),
                  round(statistics.median(r[i][1] for r in got), 1)] for i in range(len(nb.CELLS))]
        out[name] = {"cells_ms": [c[0] for c in cells], "snapshot_ms": [c[1] for c in cells]}
        print(f"  {name}: per cell, main thread CPU ms {out[name]['cells_ms']}, of which its "
              f"end snapshot {out[name]['snapshot_ms']}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    ns = parser.parse_args()
    result = {"per_container": per_container(), "notebook": notebook(ns.reps)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
