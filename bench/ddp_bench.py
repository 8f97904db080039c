"""Capture overhead of a two-rank DDP job (issue #18), written up in bench/RESULTS.md.

    .venv/bin/python bench/ddp_bench.py --reps 5    # full run (a few minutes), writes bench/out/ddp_bench.json
    .venv/bin/python bench/ddp_bench.py --smoke     # tiny sizes, one repetition, prints only (part of the test command)

The same job runs plain (`torchrun --standalone --nproc-per-node 2 train.py`)
and captured (`torchrun ... -m snapline run train.py`: each rank its own run
of one group, both writing into one store), interleaved (the order rotates
every repetition). The job: an MLP under DistributedDataParallel on the gloo
backend, two CPU ranks with one thread each, a DistributedSampler over
synthetic data, a few epochs. Figures: medians of wall time (launch to exit
of torchrun, which includes its own start-up) and of per-repetition ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))

TRAIN = textwrap.dedent("""
    import argparse
    import gc

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    x = torch.randn(args.samples, 64)
    y = (x[:, :8].sum(dim=1) > 0).long()
    dataset = TensorDataset(x, y)
    sampler = DistributedSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=64, sampler=sampler)
    model = DDP(torch.nn.Sequential(
        torch.nn.Linear(64, args.hidden), torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, args.hidden), torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, 2)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    # Release DDP (its reducer holds gloo work) before the group goes: torch
    # 2.15 with gloo otherwise aborts at exit about one time in three here
    # ("terminate called without an active exception"), captured or not.
    del model, optimizer
    gc.collect()
    dist.destroy_process_group()
""")


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    e.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"})
    return e


def timed(cmd: list, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition")
    ns = parser.parse_args()
    reps = 1 if ns.smoke else ns.reps
    job_args = ["--epochs", "2", "--samples", "512", "--hidden", "16"] if ns.smoke else []
    launch = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    times: dict = {"plain": [], "captured": []}
    ratios = []
    snapshots = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "train.py").write_text(TRAIN)
        for rep in range(reps):
            order = ["plain", "captured"] if rep % 2 == 0 else ["captured", "plain"]
            this = {}
            for kind in order:
                if kind == "plain":
                    this[kind] = timed([*launch, "train.py", *job_args], work)
                else:
                    store = work / f"store{rep}"
                    this[kind] = timed([*launch, "-m", "snapline", "run", "--store", str(store),
                                        "train.py", *job_args], work)
                    runs = json.loads(subprocess.run(
                        [str(REPO / ".venv" / "bin" / "snapline"), "--store", str(store), "runs",
                         "--json"], capture_output=True, text=True, check=True).stdout)
                    if len(runs) != 2 or len({r["group"] for r in runs}) != 1:
                        raise SystemExit(f"expected one group of two ranks, got {runs}")
                    snapshots.append(sum(r["snapshots"] for r in runs))
                times[kind].append(this[kind])
            ratios.append(this["captured"] / this["plain"])
            print(f"rep {rep}: plain {this['plain']:.2f}s captured {this['captured']:.2f}s "
                  f"ratio {ratios[-1]:.3f}", flush=True)
    result = {
        "reps": reps,
        "plain_median_s": statistics.median(times["plain"]),
        "captured_median_s": statistics.median(times["captured"]),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "snapshots_both_ranks": statistics.median(snapshots),
    }
    print(json.dumps(result, indent=2))
    if not ns.smoke:
        out = REPO / "bench" / "out"
        out.mkdir(exist_ok=True)
        (out / "ddp_bench.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
