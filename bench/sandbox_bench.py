"""The cost of the Landlock sandbox on a restore of a foreign snapshot
(issue #15; target: under 50 ms).

Captures a small training state (arrays, a torch-free model of numpy
weights, plain values: no pickle, so both modes do the same work), exports
it and imports it into a second store, then times `python -m snapline
restore REF -c pass` of the imported copy (safe mode, sandboxed: the
default for a foreign snapshot) against `--safe` on the original (the same
safe mode and records, its RNG pickles through the same restricted
unpickler, no sandbox), alternating; and the sandbox's own set-up (scratch
directory + ruleset) inside the process.

    .venv/bin/python bench/sandbox_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
BIN = str(REPO / ".venv" / "bin" / "snapline")

SCRIPT = """
import numpy as np
rng = np.random.default_rng(0)
W1 = rng.normal(size=(256, 128)).astype(np.float32)
W2 = rng.normal(size=(128, 10)).astype(np.float32)
history = {"loss": [1.0 / (i + 1) for i in range(200)]}
for epoch in range(3):
    loss = float(np.mean(W1 ** 2)) / (epoch + 1)
"""

SETUP = """
import time, os
from snapline.restore.sandbox import _scratch_dir
from snapline import _native
t = time.perf_counter()
_native.sandbox(_scratch_dir())
print((time.perf_counter() - t) * 1000)
"""


def sh(*cmd: str, env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        script = tmp_path / "train.py"
        script.write_text(SCRIPT)
        src, dst, bundle = tmp_path / "src", tmp_path / "dst", tmp_path / "b.snapline"
        sh(PYTHON, "-m", "snapline", "run", "--store", str(src), str(script), env=env)
        sh(BIN, "--store", str(src), "export", "last", "-o", str(bundle), env=env)
        sh(BIN, "--store", str(dst), "import", str(bundle), env=env)
        restore = [PYTHON, "-m", "snapline", "restore", "last", "-c", "pass", "--store"]
        sandboxed, unsandboxed = [], []
        for _ in range(runs):
            sandboxed.append(sh(*restore, str(dst), env=env) * 1000)
            unsandboxed.append(sh(*restore, str(src), "--safe", env=env) * 1000)
        setup = []
        for _ in range(runs):
            done = subprocess.run([PYTHON, "-c", SETUP], capture_output=True, text=True,
                                  env=env, check=True)
            setup.append(float(done.stdout.strip()))
    med = statistics.median
    print(f"runs: {runs} each")
    print(f"restore, foreign, sandboxed: median {med(sandboxed):7.1f} ms "
          f"(min {min(sandboxed):.1f})")
    print(f"restore --safe, local: median {med(unsandboxed):7.1f} ms "
          f"(min {min(unsandboxed):.1f})")
    print(f"difference of medians:   {med(sandboxed) - med(unsandboxed):7.1f} ms")
    print(f"sandbox set-up in process: median {med(setup):.2f} ms (max {max(setup):.2f})")


if __name__ == "__main__":
    main()
