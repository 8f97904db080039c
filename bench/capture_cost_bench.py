"""Issue #16: what capture costs when little changes, side by side in one run.

- growing: a loop that appends to a list and a dict 3000 times (a vocabulary
  built from sentences), plain and captured: the default (budget 2%), every
  iteration (`--outer-every 0`, the budget out of play) with this tree's
  agent, and every iteration with the agent of git HEAD (`--before`), for
  the store size the old representation gives;
- unchanged: per-snapshot latency with nothing changed, 100 variables
  (numbers, strings, small configs and lists, 15 float32 arrays), 300 loop
  snapshots: capture_ms distribution, this tree against git HEAD;
- torch: examples/torch_classifier.py at default settings, plain and captured.

The HEAD agent is `git archive HEAD capture-agent/python` unpacked into a
temporary directory and put first on PYTHONPATH (with this tree's native
extension, which still offers what it calls).

    .venv/bin/python bench/capture_cost_bench.py [--reps 3] [--before]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
BIN = str(REPO / ".venv" / "bin" / "snapline")
OUT = REPO / "bench" / "out" / "capture_cost_bench.json"

GROWING = """
    import random

    random.seed(0)
    words = [f"w{i}" for i in range(400)]
    vocab = {}
    tokens = []
    for i in range(3000):
        sentence = " ".join(random.choice(words) for _ in range(600))
        for word in sentence.split():
            if word.endswith("7"):
                word = word.upper()
        key = sentence[:12]
        vocab[key] = vocab.get(key, 0) + 1
        tokens.append(sentence[:8])
    print(len(vocab), len(tokens))
"""

UNCHANGED = """
    import numpy as np

    rng = np.random.default_rng(0)
    state = globals()
    for i in range(40):
        state[f"scalar_{i}"] = float(i) * 0.5
    for i in range(20):
        state[f"name_{i}"] = f"run-{i}"
    for i in range(15):
        state[f"cfg_{i}"] = {"lr": 0.1 * i, "layers": [64, 32], "act": "relu"}
    for i in range(15):
        state[f"weights_{i}"] = rng.standard_normal((64, 64)).astype(np.float32)
    for i in range(10):
        state[f"history_{i}"] = [float(k) for k in range(50)]
    for step in range(300):
        pass
"""


def env(before: Path | None) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    out.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"})
    out.pop("PYTHONPATH", None)
    if before is not None:
        out["PYTHONPATH"] = str(before)
    return out


def timed(cmd: list, before: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in cmd], env=env(before), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def store_facts(store: Path) -> dict:
    runs = json.loads(subprocess.run([BIN, "--store", store, "runs", "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    log = json.loads(subprocess.run([BIN, "--store", store, "log", "last", "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    disk = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        entries = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    return {"snapshots": len(log), "stored": runs[-1]["bytes_stored"], "disk": disk,
            "entries": entries, "capture_ms": [r["capture_ms"] for r in log]}


def head_agent(tmp: Path) -> Path:
    """git HEAD's snapline package, with this tree's native extension."""
    target = tmp / "head"
    target.mkdir()
    archive = subprocess.run(["git", "-C", REPO, "archive", "HEAD", "capture-agent/python"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    package = target / "capture-agent" / "python"
    for so in (REPO / "capture-agent" / "python" / "snapline").glob("_native*.so"):
        shutil.copy(so, package / "snapline" / so.name)
    return package


def growing(tmp: Path, reps: int, before: Path | None) -> dict:
    script = tmp / "growing.py"
    script.write_text(textwrap.dedent(GROWING).lstrip())
    variants = [("default", [], None), ("every", ["--outer-every", "0"], None)]
    if before is not None:
        variants.append(("every_head", ["--outer-every", "0"], before))
    rows: dict = {"plain": [], **{name: [] for name, _, _ in variants}}
    facts: dict = {}
    for rep in range(reps):
        rows["plain"].append(timed([PYTHON, script]))
        for name, opts, agent in variants:
            store = tmp / f"{name}-{rep}"
            rows[name].append(timed([PYTHON, "-m", "snapline", "run", "--store", store, *opts,
                                     script], agent))
            facts[name] = store_facts(store)
            shutil.rmtree(store)
    out = {}
    for name, times in rows.items():
        if not times:
            continue
        ratio = [t / p for t, p in zip(times, rows["plain"])]
        f = facts.get(name, {})
        out[name] = {"seconds": statistics.median(times), "ratio": statistics.median(ratio),
                     "snapshots": f.get("snapshots"), "stored": f.get("stored"),
                     "disk": f.get("disk"), "entries": f.get("entries")}
    return out


def unchanged(tmp: Path, before: Path | None) -> dict:
    script = tmp / "unchanged.py"
    script.write_text(textwrap.dedent(UNCHANGED).lstrip())
    line = next(n for n, text in enumerate(script.read_text().splitlines(), 1)
                if "for step in range" in text)
    out = {}
    for name, agent in (("after", None), ("before", before)):
        if name == "before" and agent is None:
            continue
        store = tmp / f"unchanged-{name}"
        timed([PYTHON, "-m", "snapline", "run", "--store", store, "--outer-every", "0",
               "--no-statements", script], agent)
        log = json.loads(subprocess.run([BIN, "--store", store, "log", "last", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
        ms = sorted(r["capture_ms"] for r in log
                    if r["trigger"] == "iteration" and r["line"] == line)
        out[name] = {"snapshots": len(ms), "median_ms": statistics.median(ms),
                     "p10_ms": ms[len(ms) // 10], "p90_ms": ms[len(ms) * 9 // 10],
                     "max_ms": ms[-1]}
        shutil.rmtree(store)
    return out


def changed_weights(tmp: Path, before: Path | None) -> dict:
    """examples/numpy_mlp.py: every epoch changes the weights; per-snapshot
    capture_ms of the epoch snapshots (previews of changed arrays were
    formatted at capture before issue #16)."""
    script = REPO / "examples" / "numpy_mlp.py"
    line = next(n for n, text in enumerate(script.read_text().splitlines(), 1)
                if "for epoch in range" in text)
    out = {}
    for name, agent in (("after", None), ("before", before)):
        if name == "before" and agent is None:
            continue
        store = tmp / f"mlp-{name}"
        timed([PYTHON, "-m", "snapline", "run", "--store", store, "--outer-every", "0",
               "--no-statements", script, "--epochs", "60"], agent)
        log = json.loads(subprocess.run([BIN, "--store", store, "log", "last", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
        ms = sorted(r["capture_ms"] for r in log
                    if r["trigger"] == "iteration" and r["line"] == line)
        out[name] = {"snapshots": len(ms), "median_ms": statistics.median(ms),
                     "p90_ms": ms[len(ms) * 9 // 10]}
        shutil.rmtree(store)
    return out


def torch_example(tmp: Path, reps: int) -> dict | None:
    try:
        subprocess.run([PYTHON, "-c", "import torch"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return None
    script = REPO / "examples" / "torch_classifier.py"
    args = ["--epochs", "5", "--samples", "65536"]
    plain, captured = [], []
    for rep in range(reps):
        plain.append(timed([PYTHON, script, *args]))
        store = tmp / f"torch-{rep}"
        captured.append(timed([PYTHON, "-m", "snapline", "run", "--store", store, script,
                               *args]))
        shutil.rmtree(store)
    return {"plain_s": statistics.median(plain),
            "ratio": statistics.median(c / p for c, p in zip(captured, plain))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="also run git HEAD's agent (every-iteration store, latency)")
    parser.add_argument("--no-torch", action="store_true")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        before = head_agent(tmp) if ns.before else None
        result = {"growing": growing(tmp, ns.reps, before),
                  "unchanged": unchanged(tmp, before),
                  "changed_weights": changed_weights(tmp, before)}
        if not ns.no_torch:
            result["torch"] = torch_example(tmp, ns.reps)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
