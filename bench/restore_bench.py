"""Restore benchmarks (issue #3), printed as Markdown for bench/RESULTS.md.

    .venv/bin/python bench/restore_bench.py            # 1 GiB state, 3 reps (~3 min)
    .venv/bin/python bench/restore_bench.py --smoke    # tiny sizes (part of the test command)

Side by side in one run, interleaved, medians with min-max:
1. restoring a state of 1 GiB of float32 arrays, against (a) reading and
   decompressing the same chunks with the same reader into one buffer, and
   (b) `zstd -dc` over the chunk files (single-threaded, the plain tool);
2. `snapline restore RUN@SEQ -c pass` at the PyTorch example's last epoch
   boundary against re-running the example to that point.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
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

STATE = """
import numpy as np
rng = np.random.default_rng(0)
arrays = [rng.standard_normal({n}, dtype=np.float32) for _ in range({count})]
for epoch in range(2):
    arrays[0][:4] += 1.0
"""

# Timed inside the interpreter: only the restore itself (no startup, no imports).
RESTORE = """
import sys, time
import numpy
from snapline.restore import Session
store, ref = sys.argv[1], sys.argv[2]
session = Session(store, ref)
ns = {}
t0 = time.perf_counter()
session.restore_globals(ns)
t1 = time.perf_counter()
assert not session.report.missing, session.report.missing
print(t1 - t0)
"""

READ = """
import sys, time, json
from snapline import _native
store, ref = sys.argv[1], sys.argv[2]
reader = _native.Reader(store)
run, seq = reader.resolve(ref)
records = [json.loads(reader.object(h)) for p, n, h in reader.entries(run, seq)]
arrays = [r for r in records if r["kind"] == "array"]
t0 = time.perf_counter()
total = 0
for r in arrays:
    total += len(reader.read_blob(r["chunks"]))
t1 = time.perf_counter()
print(t1 - t0)
"""


def timed(cmd: list) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def inner_seconds(code: str, *args: str) -> float:
    out = subprocess.run([PYTHON, "-c", code, *args], check=True, capture_output=True,
                         text=True).stdout
    return float(out.strip().splitlines()[-1])


def log(store: str) -> list:
    import json

    out = subprocess.run([SNAPLINE, "--store", store, "log", "last", "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def summary(values: list) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def ratio(a: list, b: list) -> str:
    ratios = [x / y for x, y in zip(a, b)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def big_state(tmp: str, nbytes: int, reps: int) -> list:
    count = 16
    n = nbytes // 4 // count
    script = os.path.join(tmp, "state.py")
    Path(script).write_text(textwrap.dedent(STATE.format(n=n, count=count)))
    store = os.path.join(tmp, "store")
    # Plain chunks only (SNAPLINE_DELTA=0): the baselines read the chunk files
    # as zstd frames, which a delta file is not (bench/delta_bench.py measures
    # restore from deltas).
    subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store, "--no-statements",
                    script], check=True, env={**os.environ, "SNAPLINE_DELTA": "0"})
    rows = log(store)
    ref = f"last@{[r for r in rows if r['trigger'] == 'iteration'][-1]['seq']}"
    files = glob.glob(os.path.join(store, "chunks", "*", "*.zst"))
    restore, read, cli = [], [], []
    for _ in range(reps):
        restore.append(inner_seconds(RESTORE, store, ref))
        read.append(inner_seconds(READ, store, ref))
        started = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            subprocess.run(["zstd", "-dc", "-q", *files], check=True, stdout=sink)
        cli.append(time.perf_counter() - started)
    size = f"{nbytes / (1 << 30):.2f} GiB" if nbytes >= 1 << 28 else f"{nbytes >> 20} MiB"
    return [
        f"State: {count} float32 arrays, {size} in all, {len(files)} chunk files.",
        "",
        "| what | time (median, min-max) | restore / it |",
        "|---|---|---|",
        f"| restore the arrays (`Session.restore_globals`) | {summary(restore)} | 1.00x |",
        (f"| read + decompress the same chunks (same reader, one buffer) | {summary(read)} | "
         f"{ratio(restore, read)} |"),
        (f"| `zstd -dc` over the chunk files (one thread) | {summary(cli)} | "
         f"{ratio(restore, cli)} |"),
    ]


def torch_rerun(tmp: str, smoke: bool, reps: int) -> list:
    try:
        subprocess.run([PYTHON, "-c", "import torch"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return ["(torch is not installed: skipped)"]
    script = str(REPO / "examples" / "torch_classifier.py")
    epochs = 2 if smoke else 16
    samples = "1024" if smoke else "65536"
    args = ["--epochs", str(epochs), "--samples", samples]
    store = os.path.join(tmp, "torch")
    subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store, "--no-statements",
                    script, *args], check=True, stdout=subprocess.DEVNULL)
    rows = log(store)
    target = next(r for r in rows if r["trigger"] == "iteration" and r["loops"] == [epochs - 1])
    ref = f"last@{target['seq']}"
    rerun, restore, startup = [], [], []
    upto = ["--epochs", str(epochs - 1), "--samples", samples]
    for _ in range(reps):
        rerun.append(timed([PYTHON, script, *upto]))
        restore.append(timed([SNAPLINE, "--store", store, "restore", ref, "-c", "pass"]))
        startup.append(timed([PYTHON, "-c", "import torch"]))
    speedup = [a / b for a, b in zip(rerun, restore)]
    beyond = [(a - s) / max(b - s, 1e-3) for a, b, s in zip(rerun, restore, startup)]
    return [
        (f"`examples/torch_classifier.py {' '.join(args)}`, snapshot at the start of epoch "
         f"{epochs - 1} (`{ref}`)."),
        "",
        "| what | time (median, min-max) |",
        "|---|---|",
        (f"| re-run the script to that point (`--epochs {epochs - 1}`, no capture) | "
         f"{summary(rerun)} |"),
        f"| `snapline restore {ref} -c pass` (whole process) | {summary(restore)} |",
        f"| `python -c 'import torch'` (start-up that both pay) | {summary(startup)} |",
        "",
        (f"Restore is **{statistics.median(speedup):.1f}x** faster than re-running "
         f"(min {min(speedup):.1f}x, max {max(speedup):.1f}x); without the interpreter "
         f"start-up and `import torch` that both pay, **{statistics.median(beyond):.0f}x** "
         f"(min {min(beyond):.0f}x, max {max(beyond):.0f}x)."),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    nbytes = (16 << 20) if args.smoke else (1 << 30)
    reps = 1 if args.smoke else args.reps
    tmp = tempfile.mkdtemp(prefix="snapline-restore-bench-")
    try:
        lines = ["### Restoring a 1 GiB state", "",
                 f"`{' '.join([os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])}`", ""]
        lines += big_state(tmp, nbytes, reps)
        lines += ["", "### Restore against re-running (PyTorch example)", ""]
        lines += torch_rerun(tmp, args.smoke, reps)
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
