"""capture_ms of the epoch snapshots of two #7 torch workloads, git HEAD's
agent beside this tree's, in one run (issue #16: what an epoch snapshot of
finetune_frozen's frozen backbone and pytorch_dcgan's changed weights
costs). Smaller than bench/workloads_bench.py: every epoch is snapshotted
(`--outer-every 0 --inner-every 100000 --no-statements`), the two agents
alternate, and each snapshot's capture_ms is read from `snapline log`;
the main thread's CPU time in each snapshot (`time.thread_time` around the
agent's `Agent._take`, the same method in both agents) is written by a
wrapper, since wall times move with the load of a shared machine.

    .venv/bin/python bench/epoch_snapshot_bench.py [--reps 2] [--only NAME]
        [--before-native OLD_NATIVE.so]

Writes bench/out/epoch_snapshot_bench.json.
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
from capture_cost_bench import BIN, PYTHON, REPO, env, head_agent

WORKLOADS = {
    "finetune_frozen": ["--epochs", "6", "--samples", "8192"],
    "pytorch_dcgan": ["--samples", "64", "--epochs", "4"],
}
OPTIONS = ["--outer-every", "0", "--inner-every", "100000", "--no-statements"]
# `--only torch_classifier`: the PyTorch example at default settings
# (statement snapshots on); all its snapshots' main-thread CPU summed per run.
EXAMPLE = REPO / "examples" / "torch_classifier.py"
EXAMPLE_ARGS = ["--epochs", "5", "--samples", "65536"]

# `python -c WRAPPER OUT.json snapline-args...`: `snapline run` with each
# snapshot's (trigger, main-thread CPU ms) written to OUT.json at exit.
WRAPPER = """
import atexit, json, sys, time
from snapline import agent
out, rows, take = sys.argv[1], [], agent.Agent._take
def timed(self, trigger, *args, **kwargs):
    started = time.thread_time()
    try:
        return take(self, trigger, *args, **kwargs)
    finally:
        rows.append((trigger, (time.thread_time() - started) * 1000))
agent.Agent._take = timed
atexit.register(lambda: open(out, "w").write(json.dumps(rows)))
from snapline.__main__ import main
sys.argv = ["snapline"] + sys.argv[2:]
main()
"""


def epoch_snapshots(store: Path) -> list[float]:
    log = json.loads(subprocess.run([BIN, "--store", store, "log", "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    return [s["capture_ms"] for s in log if s["trigger"] == "iteration"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--only", action="append", choices=[*WORKLOADS, "torch_classifier"])
    parser.add_argument("--before-native", type=Path,
                        help="the native extension git HEAD's agent runs with (default: "
                             "this tree's), for a change in the extension")
    ns = parser.parse_args()
    chosen = ns.only or list(WORKLOADS)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        head = head_agent(tmp, ns.before_native)
        for name in chosen:
            if name == "torch_classifier":
                script, args, options = EXAMPLE, EXAMPLE_ARGS, []
            else:
                script = REPO / "bench" / "workloads" / f"{name}.py"
                args, options = WORKLOADS[name], OPTIONS
            rows: dict = {"head": [], "tree": []}
            cpu: dict = {"head": [], "tree": []}
            total_cpu: dict = {"head": [], "tree": []}
            for rep in range(ns.reps):
                for label, agent in (("head", head), ("tree", None)):
                    store = tmp / f"{name}-{label}-{rep}"
                    cpu_file = tmp / f"{name}-{label}-{rep}.json"
                    done = subprocess.run(
                        [PYTHON, "-c", WRAPPER, str(cpu_file), "run", "--store", str(store),
                         *options, str(script), *args], env=env(agent), capture_output=True,
                        text=True, cwd=script.parent, check=False)
                    if done.returncode != 0:
                        raise SystemExit(f"{name} ({label}) failed: {done.stderr[-2000:]}")
                    rows[label].append(epoch_snapshots(store))
                    taken = json.loads(cpu_file.read_text())
                    cpu[label].append([ms for trigger, ms in taken if trigger == "iteration"])
                    total_cpu[label].append(sum(ms for _, ms in taken))
                    shutil.rmtree(store)
            out[name] = {}
            for label, reps in rows.items():
                later = [ms for rep in reps for ms in rep[1:]]  # after the first
                later_cpu = [ms for rep in cpu[label] for ms in rep[1:]]
                out[name][label] = {"first_ms": statistics.median(rep[0] for rep in reps),
                                    "later_median_ms": statistics.median(later),
                                    "later_cpu_median_ms": statistics.median(later_cpu),
                                    "all_snapshots_cpu_ms": statistics.median(total_cpu[label]),
                                    "each": reps, "each_cpu": cpu[label]}
            print(name, json.dumps({k: {key: round(v[key], 1) for key in
                                        ("first_ms", "later_median_ms", "later_cpu_median_ms",
                                         "all_snapshots_cpu_ms")}
                                    for k, v in out[name].items()}), flush=True)
    target = REPO / "bench" / "out" / "epoch_snapshot_bench.json"
    target.parent.mkdir(exist_ok=True)
    merged = json.loads(target.read_text()) if target.exists() else {}
    merged.update(out)  # (`--only`: the other workloads' figures kept)
    target.write_text(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main()
