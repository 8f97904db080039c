"""Issue #16: what capture costs when little changes, side by side in one run.

- growing: a loop that appends to a list and a dict 3000 times (a vocabulary
  built from sentences), plain and captured: the default (budget 2%), the
  hooks alone (no loop or statement snapshots), every iteration
  (`--outer-every 0`, the budget out of play); with `--before` each of
  these with the agent of git HEAD too (the store size the old
  representation gives, the per-iteration hook cost before issue #16's
  plain loop copies);
- hooks: the hook cost per iteration, timed inside the script, on an inner
  loop that stays instrumented, the outermost loop at the default rate
  (budget), and a short loop entered 200,000 times (plain copies);
- unchanged: per-snapshot latency with nothing changed, 100 variables
  (numbers, strings, small configs and lists, 15 float32 arrays), 300 loop
  snapshots: capture_ms distribution, this tree against git HEAD;
- torch: examples/torch_classifier.py at default settings, plain and
  captured (and by HEAD's agent with `--before`): wall and CPU ratios;
- table: a table of 20,000 rows of 8 floats (Python's, then numpy's),
  as a CSV reader or `list(array)` makes them, then five statements that
  change nothing: capture_ms of the table's first snapshot and median of
  the unchanged ones, this tree against git HEAD (`--before`; the change
  is in the native extension, so give HEAD's with `--before-native`);
- startup: a one-line script run 20 times (a new store each run): what
  `snapline run` adds before and after the program; and a project of a
  script and four modules of 1,300 lines each (functions with loops), with
  the code cache cold (an empty one at each run) and warm; and a four-line
  numpy script (a Generator and an array).

The HEAD agent is `git archive HEAD capture-agent/python` unpacked into a
temporary directory and put first on PYTHONPATH (with this tree's native
extension, which still offers what it calls). `SNAPLINE_BENCH_BEFORE=REF`
takes the agent of another commit instead (every bench's `--before`).

    .venv/bin/python bench/capture_cost_bench.py [--reps 3] [--before] [--only growing|hooks|unchanged|torch|startup|table]
    .venv/bin/python bench/capture_cost_bench.py --before --before-native /tmp/head/_native.abi3.so
        # HEAD's agent with an extension built from HEAD's Rust (`git worktree add`, then
        # `cargo build --release -p snapline-agent --lib` there: target/release/lib_native.so)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


# The hooks' cost per iteration, timed inside the script (start-up left
# out): {"us": ...} printed on the last line. `--outer-every 3600
# --no-statements` keeps snapshots out.
HOOK_LOOPS = {
    # An inner loop that stays instrumented (long runs).
    "inner_long": """
        import json, time
        t = time.perf_counter()
        for epoch in range(3):
            for i in range(300000):
                pass
        print(json.dumps({"us": (time.perf_counter() - t) / 900000 * 1e6}))
    """,
    # The outermost loop, at the default rate (every iteration due, the
    # budget deciding): snapshots included.
    "outer_default": """
        import json, time
        t = time.perf_counter()
        for i in range(600000):
            pass
        print(json.dumps({"us": (time.perf_counter() - t) / 600000 * 1e6}))
    """,
    # A function whose short loop is entered 200,000 times (plain copies).
    "short_calls": """
        import json, time

        def first_even(xs):
            for x in xs:
                if x % 2 == 0:
                    return x
            return None

        row = [1, 3, 5, 8]
        t = time.perf_counter()
        for step in range(200000):
            first_even(row)
        print(json.dumps({"us": (time.perf_counter() - t) / 200000 * 1e6}))
    """,
}


def hook_cost(tmp: Path, reps: int, before: Path | None) -> dict:
    """µs per iteration (per call for short_calls): plain, this tree, HEAD."""
    out: dict = {}
    for name, source in HOOK_LOOPS.items():
        script = tmp / f"{name}.py"
        script.write_text(textwrap.dedent(source).lstrip())
        opts = [] if name == "outer_default" else ["--outer-every", "3600", "--no-statements"]
        agents = [("after", None)] + ([("before", before)] if before is not None else [])
        rows: dict = {"plain": []}
        for _ in range(reps):
            rows["plain"].append(_us([PYTHON, script], None))
            for label, agent in agents:
                store = tmp / f"{name}-{label}"
                rows.setdefault(label, []).append(
                    _us([PYTHON, "-m", "snapline", "run", "--store", store, *opts, script], agent))
                shutil.rmtree(store)
        out[name] = {label: statistics.median(v) for label, v in rows.items()}
    return out


def _us(cmd: list, before: Path | None) -> float:
    done = subprocess.run([str(c) for c in cmd], env=env(before), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed: {done.stderr[-2000:]}")
    return float(json.loads(done.stdout.splitlines()[-1])["us"])


def env(before: Path | None) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    out.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"})
    out.pop("PYTHONPATH", None)
    # Byte-compiled modules cached as for any user (a development shell
    # may turn that off: every run would compile the agent again).
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    if before is not None:
        out["PYTHONPATH"] = str(before)
    return out


def timed_cpu(cmd: list, before: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of a command: CPU is user + sys of the process
    and its threads (the machine is shared: CPU moves less with the load)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(cmd, before)
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


def timed(cmd: list, before: Path | None = None, extra: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in cmd], env={**env(before), **(extra or {})},
                          capture_output=True, text=True, check=False)
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


def head_agent(tmp: Path, native: Path | None = None) -> Path:
    """git HEAD's snapline package (or that of the commit
    `$SNAPLINE_BENCH_BEFORE` names), with this tree's native extension (or
    `native`)."""
    target = tmp / "head"
    target.mkdir()
    ref = os.environ.get("SNAPLINE_BENCH_BEFORE", "HEAD")
    archive = subprocess.run(["git", "-C", REPO, "archive", ref, "capture-agent/python"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    package = target / "capture-agent" / "python"
    for so in (REPO / "capture-agent" / "python" / "snapline").glob("_native*.so"):
        shutil.copy(native or so, package / "snapline" / so.name)
    return package


TABLE = """
    import random
    {make}
    rows = [{row} for _ in range(20000)]
    step = 1
    step = 2
    step = 3
    step = 4
    step = 5
"""


def table(tmp: Path, reps: int, before: Path | None) -> dict:
    """capture_ms of a table's first snapshot, and the median of the five
    unchanged ones after it (statement snapshots), per agent and item type."""
    kinds = {"floats": ("random.seed(0)", "[random.random() for _ in range(8)]"),
             "numpy": ("import numpy as np\n    rng = np.random.default_rng(0)",
                       "list(rng.random(8))")}
    out: dict = {}
    for kind, (make, row) in kinds.items():
        script = tmp / f"table_{kind}.py"
        script.write_text(textwrap.dedent(TABLE.format(make=make, row=row)).lstrip())
        line = next(n for n, text in enumerate(script.read_text().splitlines(), 1)
                    if text.startswith("rows ="))
        for name, agent in (("after", None), ("before", before)):
            if name == "before" and agent is None:
                continue
            firsts, unchanged = [], []
            for rep in range(reps):
                store = tmp / f"table-{kind}-{name}-{rep}"
                timed([PYTHON, "-m", "snapline", "run", "--store", store, script], agent)
                log = json.loads(subprocess.run([BIN, "--store", store, "log", "last", "--json"],
                                                check=True, capture_output=True, text=True).stdout)
                firsts += [r["capture_ms"] for r in log if r["line"] == line]
                unchanged += [r["capture_ms"] for r in log if (r["line"] or 0) > line]
                shutil.rmtree(store)
            out[f"{kind}_{name}"] = {"first_ms": statistics.median(firsts),
                                     "unchanged_ms": statistics.median(unchanged)}
            print(f"  table {kind} {name}: first {out[f'{kind}_{name}']['first_ms']:.1f} ms, "
                  f"unchanged {out[f'{kind}_{name}']['unchanged_ms']:.1f} ms",
                  file=sys.stderr, flush=True)
    return out


def growing(tmp: Path, reps: int, before: Path | None) -> dict:
    script = tmp / "growing.py"
    script.write_text(textwrap.dedent(GROWING).lstrip())
    # hooks: no loop or statement snapshots, what the hooks alone cost.
    hooks = ["--outer-every", "3600", "--no-statements"]
    variants = [("default", [], None), ("hooks", hooks, None),
                ("every", ["--outer-every", "0"], None)]
    if before is not None:
        variants += [("default_head", [], before), ("hooks_head", hooks, before),
                     ("every_head", ["--outer-every", "0"], before)]
    rows: dict = {"plain": [], **{name: [] for name, _, _ in variants}}
    facts: dict = {}
    for rep in range(reps):
        rows["plain"].append(timed_cpu([PYTHON, script]))
        for name, opts, agent in variants:
            store = tmp / f"{name}-{rep}"
            rows[name].append(timed_cpu([PYTHON, "-m", "snapline", "run", "--store", store,
                                         *opts, script], agent))
            facts[name] = store_facts(store)
            shutil.rmtree(store)
    out = {}
    for name, times in rows.items():
        if not times:
            continue
        # Wall and CPU (user + sys, threads included: it moves less with
        # the shared machine's load) ratios to the plain run of the same rep.
        ratio = [t / p for (t, _), (p, _) in zip(times, rows["plain"])]
        cpu_ratio = [c / p for (_, c), (_, p) in zip(times, rows["plain"])]
        f = facts.get(name, {})
        out[name] = {"seconds": statistics.median(t for t, _ in times),
                     "ratio": statistics.median(ratio),
                     "cpu_ratio": statistics.median(cpu_ratio),
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


def torch_example(tmp: Path, reps: int, before: Path | None = None) -> dict | None:
    """Plain, captured (and with `--before`, captured by HEAD's agent),
    interleaved: median wall and CPU (user + sys, the writer thread's
    included) ratios against the plain run of the same rep."""
    try:
        subprocess.run([PYTHON, "-c", "import torch"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return None
    script = REPO / "examples" / "torch_classifier.py"
    args = ["--epochs", "5", "--samples", "65536"]
    agents = [("after", None)] + ([("before", before)] if before is not None else [])
    rows: dict = {"plain": [], **{label: [] for label, _ in agents}}
    for rep in range(reps):
        rows["plain"].append(timed_cpu([PYTHON, script, *args]))
        for label, agent in agents:
            store = tmp / f"torch-{label}-{rep}"
            rows[label].append(timed_cpu([PYTHON, "-m", "snapline", "run", "--store", store,
                                          script, *args], agent))
            shutil.rmtree(store)
    out: dict = {"plain_s": statistics.median(w for w, _ in rows["plain"]),
                 "plain_cpu_s": statistics.median(c for _, c in rows["plain"])}
    for label, _ in agents:
        pairs = list(zip(rows[label], rows["plain"]))
        out[label] = {"ratio": statistics.median(w / pw for (w, _), (pw, _) in pairs),
                      "cpu_ratio": statistics.median(c / pc for (_, c), (_, pc) in pairs)}
    out["ratio"] = out["after"]["ratio"]
    return out


# A one-line script: what `snapline run` adds before and after the program.
STARTUP = """
    x = 1
"""


def startup(tmp: Path, runs: int, before: Path | None) -> dict:
    """Per run of a one-line script (a new store each time, as a first
    run makes): median wall and CPU ms, plain python, this tree's agent
    and (`--before`) HEAD's, interleaved."""
    script = tmp / "startup.py"
    script.write_text(textwrap.dedent(STARTUP).lstrip())
    agents = [("after", None)] + ([("before", before)] if before is not None else [])
    rows: dict = {"plain": [], **{label: [] for label, _ in agents}}
    for _ in range(runs):
        rows["plain"].append(timed_cpu([PYTHON, script]))
        for label, agent in agents:
            store = tmp / f"startup-{label}"
            rows[label].append(timed_cpu([PYTHON, "-m", "snapline", "run", "--store", store,
                                          script], agent))
            shutil.rmtree(store)
    out: dict = {label: {"wall_ms": statistics.median(w for w, _ in v) * 1000,
                         "cpu_ms": statistics.median(c for _, c in v) * 1000}
                 for label, v in rows.items()}
    out["project"] = project_startup(tmp, runs, before)
    out["numpy"] = numpy_startup(tmp, runs, before)
    probe = subprocess.run([PYTHON, "-c", RECORDER_OPEN, str(tmp / "recorder-open")],
                           env=env(None), check=True, capture_output=True, text=True)
    out["recorder"] = json.loads(probe.stdout)
    return out


NUMPY_START = """
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    m = float(x.mean())
"""


def numpy_startup(tmp: Path, runs: int, before: Path | None) -> dict:
    """A four-line numpy script (a Generator, an array): median wall ms,
    plain, this tree's agent and (`--before`) HEAD's, interleaved; and the
    statement snapshots' summed capture_ms of the last run of each."""
    script = tmp / "numpy_start.py"
    script.write_text(textwrap.dedent(NUMPY_START).lstrip())
    agents = [("after", None)] + ([("before", before)] if before is not None else [])
    rows: dict = {"plain": [], **{label: [] for label, _ in agents}}
    capture: dict = {}
    for _ in range(runs):
        rows["plain"].append(timed([PYTHON, script]))
        for label, agent in agents:
            store = tmp / f"numpy-start-{label}"
            rows[label].append(timed([PYTHON, "-m", "snapline", "run", "--store", store, script],
                                     agent))
            capture[label] = sum(store_facts(store)["capture_ms"])
            shutil.rmtree(store)
    return {**{f"{label}_ms": statistics.median(v) * 1000 for label, v in rows.items()},
            **{f"{label}_capture_ms": ms for label, ms in capture.items()}}


# One function of a project module: a loop, a branch, a comprehension.
PROJECT_FUNCTION = """
def step_{i}(data, scale=1.0):
    '''Scales the positive values; returns the total and the rest.'''
    total = 0.0
    rest = []
    for j, x in enumerate(data):
        if x > 0:
            total += x * scale
        else:
            rest.append(-x)
    while total > 100:
        total /= 2
    return total, [y * 2 for y in rest if y]
"""


def project_startup(tmp: Path, runs: int, before: Path | None) -> dict:
    """A script importing four project modules of 100 functions each:
    median wall ms, plain python (its __pycache__ warm), this tree's agent
    with the code cache cold and warm, and (`--before`) HEAD's."""
    root = tmp / "project"
    root.mkdir()
    names = [f"module_{m}" for m in range(4)]
    for name in names:
        (root / f"{name}.py").write_text("".join(PROJECT_FUNCTION.format(i=i) for i in range(100)))
    script = root / "train.py"
    script.write_text("".join(f"import {n}\n" for n in names)
                      + "print(module_0.step_1([1.0, -2.0, 3.0])[0])\n")
    lines = sum(len((root / f"{n}.py").read_text().splitlines()) for n in names)
    warm = tmp / "code-cache-warm"
    rows: dict = {"plain": [], "cold": [], "warm": [], "before": []}
    for rep in range(runs):
        rows["plain"].append(timed([PYTHON, script]))
        for label, agent, folder in (("cold", None, tmp / f"code-cache-cold-{rep}"),
                                     ("warm", None, warm), ("before", before, warm)):
            if label == "before" and before is None:
                continue
            store = tmp / f"project-{label}"
            rows[label].append(timed([PYTHON, "-m", "snapline", "run", "--store", store, script],
                                     agent, {"SNAPLINE_CODE_CACHE": str(folder)}))
            shutil.rmtree(store)
    return {"module_lines": lines, **{f"{label}_ms": statistics.median(v) * 1000
                                      for label, v in rows.items() if v}}


# Opening the recorder (the Rust store and writer thread) on a new store and
# on an existing one: median ms of 10.
RECORDER_OPEN = """
import json, shutil, statistics, sys, time
from snapline import _native
info = json.dumps({"script": "t.py", "started_at": 0.0, "lineage": {}})
new, existing = [], []
for i in range(10):
    shutil.rmtree(sys.argv[1], ignore_errors=True)
    for times in (new, existing):
        t = time.perf_counter()
        recorder = _native.Recorder(sys.argv[1], info)
        times.append((time.perf_counter() - t) * 1000)
        recorder.finish("finished", 0.0)
print(json.dumps({"new_store_ms": statistics.median(new),
                  "existing_store_ms": statistics.median(existing)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="also run git HEAD's agent (every-iteration store, latency)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--only",
                        choices=["growing", "hooks", "unchanged", "torch", "startup", "table"],
                        help="run this case alone (the others are left out of the JSON)")
    parser.add_argument("--before-native", type=Path,
                        help="the native extension HEAD's agent runs with (default: this tree's)")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        before = head_agent(tmp, ns.before_native) if ns.before else None
        result = {}
        if ns.only in (None, "growing"):
            result["growing"] = growing(tmp, ns.reps, before)
        if ns.only in (None, "hooks"):
            result["hooks"] = hook_cost(tmp, ns.reps, before)
        if ns.only in (None, "unchanged"):
            result["unchanged"] = unchanged(tmp, before)
        if ns.only is None:
            result["changed_weights"] = changed_weights(tmp, before)
        if ns.only in (None, "torch") and not ns.no_torch:
            result["torch"] = torch_example(tmp, ns.reps, before)
        if ns.only in (None, "startup"):
            result["startup"] = startup(tmp, 20, before)
        if ns.only in (None, "table"):
            result["table"] = table(tmp, ns.reps, before)
    out = OUT.with_name(f"capture_cost_bench_{ns.only}.json") if ns.only else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
