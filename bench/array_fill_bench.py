"""Issue #16: a 32 MB array filled block by block in a loop (the six-cell
notebook's signal cell, as a script), plain and under `snapline run` at
default settings, interleaved: the loop's median time in each, as the
script itself measures it (snapshots and page faults inside the loop
included).

    .venv/bin/python bench/array_fill_bench.py [--reps 8]

With `--agent DIR` (repeatable), also the snapline package in DIR (put
first on PYTHONPATH), e.g. one whose native extension was built from
another commit: the comparison of write-tracking policies in RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import notebook_cost_bench

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")

# The notebook's signal cell (notebook_cost_bench.CELLS[1]), timed from
# inside: the loop with its snapshots and page faults.
FILL = (
    "import time\nimport numpy as np\nrng = np.random.default_rng(0)\nMB = 32\n"
    "t0 = time.perf_counter()\n" + notebook_cost_bench.CELLS[1]
    + "\nprint((time.perf_counter() - t0) * 1000)\n"
)


def loop_ms(cmd: list[str], env: dict[str, str]) -> float:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--agent", action="append", default=[], metavar="DIR")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "fill.py"
        script.write_text(FILL)
        variants = {"plain": None, "snapline": "", **{d: d for d in ns.agent}}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for rep in range(ns.reps):
            for name, agent in variants.items():
                env = dict(os.environ)
                if agent:
                    env["PYTHONPATH"] = agent
                if agent is None:
                    cmd = [PYTHON, str(script)]
                else:
                    cmd = [PYTHON, "-m", "snapline", "run", "--store",
                           str(Path(tmp) / f"store-{rep}-{len(times[name])}"), str(script)]
                times[name].append(loop_ms(cmd, env))
        plain = statistics.median(times["plain"])
        for name, ms in times.items():
            median = statistics.median(ms)
            print(f"{name}: {median:.1f} ms ({median / plain:.2f}x), "
                  f"reps {sorted(round(m) for m in ms)}")


if __name__ == "__main__":
    main()
