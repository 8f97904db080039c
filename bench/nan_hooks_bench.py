"""Overhead of `--nan-hooks` (issue #4), written up in bench/RESULTS.md.

    .venv/bin/python bench/nan_hooks_bench.py --reps 5    # full run (~10 min), writes bench/out/nan_hooks_bench.json
    .venv/bin/python bench/nan_hooks_bench.py --smoke     # tiny MLP only, prints only (part of the test command)

Each workload runs plain (`python script.py`), under capture
(`python -m snapline run`, default settings) and under capture with
`--nan-hooks`, interleaved (the order rotates every repetition), N
repetitions; the figures are medians of wall time and of per-repetition
ratios. Workloads:

1. mlp: examples/torch_classifier.py, a 3-layer MLP on 32 features (tiny
   layers, so the hooks' fixed cost per module call shows most);
2. cnn: a small CNN on synthetic 28x28 images (written by this script);
3. numpy: examples/numpy_mlp.py (no torch: only the warnings wrapper).

No workload goes non-finite: this is what the hooks cost a healthy run,
which they watch to the end (a run that went non-finite stops paying once
its first forward and first backward findings are recorded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))

CNN = textwrap.dedent("""
    import argparse

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    images = torch.randn(args.samples, 1, 28, 28)
    labels = torch.randint(0, 10, (args.samples,))
    loader = DataLoader(TensorDataset(images, labels), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch} loss {total / len(loader):.4f}")
""")

# name -> (script, full args, smoke args, steps per run with the full args)
WORKLOADS = {
    "mlp": ("examples/torch_classifier.py", ["--epochs", "5", "--samples", "65536"],
            ["--epochs", "1", "--samples", "512"], 5 * 65536 // 64),
    "cnn": ("cnn.py", ["--epochs", "3", "--samples", "8192"],
            ["--epochs", "1", "--samples", "256"], 3 * 8192 // 64),
    "numpy": ("examples/numpy_mlp.py", ["--epochs", "200", "--hidden", "512"], ["--epochs", "2"],
              None),
}
MODES = ("plain", "capture", "nan_hooks")


def timed(cmd: list) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - started


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    return env


def command(mode: str, script: str, args: list, store: str) -> list:
    if mode == "plain":
        return [PYTHON, script, *args]
    extra = ["--nan-hooks"] if mode == "nan_hooks" else []
    return [PYTHON, "-m", "snapline", "run", "--store", store, *extra, script, *args]


def event_count(store: str) -> int:
    with sqlite3.connect(os.path.join(store, "catalog.sqlite")) as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def measure(name: str, script: str, args: list, reps: int, steps: int | None,
            tmp: str) -> dict:
    times: dict = {mode: [] for mode in MODES}
    events = 0
    for rep in range(reps):
        order = MODES[rep % len(MODES):] + MODES[:rep % len(MODES)]
        for mode in order:
            store = os.path.join(tmp, f"{name}-{mode}-{rep}")
            times[mode].append(timed(command(mode, script, args, store)))
            if mode == "nan_hooks":
                events += event_count(store)
    ratios = {
        "capture/plain": [c / p for p, c in zip(times["plain"], times["capture"])],
        "nan_hooks/plain": [n / p for p, n in zip(times["plain"], times["nan_hooks"])],
        "nan_hooks/capture": [n / c for c, n in zip(times["capture"], times["nan_hooks"])],
    }
    result: dict = {"args": args, "reps": reps,
                    "median_s": {mode: statistics.median(v) for mode, v in times.items()},
                    "min_s": {mode: min(v) for mode, v in times.items()},
                    "ratio_median": {k: statistics.median(v) for k, v in ratios.items()},
                    "ratio_min": {k: min(v) for k, v in ratios.items()},
                    "ratio_max": {k: max(v) for k, v in ratios.items()},
                    "events": events}
    if steps:
        extra = result["median_s"]["nan_hooks"] - result["median_s"]["capture"]
        result["steps"] = steps
        result["hooks_us_per_step"] = extra / steps * 1e6
    return result


def torch_available() -> bool:
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True,
                          check=False).returncode == 0


def table(report: dict) -> str:
    lines = [("| workload | plain | capture | capture + --nan-hooks | nan-hooks / capture "
              "(min-max) | nan-hooks / plain |"), "|---|---|---|---|---|---|"]
    for name, r in report["workloads"].items():
        m, rm = r["median_s"], r["ratio_median"]
        lo, hi = r["ratio_min"]["nan_hooks/capture"], r["ratio_max"]["nan_hooks/capture"]
        lines.append(f"| {name} | {m['plain']:.2f} s | {m['capture']:.2f} s | "
                     f"{m['nan_hooks']:.2f} s | **{rm['nan_hooks/capture']:.3f}** "
                     f"({lo:.3f}-{hi:.3f}) | {rm['nan_hooks/plain']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; print, don't write")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", choices=list(WORKLOADS), action="append",
                        help="run only this workload (repeatable)")
    args = parser.parse_args()
    # Smoke: one tiny torch workload (three interpreters importing torch),
    # the numpy one where torch is missing.
    names = args.only or (["mlp"] if args.smoke else list(WORKLOADS))
    if not torch_available():
        names = ["numpy"]
    report: dict = {"python": sys.version.split()[0], "workloads": {}}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "cnn.py").write_text(CNN)
        for name in names:
            script, full, smoke, steps = WORKLOADS[name]
            path = str(Path(tmp, script)) if script == "cnn.py" else str(REPO / script)
            result = measure(name, path, smoke if args.smoke else full,
                             1 if args.smoke else args.reps, None if args.smoke else steps, tmp)
            report["workloads"][name] = result
            if result["events"]:
                raise SystemExit(f"{name}: a healthy run recorded {result['events']} events")
    print(json.dumps(report, indent=2))
    print(table(report))
    if not args.smoke:
        out = REPO / "bench" / "out"
        out.mkdir(exist_ok=True)
        (out / "nan_hooks_bench.json").write_text(json.dumps(report, indent=2))
    assert all(math.isfinite(r["median_s"]["plain"]) for r in report["workloads"].values())


if __name__ == "__main__":
    main()
