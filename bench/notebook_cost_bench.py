"""Issue #16: what `%load_ext snapline` costs on a six-cell notebook.

The notebook, as a user writes one: imports; a 32 MB float array built in a
loop; a DataFrame of about 32 MB; a vocabulary built in a loop over text;
statistics; a few rows changed. Each repetition runs it cell by cell in a
real Jupyter kernel (jupyter_client, one execute request per cell) twice,
interleaved: plainly, and with `%load_ext snapline` as its first cell (a
snapshot at every cell's end, loop snapshots under the default 2% budget).

Reported: the wall ratio of the six cells (median of the repetitions'
ratios; the `%load_ext` cell's time apart, and the ratio with it), the
store's size on disk after the kernel exits, and per cell its time plain and
captured and the snapshot's capture_ms. With `--kishu`, Kishu 0.3.4
(`init_kishu`, a commit per cell) runs too, with its own plain runs, in the
`.venv-bench` that bench/workloads_bench.py sets up (Kishu pins packages the
test venv should not carry). `--attribute` splits the cost instead: the same
cells in an in-process IPython shell with parts of the agent switched off
(loop hooks only, cell snapshots only, the 0.2 s first budget allowance of before),
timed in CPU seconds of the main thread and of the process (the writer).

    .venv/bin/python bench/notebook_cost_bench.py [--reps 3] [--kishu] [--before]
    .venv/bin/python bench/notebook_cost_bench.py --smoke   # tiny sizes, 1 rep, print only
    .venv/bin/python bench/notebook_cost_bench.py --attribute --reps 3   # where the time goes
    .venv/bin/python bench/notebook_cost_bench.py --variant nice0:SNAPLINE_WRITER_NICE=0
        # also this tree's agent with these kernel environment variables
    .venv/bin/python bench/notebook_cost_bench.py --before --before-native /tmp/head/_native.abi3.so
        # git HEAD's agent with an extension built from HEAD's Rust (bench/RESULTS.md says how)

`--attribute --before` adds "all on" with git HEAD's agent; each variant's
CPU to the session's end (the exit snapshot, the writer's queue drained) is
reported apart from the cells'.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import jupyter_kernel

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
BIN = str(REPO / ".venv" / "bin" / "snapline")
OUT = REPO / "bench" / "out" / "notebook_cost_bench.json"
# Issue #16's targets.
TARGET_RATIO = 1.15
TARGET_MB = 80.0

# The six cells. MB (the array's and the DataFrame's size) and DOCS (texts
# in the vocabulary cell) are set by the harness's first cell.
CELLS = [
    """\
import random
import re
from collections import Counter

import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
random.seed(0)""",
    """\
# a 32 MB signal, built block by block
n = MB * 2**20 // 8
signal = np.empty(n)
block = n // 64
for k in range(64):
    t = np.arange(k * block, (k + 1) * block) / n
    signal[k * block:(k + 1) * block] = np.sin(40 * t) + 0.1 * rng.standard_normal(block)
signal[64 * block:] = 0.0
signal.nbytes / 1e6""",
    """\
rows = MB * 2**20 // 40
sales = pd.DataFrame({
    "store": rng.integers(0, 50, rows),
    "day": rng.integers(0, 365, rows),
    "price": rng.gamma(2.0, 10.0, rows).round(2),
    "qty": rng.poisson(3, rows),
})
sales["revenue"] = sales["price"] * sales["qty"]
sales.head()""",
    """\
words = [f"{random.choice('bcdfglmnprst')}{random.choice('aeiou')}{i}" for i in range(3000)]
docs = [" ".join(random.choices(words, k=40)) + "." for _ in range(DOCS)]
vocab = {}
for doc in docs:
    for word in re.findall(r"\\w+", doc.lower()):
        vocab[word] = vocab.get(word, 0) + 1
len(vocab)""",
    """\
by_store = sales.groupby("store")["revenue"].agg(["sum", "mean", "count"])
stats = {
    "signal_mean": float(signal.mean()),
    "signal_std": float(signal.std()),
    "revenue": float(sales["revenue"].sum()),
    "top_words": Counter(vocab).most_common(10),
}
by_store.sort_values("sum", ascending=False).head()""",
    """\
sales.loc[:9, "price"] = sales.loc[:9, "price"] * 1.1
sales.loc[:9, "revenue"] = sales.loc[:9, "price"] * sales.loc[:9, "qty"]
signal[:1000] = 0.0
stats["revenue"] = float(sales["revenue"].sum())
stats["revenue"]""",
]

# `--attribute`: the cells in an in-process IPython shell, with parts of the
# agent switched off, timed in main-thread and process CPU seconds (wall time
# on a shared 2-core VM is too noisy to split 0.1 s between causes).
_AGENT = ("%load_ext snapline\nimport snapline.notebook as _n\n_c = _n.current\n"
          "_o = _c.agent.options\n")
# (No loop snapshot is ever due; not explicit throttles, which keep every
# loop instrumented: no plain copies, 5x the hooks' cost.)
_NO_LOOP_SNAPSHOTS = "_c.agent._due = lambda outermost: False\n"
ATTRIBUTION = {
    "plain": "",
    "all on": "%load_ext snapline",
    "cell snapshots only": _AGENT + "get_ipython().ast_transformers.remove(_c.transformer)",
    "loop hooks only": _AGENT + _NO_LOOP_SNAPSHOTS
    + "get_ipython().events.unregister('post_run_cell', _c.post_run_cell)",
    "all on, 0.2 s first allowance (before #16's floor)": _AGENT + "_c.agent.budget_left = 0.2",
}
HEAD_VARIANT = "all on, git HEAD's agent (--before)"
IN_PROCESS_DRIVER = r'''
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell

spec = json.loads(sys.argv[1])
shell = InteractiveShell.instance()
for cell in spec["setup"]:
    for part in cell.split("\n", 1) if cell.startswith("%load_ext") else [cell]:
        assert shell.run_cell(part, store_history=True).success, part
times = []
for cell in spec["cells"]:
    thread, process = time.thread_time(), time.process_time()
    assert shell.run_cell(cell, store_history=True).success, cell
    times.append([time.thread_time() - thread, time.process_time() - process])
# The session's end: the exit snapshot and the writer's queue drained (its
# compression left over from the cells counts here).
thread, process = time.thread_time(), time.process_time()
notebook = sys.modules.get("snapline.notebook")
if notebook is not None and notebook.current is not None:
    notebook.current.stop()
finish = [time.thread_time() - thread, time.process_time() - process]
print(json.dumps({"cells": times, "finish": finish}))
'''


def attribute(reps: int, sizes: dict, before: Path | None = None) -> dict:
    """Median CPU seconds of each cell per variant: [main thread, process]
    (with `before`, "all on" with git HEAD's agent too)."""
    variants = dict(ATTRIBUTION)
    if before is not None:
        variants[HEAD_VARIANT] = ATTRIBUTION["all on"]
    runs: dict = {name: [] for name in variants}
    for _ in range(reps):
        for name, agent in variants.items():
            head = {"PYTHONPATH": str(before)} if name == HEAD_VARIANT else {}
            with tempfile.TemporaryDirectory(prefix="nb-attr-") as tmp:
                setup = [f"MB = {sizes['mb']}\nDOCS = {sizes['docs']}"] + ([agent] if agent else [])
                spec = {"setup": setup, "cells": CELLS}
                done = subprocess.run([PYTHON, "-c", IN_PROCESS_DRIVER, json.dumps(spec)],
                                      capture_output=True, text=True, check=False, cwd=tmp,
                                      env={**env(), "SNAPLINE_STORE": str(Path(tmp) / "store"),
                                           **head})
                if done.returncode != 0:
                    raise SystemExit(f"attribution {name!r} failed:\n{done.stderr[-2000:]}")
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {}
    for name, got in runs.items():
        cells = [[statistics.median(r["cells"][i][k] for r in got) for k in (0, 1)]
                 for i in range(len(CELLS))]
        out[name] = {"main_thread_s": statistics.median(sum(c[0] for c in r["cells"])
                                                        for r in got),
                     "process_s": statistics.median(sum(c[1] for c in r["cells"]) for r in got),
                     "finish": [statistics.median(r["finish"][k] for r in got) for k in (0, 1)],
                     "cells": cells}
        print(f"  {name}: main thread {out[name]['main_thread_s'] * 1000:.0f} ms, process "
              f"{out[name]['process_s'] * 1000:.0f} ms, then to the end of the session "
              f"{out[name]['finish'][0] * 1000:.0f} / {out[name]['finish'][1] * 1000:.0f} ms; "
              "per cell (main thread) "
              f"{[round(c[0] * 1000) for c in cells]}", file=sys.stderr, flush=True)
    return out


def env() -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    out.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONHASHSEED": "0"})
    out.pop("PYTHONPATH", None)
    return out


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def run_notebook(python: str, contender: str, sizes: dict, tmp: Path,
                 before: Path | None = None, extra_env: dict | None = None) -> dict:
    """One run of the six cells in a fresh kernel of `python` (with `before`,
    the snapline package found there instead of this tree's; `extra_env`:
    the kernel's environment variables of a `--variant`)."""
    notebook = tmp / "analysis.ipynb"
    store = tmp / "store"
    kernel_env: dict = {}
    setup = [f"MB = {sizes['mb']}\nDOCS = {sizes['docs']}"]
    if contender.startswith("snapline"):
        kernel_env["SNAPLINE_STORE"] = str(store)
        if before is not None:
            kernel_env["PYTHONPATH"] = str(before)  # git HEAD's agent (--before)
        kernel_env.update(extra_env or {})
        setup.append("%load_ext snapline")
    elif contender == "kishu":
        # Kishu's own test mode: the same commits, without asking a browser
        # front end to save the notebook (there is none here).
        kernel_env.update(TEST_NOTEBOOK_PATH=str(notebook), HOME=str(tmp))
        setup.append(f"from kishu import init_kishu\ninit_kishu({str(notebook)!r})")
    spec = {"cells": CELLS, "notebook": str(notebook), "dir": str(tmp), "env": kernel_env,
            "setup": setup}
    report = jupyter_kernel.run_cells(python, spec, cwd=tmp, env=env(), timeout=1800,
                                      what=f"the notebook under {contender}")
    result = {"cells_s": report["cells_s"], "seconds": sum(report["cells_s"]),
              "setup_s": report["setup_s"][1] if len(setup) > 1 else 0.0}
    if contender.startswith("snapline"):
        result.update(snapline_facts(store))
    elif contender == "kishu":
        result["disk"] = sum(p.stat().st_size for p in tmp.iterdir()
                             if p.name.startswith("analysis.kishudb")) + tree_bytes(tmp / ".kishu")
    return result


def cli(store: Path, *args: str):
    return json.loads(subprocess.run([BIN, "--store", str(store), *args, "--json"], check=True,
                                     capture_output=True, text=True).stdout)


def snapline_facts(store: Path) -> dict:
    run = cli(store, "runs")[-1]
    log = cli(store, "log", run["id"])
    return {"disk": tree_bytes(store), "stored": run.get("bytes_stored"),
            "snapshots": len(log),
            "triggers": {t: sum(r["trigger"] == t for r in log) for t in {r["trigger"]
                                                                          for r in log}},
            "cell_ms": [r["capture_ms"] for r in log if r["trigger"] == "cell"],
            "loop_ms": [r["capture_ms"] for r in log if r["trigger"] == "iteration"],
            "exit_ms": [r["capture_ms"] for r in log if r["trigger"] == "exit"],
            "cell_bytes_new": [r.get("bytes_new") for r in log if r["trigger"] == "cell"]}


def head_agent(tmp: Path, native: Path | None = None) -> Path:
    """git HEAD's snapline package, with this tree's native extension (or
    `native`, one built from HEAD's Rust: `--before-native`)."""
    sys.path.insert(0, str(REPO / "bench"))
    import capture_cost_bench

    return capture_cost_bench.head_agent(tmp, native)


def kishu_python() -> str:
    sys.path.insert(0, str(REPO / "bench"))
    import workloads_bench

    return workloads_bench.notebook_python()


def measure(reps: int, sizes: dict, kishu: bool, before: Path | None = None,
            variants: dict | None = None) -> dict:
    variants = variants or {}
    groups = [[("plain", PYTHON), ("snapline", PYTHON)]]
    if before is not None:
        groups[0].append(("snapline-head", PYTHON))
    groups[0].extend((name, PYTHON) for name in variants)
    if kishu:
        other = kishu_python()
        groups.append([("kishu-plain", other), ("kishu", other)])
    runs: dict = {name: [] for group in groups for name, _ in group}
    for rep in range(reps):
        # Plain first in even repetitions, captured first in odd ones.
        order = [p for group in groups for p in (group if rep % 2 == 0 else group[::-1])]
        for name, python in order:
            with tempfile.TemporaryDirectory(prefix=f"nb-{name}-") as tmp:
                contender = "plain" if name.endswith("plain") else name
                result = run_notebook(python, contender, sizes, Path(tmp),
                                      before if name == "snapline-head" else None,
                                      variants.get(name))
            runs[name].append(result)
            print(f"  rep {rep} {name}: {result['seconds']:.2f} s"
                  + (f", {result['disk'] / 1e6:.1f} MB" if "disk" in result else "")
                  + (" (NO SNAPSHOTS: the agent did not capture; the ratio is not one)"
                     if name.startswith("snapline") and not result.get("snapshots") else ""),
                  file=sys.stderr, flush=True)
    return runs


def summarize(runs: dict) -> dict:
    out: dict = {}
    pairs = [("snapline", "plain"), ("snapline-head", "plain"), ("kishu", "kishu-plain")]
    pairs += [(name, "plain") for name in runs if name.startswith("snapline-env-")]
    for name, plain_name in pairs:
        if name not in runs:
            continue
        base, got = runs[plain_name], runs[name]
        ratios = [g["seconds"] / b["seconds"] for g, b in zip(got, base)]
        with_setup = [(g["seconds"] + g["setup_s"]) / b["seconds"] for g, b in zip(got, base)]
        cells = len(CELLS)
        out[name] = {
            "plain_s": statistics.median(b["seconds"] for b in base),
            "seconds": statistics.median(g["seconds"] for g in got),
            "ratio": statistics.median(ratios), "ratios": ratios,
            "ratio_with_setup": statistics.median(with_setup),
            "setup_s": statistics.median(g["setup_s"] for g in got),
            "disk_mb": statistics.median(g["disk"] for g in got) / 1e6,
            "cells_plain_s": [statistics.median(b["cells_s"][i] for b in base)
                              for i in range(cells)],
            "cells_s": [statistics.median(g["cells_s"][i] for g in got) for i in range(cells)],
        }
        if name.startswith("snapline"):
            first = got[0]
            out[name].update({k: first[k] for k in ("snapshots", "triggers", "cell_ms", "loop_ms",
                                                   "exit_ms", "cell_bytes_new", "stored")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mb", type=int, default=32, help="MB of the array and of the DataFrame")
    parser.add_argument("--docs", type=int, default=20000, help="texts of the vocabulary cell")
    parser.add_argument("--kishu", action="store_true", help="also Kishu, in .venv-bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one rep; print only")
    parser.add_argument("--before", action="store_true",
                        help="also git HEAD's agent (snapline-head), in the same repetitions")
    parser.add_argument("--attribute", action="store_true",
                        help="only the CPU time per cell with parts of the agent switched off "
                             "(in-process IPython); JSON to bench/out/notebook_cost_attribution.json")
    parser.add_argument("--before-native", type=Path, metavar="SO",
                        help="with --before: this _native*.so in HEAD's package (one built from "
                             "HEAD's Rust), not this tree's")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="also this tree's agent with these environment variables in the "
                             "kernel (snapline-env-NAME), e.g. nice0:SNAPLINE_WRITER_NICE=0")
    ns = parser.parse_args()
    variants = {}
    for spec in ns.variant:
        name, _, assignments = spec.partition(":")
        pairs = [a.split("=", 1) for a in assignments.split(",") if a]
        if not name or not pairs or any(len(p) != 2 for p in pairs):
            parser.error(f"--variant {spec!r}: give NAME:VAR=VALUE[,VAR=VALUE]")
        variants[f"snapline-env-{name}"] = dict(pairs)
    sizes = {"mb": 1, "docs": 200} if ns.smoke else {"mb": ns.mb, "docs": ns.docs}
    if ns.attribute:
        with tempfile.TemporaryDirectory(prefix="nb-head-") as tmp:
            before = head_agent(Path(tmp), ns.before_native) if ns.before else None
            found = attribute(1 if ns.smoke else ns.reps, sizes, before)
        if not ns.smoke:
            OUT.with_name("notebook_cost_attribution.json").write_text(json.dumps(found, indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="nb-head-") as tmp:
        before = head_agent(Path(tmp), ns.before_native) if ns.before else None
        runs = measure(1 if ns.smoke else ns.reps, sizes, ns.kishu, before, variants)
    result = {"sizes": sizes, "summary": summarize(runs), "runs": runs}
    if ns.smoke:
        snap = result["summary"]["snapline"]
        # One snapshot per cell, the `%load_ext` cell's included.
        if not snap["disk_mb"] or snap["triggers"].get("cell") != len(CELLS) + 1:
            raise SystemExit(f"smoke: expected {len(CELLS) + 1} cell snapshots and a store, got "
                             f"{snap['triggers']} and {snap['disk_mb']:.1f} MB")
    else:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(result, indent=1))
    json.dump(result["summary"], sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
