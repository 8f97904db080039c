"""Whole-run benchmarks of the capture agent, written to bench/RESULTS.md.

    .venv/bin/python bench/capture_bench.py            # full run (~5 min), rewrites RESULTS.md sections
    .venv/bin/python bench/capture_bench.py --smoke    # tiny sizes, prints only (part of the test command)

Measures, side by side in one run (ratios, not absolute seconds):
1. overhead: the PyTorch example with and without the agent, interleaved, N reps;
2. unchanged 1 GiB array: capture latency of the re-snapshot and its new bytes;
3. per-example capture latency (median, p99) and bytes stored per snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
SNAPLINE = str(REPO / ".venv" / "bin" / "snapline")


def run(cmd: list, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def cli_json(store: str, *args: str):
    out = subprocess.run([SNAPLINE, "--store", store, *args, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def overhead(reps: int, script_args: list, extra: list) -> dict:
    """Interleaved plain / captured runs of the same command."""
    script = str(REPO / "examples" / "torch_classifier.py")
    plain, captured = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            store = os.path.join(tmp, f"store{rep}")
            plain.append(run([PYTHON, script, *script_args]))
            captured.append(run([PYTHON, "-m", "snapline", "run", "--store", store, *extra,
                                 script, *script_args]))
        snaps = len(cli_json(os.path.join(tmp, "store0"), "log", "last"))
    ratios = [c / p for p, c in zip(plain, captured)]
    return {"plain_median_s": statistics.median(plain),
            "captured_median_s": statistics.median(captured),
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios), "snapshots": snaps,
            "reps": reps}


RESCAN = textwrap.dedent("""
    import sys, numpy as np, snapline
    big = np.ones(int(sys.argv[1]) // 4, dtype=np.float32)
    snapline.checkpoint("first")
    snapline.checkpoint("unchanged")
    big[12345] = 2.0
    snapline.checkpoint("one element changed")
""")


def rescan(nbytes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "rescan.py")
        Path(script).write_text(RESCAN)
        store = os.path.join(tmp, "store")
        subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store, "--no-statements",
                        script, str(nbytes)], check=True)
        log = {row["label"]: row for row in cli_json(store, "log", "last") if row["label"]}
    first, same, changed = log["first"], log["unchanged"], log["one element changed"]
    return {"bytes": nbytes, "first_ms": first["capture_ms"], "unchanged_ms": same["capture_ms"],
            "unchanged_new_bytes": same["bytes_new"], "changed_ms": changed["capture_ms"],
            "changed_new_bytes": changed["bytes_new"]}


EXAMPLES = {
    "numpy_mlp": ["--epochs", "30"],
    "sklearn_fit": ["--epochs", "10"],
    "torch_classifier": ["--epochs", "5"],
}


def per_example(smoke: bool, names: list) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            args = EXAMPLES[name]
            if smoke:
                args = [args[0], "2"]
            store = os.path.join(tmp, name)
            subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store,
                            str(REPO / "examples" / f"{name}.py"), *args],
                           check=True, stdout=subprocess.DEVNULL)
            log = cli_json(store, "log", "last")
            latency = [row["capture_ms"] for row in log]
            new = [row["bytes_new"] for row in log]
            results[name] = {"snapshots": len(log), "median_ms": statistics.median(latency),
                             "p99_ms": percentile(latency, 0.99),
                             "max_ms": max(latency), "bytes_new_total": sum(new),
                             "bytes_new_per_snapshot": sum(new) / len(log)}
    return results


def torch_available() -> bool:
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True,
                          check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; print, don't write")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    report: dict = {"python": sys.version.split()[0]}
    if torch_available():
        if args.smoke:
            sizes = ["--epochs", "2", "--samples", "512"]
            report["overhead"] = overhead(1, sizes, ["--no-statements"])
        else:
            sizes = ["--epochs", "5", "--samples", "65536"]
            report["overhead_epoch_only"] = overhead(args.reps, sizes, ["--no-statements"])
            report["overhead_default"] = overhead(args.reps, sizes, [])
        names = list(EXAMPLES)
    else:
        names = ["numpy_mlp"]
    report["rescan"] = rescan((8 << 20) if args.smoke else (1 << 30))
    report["examples"] = per_example(args.smoke, names)
    print(json.dumps(report, indent=2))
    if not args.smoke:
        out = REPO / "bench" / "out"
        out.mkdir(exist_ok=True)
        (out / "capture_bench.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
