"""Bundle benchmarks (issue #5), printed as Markdown for bench/RESULTS.md.

    .venv/bin/python bench/bundle_bench.py            # ~1 GiB of arrays, 3 reps
    .venv/bin/python bench/bundle_bench.py --smoke    # tiny sizes

Side by side, interleaved, medians with min-max: `snapline export RUN` of a
run holding ~1 GiB of float32 arrays (random: the frames barely compress),
`cp` of the bundle file, and `snapline import` of it into an empty store
(verify every part, then write every chunk file durably and commit), plus
`cp` followed by `sync` (what a durable copy costs). Target: import under
2x the copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
SNAPLINE = os.environ.get("SNAPLINE_BIN", str(REPO / ".venv" / "bin" / "snapline"))

STATE = """
import numpy as np
rng = np.random.default_rng(0)
arrays = [rng.standard_normal({n}, dtype=np.float32) for _ in range({count})]
"""


def timed(cmd: list) -> float:
    # Dirty pages of the previous step are flushed first, untimed: each
    # step pays only for its own writes.
    subprocess.run(["sync"], check=False)
    t0 = time.perf_counter()
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{cmd} failed: {done.stderr}")
    return elapsed


def summary(values: list) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to work (default: a temp dir)")
    args = parser.parse_args()
    count, n = (2, 1 << 18) if args.smoke else (8, 32 << 20)  # 8 x 128 MiB = 1 GiB
    reps = 1 if args.smoke else args.reps
    work = Path(tempfile.mkdtemp(prefix="bundle-bench-", dir=args.dir))
    try:
        store = work / "store"
        script = work / "state.py"
        script.write_text(STATE.format(n=n, count=count))
        done = subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store,
                               "--no-statements", script], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            sys.exit(done.stderr)
        bundle = work / "run.snapline"
        rows: dict = {"export": [], "cp": [], "cp + sync": [], "import": []}
        for _ in range(reps):
            bundle.unlink(missing_ok=True)
            rows["export"].append(timed([SNAPLINE, "--store", store, "export", "last",
                                         "-o", bundle]))
            copy = work / "copy.snapline"
            copy.unlink(missing_ok=True)
            rows["cp"].append(timed(["cp", bundle, copy]))
            copy.unlink()
            rows["cp + sync"].append(timed(["sh", "-c", f"cp '{bundle}' '{copy}' && sync '{copy}'"]))
            copy.unlink()
            target = work / "imported"
            shutil.rmtree(target, ignore_errors=True)
            rows["import"].append(timed([SNAPLINE, "--store", target, "import", bundle]))
        size = bundle.stat().st_size
        print(f"Bundle: {size / 2**20:.0f} MiB ({count} arrays of {n * 4 / 2**20:.0f} MiB, "
              f"float32, random), {reps} reps, {os.cpu_count()} CPUs\n")
        print("| step | time (median, min-max) | vs cp |")
        print("|---|---|---|")
        cp = statistics.median(rows["cp"])
        for name, values in rows.items():
            print(f"| {name} | {summary(values)} | {statistics.median(values) / cp:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
