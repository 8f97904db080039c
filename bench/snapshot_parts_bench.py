"""Issue #16, eleventh pass: two parts of a later DCGAN epoch snapshot,
measured where they happen (mid-snapshot), side by side in one run:

- the scans (`arrays._scan`: hashing, statistics and copying the new
  chunks of 103 MB of changed weights, gradients and optimizer state),
  summed per snapshot, with this tree's native extension and with
  `--before-native` (an older build of it), runs alternating;
- the commit's JSON (about 180 KB): `json.dumps` (`agent._dumps`, what
  the agent did before) and `_native.commit_json` (what `_commit_json`
  uses now, the same text), both on the same payload, alternating which
  goes first (in the runs with this tree's extension).

Snapshots after the first two (whose chunks are all new to the store)
count, medians over all runs; the first snapshot's scans (every copy goes
into fresh pages) are listed per run.

    .venv/bin/python bench/snapshot_parts_bench.py --before-native OLD_NATIVE.so [--reps 3]

Writes bench/out/snapshot_parts_bench.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_cost_bench import PYTHON, REPO, env

WORKLOAD = REPO / "bench" / "workloads" / "pytorch_dcgan.py"
OPTIONS = ["--budget", "0", "--outer-every", "0", "--inner-every", "100000", "--no-statements"]
PACKAGE = REPO / "capture-agent" / "python" / "snapline"

# `python -c WRAPPER OUT.json snapline-args...`
WRAPPER = """
import atexit, json, sys, time
from snapline import _native, agent, arrays
out = sys.argv[1]
scans = [0.0]
per = []
scan = arrays._scan
def timed_scan(*a, **k):
    started = time.perf_counter()
    try:
        return scan(*a, **k)
    finally:
        scans[0] += time.perf_counter() - started
arrays._scan = timed_scan
take = agent.Agent._take
def timed_take(self, *a, **k):
    before = scans[0]
    take(self, *a, **k)
    per.append({"scan_ms": (scans[0] - before) * 1e3})
agent.Agent._take = timed_take
commit_json = agent._commit_json
rust = getattr(_native, "commit_json", None)  # (not in an older extension)
def timed_commit_json(payload):
    timings = {}
    sides = ("python", "rust") if len(per) // 2 % 2 else ("rust", "python")
    for side in sides if rust is not None else ("python",):
        started = time.perf_counter()
        text = agent._dumps(payload) if side == "python" else rust(payload)
        timings[side + "_json_ms"] = (time.perf_counter() - started) * 1e3
        timings["json_bytes"] = len(text)
    per.append(timings)
    return commit_json(payload)
agent._commit_json = timed_commit_json
atexit.register(lambda: open(out, "w").write(json.dumps(per)))
from snapline.__main__ import main
sys.argv = ["snapline"] + sys.argv[2:]
main()
"""


def one_run(tmp: Path, package_dir: Path | None, epochs: int) -> list[dict]:
    """Per snapshot: scan_ms, and the commit's JSON timings."""
    out = tmp / "out.json"
    subprocess.run([PYTHON, "-c", WRAPPER, out, "run", "--store", tmp / "store", *OPTIONS,
                    WORKLOAD, "--samples", "64", "--epochs", str(epochs)],
                   check=True, capture_output=True, env=env(package_dir), cwd=tmp)
    rows = json.loads(out.read_text())
    # timed_commit_json appends before timed_take: pair them up.
    return [{**rows[i], **rows[i + 1]} for i in range(0, len(rows) - 1, 2)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-native", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    ns = parser.parse_args()
    found: dict[str, list[dict]] = {"before_native": [], "tree": []}
    first: dict[str, list[float]] = {"before_native": [], "tree": []}
    with tempfile.TemporaryDirectory() as name:
        before = Path(name) / "before"
        shutil.copytree(PACKAGE, before / "snapline",
                        ignore=shutil.ignore_patterns("__pycache__", "_native*.so"))
        shutil.copy(ns.before_native, before / "snapline" / ns.before_native.name)
        for _ in range(ns.reps):
            for side, package in (("before_native", before), ("tree", None)):
                with tempfile.TemporaryDirectory() as run_dir:
                    snapshots = one_run(Path(run_dir), package, ns.epochs)
                    first[side].append(snapshots[0]["scan_ms"])
                    found[side] += snapshots[2:]

    def median(side: str, key: str) -> float:
        return round(statistics.median(s[key] for s in found[side]), 2)

    everything = found["tree"]
    summary = {
        "workload": f"pytorch_dcgan --samples 64 --epochs {ns.epochs}, every epoch snapshotted",
        "reps": ns.reps,
        "later_snapshots_per_side": len(found["tree"]),
        "scan_ms_per_later_snapshot": {"before_native": median("before_native", "scan_ms"),
                                       "tree": median("tree", "scan_ms")},
        "scan_ms_first_snapshot": {side: [round(x, 1) for x in xs] for side, xs in first.items()},
        "commit_json_ms_per_snapshot": {
            "json.dumps": round(statistics.median(s["python_json_ms"] for s in everything), 2),
            "commit_json": round(statistics.median(s["rust_json_ms"] for s in everything), 2),
            "bytes": int(statistics.median(s["json_bytes"] for s in everything)),
        },
    }
    out = REPO / "bench" / "out" / "snapshot_parts_bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
