"""Main-thread CPU of one snapshot of torch state (issue #16, the torch walk),
in-process, no `snapline run` around it, so the machine's load moves it
less than whole runs:

* `walk`: `GraphBuilder` over a model and its optimizer, git HEAD's agent
  beside this tree's (both with this tree's native extension), each in its
  own process, interleaved: the PyTorch example's model and Adam (unchanged,
  and after one training step), the fine-tuning workload's frozen backbone
  (8 blocks, width 128) under a trained head with AdamW, and a small DCGAN
  pair (conv + batch-norm blocks, two Adams; every tensor changed).
* `copies`: `Recorder.scan_array` over 24 float32 buffers of 4 MiB, every
  chunk changed between scans (as the DCGAN's weights and Adam moments):
  the chunk copies handed to the writer in kept buffers (default) or in
  fresh memory (`SNAPLINE_CHUNK_MEMORY_MB=0`), with the main thread's minor
  page faults.

    .venv/bin/python bench/torch_walk_bench.py [--reps 2] [--only walk|copies]

Writes bench/out/torch_walk_bench.json.
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
from capture_cost_bench import PYTHON, REPO, env, head_agent

# One process: build the state, snapshot it N times, print medians as JSON.
WALK = r"""
import json, statistics, sys, tempfile, time
import torch
from torch import nn
from snapline import _native, graph
torch.set_num_threads(1)
torch.manual_seed(0)
recorder = _native.Recorder(tempfile.mkdtemp() + "/store", json.dumps(
    {"script": "t.py", "started_at": 0.0, "lineage": {}}))

def classifier():
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))
    def step():
        opt.zero_grad(); nn.functional.cross_entropy(model(x), y).backward(); opt.step()
    return [("model", model), ("optimizer", opt)], step

def finetune():
    backbone = nn.Sequential(*[nn.Sequential(nn.Linear(128, 128), nn.GELU()) for _ in range(8)])
    head = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10))
    model = nn.Sequential(backbone, head)
    backbone.requires_grad_(False)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3)
    x, y = torch.randn(64, 128), torch.randint(0, 10, (64,))
    def step():
        opt.zero_grad(); nn.functional.cross_entropy(model(x), y).backward(); opt.step()
    return [("backbone", backbone), ("head", head), ("model", model), ("optimizer", opt)], step

def dcgan():
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
    G = nn.Sequential(block(4, 8), block(8, 16), block(16, 8), nn.Conv2d(8, 3, 1))
    D = nn.Sequential(block(3, 8), block(8, 16), nn.Flatten(), nn.Linear(16 * 8 * 8, 1))
    oG, oD = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    z = torch.randn(4, 4, 8, 8)
    def step():
        oG.zero_grad(); oD.zero_grad(); D(G(z)).mean().backward(); oG.step(); oD.step()
    return [("netG", G), ("netD", D), ("optimizerG", oG), ("optimizerD", oD)], step

committed = set()
def snapshot(roots):
    builder = graph.GraphBuilder(recorder, committed, _native.hash_bytes)
    builder.hold(obj for _, obj in roots)
    for path, obj in roots:
        builder.add_root(path, obj)
    committed.update(builder.new_hashes)
    return builder

out = {}
for name, make, changed in [("classifier, unchanged", classifier, False),
                            ("classifier, one step", classifier, True),
                            ("finetune, one step", finetune, True),
                            ("dcgan, one step", dcgan, True)]:
    roots, step = make()
    step()
    nodes = len(snapshot(roots).nodes)
    snapshot(roots)
    times = []
    for _ in range(40):
        if changed:
            step()
        started = time.thread_time()
        snapshot(roots)
        times.append((time.thread_time() - started) * 1000)
    out[name] = {"nodes": nodes, "median_ms": statistics.median(times)}
print(json.dumps(out))
"""

COPIES = r"""
import json, resource, statistics, tempfile, time
import numpy as np
from snapline import _native
recorder = _native.Recorder(tempfile.mkdtemp() + "/store", json.dumps(
    {"script": "t.py", "started_at": 0.0, "lineage": {}}))
buffers = [np.random.rand((4 << 20) // 4).astype(np.float32) for _ in range(24)]
rows = []
for _ in range(10):
    for a in buffers:
        a[::1024] += 1.0  # every 4 KiB page, so every chunk, changes
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    started = time.thread_time()
    for a in buffers:
        recorder.scan_array(a.__array_interface__["data"][0], a.nbytes, "float32")
    rows.append(((time.thread_time() - started) * 1000,
                 resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults))
    time.sleep(0.3)  # the writer catches up, as between snapshots
recorder.finish("finished", 1.0)
later = rows[3:]  # (the first three: the store's first versions, delta keyframes held)
print(json.dumps({"each_ms": [r[0] for r in rows], "faults": [r[1] for r in rows],
                  "later_median_ms": statistics.median(r[0] for r in later),
                  "later_max_ms": max(r[0] for r in later),
                  "later_faults": sum(r[1] for r in later)}))
"""


def run(code: str, before: Path | None, extra: dict | None = None) -> dict:
    environment = env(before)
    environment.update(extra or {})
    done = subprocess.run([PYTHON, "-c", code], env=environment, capture_output=True,
                          text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench process failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--only", choices=["walk", "copies"])
    ns = parser.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        if ns.only in (None, "walk"):
            head = head_agent(Path(tmp))
            runs: dict = {"head": [], "tree": []}
            for _ in range(ns.reps):
                runs["head"].append(run(WALK, head))
                runs["tree"].append(run(WALK, None))
            result["walk"] = {
                name: {agent: statistics.median(r[name]["median_ms"] for r in rows)
                       for agent, rows in runs.items()} | {"nodes": runs["tree"][0][name]["nodes"]}
                for name in runs["tree"][0]}
            for name, row in result["walk"].items():
                print(f"{name:24s} {row['nodes']:4d} nodes  HEAD {row['head']:.2f} ms  "
                      f"tree {row['tree']:.2f} ms ({row['tree'] / row['head']:.2f}x)")
        if ns.only in (None, "copies"):
            copies: dict = {"kept": [], "fresh": []}
            for _ in range(ns.reps):
                copies["kept"].append(run(COPIES, None))
                copies["fresh"].append(run(COPIES, None, {"SNAPLINE_CHUNK_MEMORY_MB": "0"}))
            result["copies"] = copies
            for label, rows in copies.items():
                print(f"96 MiB changed, buffers {label:5s}: 4th to 10th scans: median "
                      f"{statistics.median(r['later_median_ms'] for r in rows):.1f} ms, "
                      f"max {max(r['later_max_ms'] for r in rows):.1f} ms, "
                      f"{sum(r['later_faults'] for r in rows)} page faults in all")
    out = REPO / "bench" / "out" / "torch_walk_bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
