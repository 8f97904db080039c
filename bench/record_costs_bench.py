"""Issue #16, tenth pass: what describing the new records of a snapshot
costs, side by side in one run of a #7 workload (pytorch_dcgan, every
epoch snapshotted), measured where it happens (mid-snapshot, after the
scan has walked 100 MB through the caches), not in a loop of its own:

- hashing: every new record's hash, made both ways on the same record,
  alternating which goes first: `_native.record_digest` (record_json.rs)
  and `hash_bytes(canonical_json(record).encode())` (Python's json module,
  what the agent did before);
- previews: the time `values.preview` takes on the objects whose previews
  are now rendered when shown (lists, tuples, dicts, sets and plain values:
  called here only to time it, as the agent did before), and on those the
  agent still renders at capture (instances, modules: their own
  `__repr__`), by type.

Both are summed over the run's snapshots and divided by their number.

    .venv/bin/python bench/record_costs_bench.py [--epochs 6] [--reps 2]

Writes bench/out/record_costs_bench.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_cost_bench import BIN, PYTHON, REPO, env

WORKLOAD = REPO / "bench" / "workloads" / "pytorch_dcgan.py"
OPTIONS = ["--budget", "0", "--outer-every", "0", "--inner-every", "100000", "--no-statements"]

# `python -c WRAPPER OUT.json snapline-args...`: `snapline run` with both
# measurements written to OUT.json at exit.
WRAPPER = """
import atexit, collections, json, sys, time
from snapline import _native, graph, values
out = sys.argv[1]
hashing = {"records": 0, "rust_s": 0.0, "python_s": 0.0}
previews = collections.defaultdict(lambda: [0, 0.0])

def record_digest(self, record):
    first = hashing["records"] % 2
    hashing["records"] += 1
    digest = {}
    for side in ((0, 1) if first else (1, 0)):
        started = time.perf_counter()
        if side:
            digest[side] = _native.record_digest(record)
        else:
            digest[side] = self.hash_bytes(graph.canonical_json(record).encode())
        hashing["rust_s" if side else "python_s"] += time.perf_counter() - started
    assert digest[0] == digest[1]
    return digest[0]

preview_of = graph._preview_of
def timed_preview(obj, record):
    started = time.perf_counter()
    text = preview_of(obj, record)
    if record["kind"] == "array":
        where = "array"  # (rendered when shown since the first pass)
    elif text == "":
        values.preview(obj)  # what the agent made here before: timed, not kept
        where = "shown"
    else:
        where = "capture"
    entry = previews[f"{where}:{type(obj).__name__}"]
    entry[0] += 1
    entry[1] += time.perf_counter() - started
    return text

graph.GraphBuilder.record_digest = record_digest
graph._preview_of = timed_preview
atexit.register(lambda: open(out, "w").write(json.dumps({"hashing": hashing,
                                                         "previews": dict(previews)})))
from snapline.__main__ import main
sys.argv = ["snapline"] + sys.argv[2:]
main()
"""


def one_run(tmp: Path, epochs: int) -> dict:
    store = tmp / "store"
    out = tmp / "out.json"
    subprocess.run([PYTHON, "-c", WRAPPER, out, "run", "--store", store, *OPTIONS, WORKLOAD,
                    "--samples", "64", "--epochs", str(epochs)],
                   check=True, capture_output=True, env=env(None), cwd=tmp)
    log = json.loads(subprocess.run([BIN, "--store", store, "log", "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    found = json.loads(out.read_text())
    found["snapshots"] = len(log)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--reps", type=int, default=2)
    ns = parser.parse_args()
    runs = []
    for _ in range(ns.reps):
        with tempfile.TemporaryDirectory() as name:
            runs.append(one_run(Path(name), ns.epochs))

    def per_snapshot(pick, scale: float = 1000) -> float:
        """The median over the runs of `pick(run)` per snapshot (in ms)."""
        return round(statistics.median(pick(r) / r["snapshots"] * scale for r in runs), 2)

    hashing = {
        "records_per_snapshot": per_snapshot(lambda r: r["hashing"]["records"], 1),
        "rust_ms_per_snapshot": per_snapshot(lambda r: r["hashing"]["rust_s"]),
        "python_ms_per_snapshot": per_snapshot(lambda r: r["hashing"]["python_s"]),
    }
    kinds = sorted({k for r in runs for k in r["previews"]})
    previews = {k: per_snapshot(lambda r, k=k: r["previews"].get(k, [0, 0.0])[1]) for k in kinds}
    summary = {
        "workload": f"pytorch_dcgan --samples 64 --epochs {ns.epochs}, every epoch snapshotted",
        "reps": ns.reps,
        "snapshots": runs[0]["snapshots"],
        "hashing": hashing,
        "previews_ms_per_snapshot": {
            "now_rendered_when_shown": round(sum(v for k, v in previews.items()
                                                 if k.startswith("shown:")), 2),
            "still_at_capture": round(sum(v for k, v in previews.items()
                                          if k.startswith("capture:")), 2),
            "by_type": dict(sorted(((k, v) for k, v in previews.items()
                                    if not k.startswith("array:")), key=lambda kv: -kv[1])[:12]),
        },
    }
    out = REPO / "bench" / "out" / "record_costs_bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
