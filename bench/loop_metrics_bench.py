"""Cost of reading a loop's scalars at every iteration (issue #14), written
up in bench/RESULTS.md.

    .venv/bin/python bench/loop_metrics_bench.py --reps 5   # full run (~1 min)
    .venv/bin/python bench/loop_metrics_bench.py --smoke    # tiny, prints only (test command)

One loop of N iterations assigning ten scalars (floats and ints, one
constant), inside a function as training loops are, timed by the script
itself around the loop only (no interpreter start, no store opening), in
three ways, interleaved with the order rotating every repetition:

1. plain: `python script.py`;
2. hooks: `snapline run --no-loop-metrics` (the loop's safe-point hooks, no
   scalar reading);
3. metrics: `snapline run` (hooks plus the ten scalars read each iteration
   and their changed values sent as metric points).

Snapshots are throttled away (`--outer-every` and `--inner-every` longer
than the run, `--no-statements`), so the figures are the per-iteration
costs. Reported: medians over repetitions of microseconds per iteration
for hooks - plain and metrics - hooks (the issue's budget: under 2 µs for
ten scalars).
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))

SCRIPT = textwrap.dedent("""
    import math
    import sys
    import time


    def train(steps):
        lr = 0.01
        seen = 0
        for step in range(steps):
            loss = math.exp(-step * 1e-4) + (step % 13) * 1e-3
            acc = 1.0 - loss / 2
            grad_norm = loss * 0.5
            val = loss + 0.1
            lr_now = lr
            seen += 32
            batch_loss = loss * 1.01
            ema = 0.9 * loss + 0.1 * acc
            ratio = acc / (loss + 1.0)
        return seen, ema, ratio, grad_norm, val, lr_now, batch_loss


    steps = int(sys.argv[1])
    started = time.perf_counter()
    train(steps)
    print(time.perf_counter() - started)
""")


def timed(cmd: list, env: dict) -> float:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.reps, args.steps = 1, 2_000
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ten_scalars.py"
        script.write_text(SCRIPT)
        capture = [PYTHON, "-m", "snapline", "run", "--store", str(Path(tmp) / "store"),
                   "--no-statements", "--outer-every", "1e9", "--inner-every", "1e9"]
        ways = {
            "plain": [PYTHON, str(script), str(args.steps)],
            "hooks": [*capture, "--no-loop-metrics", str(script), str(args.steps)],
            "metrics": [*capture, str(script), str(args.steps)],
        }
        times: dict = {name: [] for name in ways}
        order = list(ways)
        for rep in range(args.reps):
            for name in order[rep % 3:] + order[:rep % 3]:
                times[name].append(timed(ways[name], env))
    per_iter = {name: statistics.median(t) / args.steps * 1e6 for name, t in times.items()}
    result = {
        "steps": args.steps, "reps": args.reps, "python": sys.version.split()[0],
        "us_per_iteration": per_iter,
        "hooks_minus_plain_us": per_iter["hooks"] - per_iter["plain"],
        "metrics_minus_hooks_us": per_iter["metrics"] - per_iter["hooks"],
    }
    print(json.dumps(result, indent=2))
    if not args.smoke:
        out = REPO / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "loop_metrics_bench.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
