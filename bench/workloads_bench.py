"""Snapline against what people use instead, on the seed workloads (issue #7).

    .venv/bin/python bench/workloads_bench.py                 # everything, 3 reps (~50 min)
    .venv/bin/python bench/workloads_bench.py --only pytorch_mnist --reps 5
    .venv/bin/python bench/workloads_bench.py --smoke         # tiny sizes, 1 rep (the test command)
    .venv/bin/python bench/workloads_bench.py --report        # RESULTS.md section from saved JSON
    .venv/bin/python bench/workloads_bench.py --reps 1 --contender snapline-10s
        # baseline and one contender only (issue #16's "per 10 s" figure); its
        # JSON goes to bench/out/workloads-subset/, the report is left alone

Each workload (bench/workloads/) runs under every contender, interleaved in
each repetition (the order rotates from one repetition to the next):

* `baseline`: no capture;
* `snapline-10s`: `python -m snapline run --no-statements --inner-every 10
  --outer-every 10` (at most one snapshot per 10 s, the paper's setting);
* `snapline-epoch`: `--no-statements --inner-every 1e9` (each iteration of
  the outermost loop, the epoch);
* `dill-var`: per-variable dill every 10 s, only the variables whose bytes
  changed (the paper's approach; bench/workloads/contenders.py);
* `dump-session`: `dill.dump_session` every 10 s;
* `torch-save`: the script's own `torch.save` of model and optimizer each
  epoch (torch workloads);
* on the notebook, run cell by cell in a real kernel: `snapline`
  (`%load_ext snapline`, a snapshot per cell), `kishu` (`init_kishu`, a
  commit per cell), `dill-var` and `dump-session` after each cell.

Reported per workload and contender: wall-time ratio to the baseline of the
same repetition (median, min, max), bytes on disk in total and per
snapshot, capture latency (median, p99), the longest pause the loop saw
beyond a usual iteration, restore time of the last and of a middle snapshot
against re-running to that point, and the store's growth over the run (a
PNG drawn by the `growth_plot` binary with plotters). Raw figures go to
bench/out/workloads/NAME.json; `--report` (run at the end of a full run)
rewrites the "Issue #7" section of bench/RESULTS.md from them.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupyter_kernel

REPO = Path(__file__).resolve().parent.parent
WORKLOADS_DIR = REPO / "bench" / "workloads"
OUT = REPO / "bench" / "out" / "workloads"
PLOTS = REPO / "bench" / "plots"
RESULTS = REPO / "bench" / "RESULTS.md"
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
SNAPLINE = str(REPO / ".venv" / "bin" / "snapline")
NOTEBOOK_VENV = REPO / ".venv-bench"
# Every contender computes on one thread (the house rule for torch, and the
# same for numpy, scikit-learn and OpenMP): the writer thread of Snapline's
# agent gets the second core, as a background thread would on a laptop.
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Seconds between the time-based saves (0 in smoke mode: every safe point).
EVERY = 10.0


def snapline_settings(contender: str) -> list:
    if contender == "snapline-10s":
        return ["--no-statements", "--inner-every", str(EVERY), "--outer-every", str(EVERY)]
    return ["--no-statements", "--inner-every", "1e9"]


@dataclass
class Workload:
    script: str
    full: list
    smoke: list
    torch: bool = False
    # The paper's figures: overhead (%) and MB per snapshot (Chockchowwat et al., DEEM 2023).
    paper: tuple | None = None
    contenders: list = field(default_factory=list)

    def __post_init__(self):
        if not self.contenders:
            self.contenders = ["baseline", "snapline-10s", "snapline-epoch", "dill-var",
                               "dump-session"] + (["torch-save"] if self.torch else [])


WORKLOADS = {
    "skl_kmeans": Workload("skl_kmeans.py", ["--epochs", "10"],
                           ["--samples", "3000", "--blobs", "10", "--epochs", "2", "--iters", "2"],
                           paper=(1.5, 107.6)),
    "skl_tsne": Workload("skl_tsne.py", ["--samples", "2000", "--perplexities", "5,15,30,50"],
                         ["--samples", "120", "--side", "6", "--perplexities", "5,10"],
                         paper=(10.5, 146.2)),
    "pytorch_mnist": Workload("pytorch_mnist.py", ["--samples", "3200"],
                              ["--samples", "128", "--epochs", "2"], torch=True,
                              paper=(1.9, 24.0)),
    "pytorch_dcgan": Workload("pytorch_dcgan.py", ["--samples", "256"],
                              ["--samples", "8", "--epochs", "2", "--batch-size", "4"], torch=True,
                              paper=(15.6, 238.2)),
    "finetune_frozen": Workload("finetune_frozen.py", ["--epochs", "4"],
                                ["--samples", "256", "--epochs", "2", "--width", "128"],
                                torch=True),
    "notebook": Workload("notebook_cells.py", ["200000"], ["2000"],
                         contenders=["baseline", "snapline", "kishu", "dill-var", "dump-session"]),
}


def percentile(values: list, q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cli_json(store: Path, *args: str):
    out = subprocess.run([SNAPLINE, "--store", str(store), *args, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def timed(cmd: list, env: dict, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    return seconds


# --- scripts -----------------------------------------------------------------------

def run_script(work: Workload, contender: str, args: list, tmp: Path) -> dict:
    """One run of a script workload under one contender."""
    script = str(WORKLOADS_DIR / work.script)
    stats = tmp / "stats.json"
    save_dir = tmp / "saved"
    store = tmp / "store"
    env = {**os.environ, **THREADS, "BENCH_STATS": str(stats)}
    cmd = [PYTHON, script, *args]
    if contender.startswith("snapline"):
        cmd = [PYTHON, "-m", "snapline", "run", "--store", str(store),
               *snapline_settings(contender), script, *args]
    elif contender in ("dill-var", "dump-session"):
        env.update(BENCH_CONTENDER=contender, BENCH_SAVE_DIR=str(save_dir), BENCH_EVERY=str(EVERY))
    elif contender == "torch-save":
        save_dir.mkdir()
        cmd += ["--save-dir", str(save_dir)]
    seconds = timed(cmd, env)
    report = json.loads(stats.read_text())
    result = {"seconds": seconds}
    if contender.startswith("snapline"):
        result.update(snapline_figures(store))
    elif contender != "baseline":
        saves = report["saves"]
        result.update(saved_figures(saves, tree_bytes(save_dir) if save_dir.exists() else 0))
        if report.get("skipped"):
            result["skipped"] = report["skipped"]
    return result


def snapline_figures(store: Path) -> dict:
    """Snapshots, latency and on-disk growth of the run in `store`. Each chunk
    file is counted at the snapshot it was written for (its mtime against the
    snapshots' times; the writer thread lands them just after), the catalog
    at the first."""
    run = cli_json(store, "runs")[0]
    log = cli_json(store, "log", run["id"])
    start = run["started_at"]
    at = [row["time"] - start for row in log]
    per_snapshot = [0] * len(log)
    catalog = 0
    for path in store.rglob("*"):
        if not path.is_file():
            continue
        info = path.stat()
        if path.name.startswith("catalog"):
            catalog += info.st_size
            continue
        k = bisect.bisect_right(at, info.st_mtime - start) - 1
        per_snapshot[max(0, min(k, len(log) - 1))] += info.st_size
    if per_snapshot:
        per_snapshot[0] += catalog
    growth, total = [[0.0, 0.0]], 0
    for t, nbytes in zip(at, per_snapshot):
        total += nbytes
        growth.append([t, total / 1e6])
    return {"snapshots": len(log), "bytes": tree_bytes(store),
            "latency_s": [row["capture_ms"] / 1000 for row in log], "growth": growth,
            "run": run["id"], "at": at}


def saved_figures(saves: list, on_disk: int) -> dict:
    """Figures of a contender's saves; a save dill refused keeps nothing and
    is counted apart (`failed`)."""
    kept = [s for s in saves if not s.get("failed")]
    growth, total = [[0.0, 0.0]], 0
    for save in kept:
        total += save["bytes"]
        growth.append([save["t"], total / 1e6])
    return {"snapshots": len(kept), "failed": len(saves) - len(kept), "bytes": on_disk,
            "growth": growth, "latency_s": [s["seconds"] for s in saves],
            "at": [s["t"] for s in kept], "indices": [s.get("index", k) for k, s in
                                                      enumerate(kept)]}


def restore_times(contender: str, result: dict, tmp: Path) -> dict:
    """Seconds to bring back the last and a middle snapshot, in a fresh process,
    against the seconds the run took to get there."""
    count = result.get("snapshots", 0)
    if count == 0:
        return {}
    env = {**os.environ, **THREADS}
    picks = {"last": count - 1, "middle": (count - 1) // 2}
    out = {}
    for which, index in picks.items():
        if contender.startswith("snapline"):
            seconds = timed([PYTHON, "-m", "snapline", "restore", "--store", str(tmp / "store"),
                             f"{result['run']}@{index}", "-c", "pass"], env)
        else:
            seconds = timed([PYTHON, str(WORKLOADS_DIR / "contenders.py"), "restore", contender,
                             str(tmp / "saved"), str(result["indices"][index])], env)
        out[which] = {"restore_s": seconds, "rerun_s": result["at"][index]}
    return out


def verify_snapline(store: Path, run: str) -> bool:
    """Every chunk of every snapshot read back and checked against its hash."""
    return subprocess.run([SNAPLINE, "--store", str(store), "log", run, "--verify"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


# --- notebook ----------------------------------------------------------------------

NOTEBOOK_PACKAGES = ["kishu", "dill", "scikit-learn", "pandas", "ipykernel", "jupyter_client",
                     "nbformat"]


def notebook_python() -> str:
    """A venv of its own for the notebook: Kishu pins and pulls packages the
    test venv should not carry. The snapline wheel is installed beside it."""
    python = NOTEBOOK_VENV / "bin" / "python"
    marker = NOTEBOOK_VENV / ".ready"
    wheels = sorted((REPO / "target" / "wheels").glob("snapline-*.whl"))
    if not wheels:
        raise SystemExit("no snapline wheel in target/wheels: run scripts/setup.sh first")
    stamp = f"{wheels[-1].name} {wheels[-1].stat().st_mtime}"
    if marker.exists() and marker.read_text() == stamp:
        return str(python)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(NOTEBOOK_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *NOTEBOOK_PACKAGES], check=True)
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheels[-1])], check=True)
    marker.write_text(stamp)
    return str(python)


def notebook_cells() -> list:
    source = (WORKLOADS_DIR / "notebook_cells.py").read_text()
    return [c.strip() for c in re.split(r"^# %%\s*$", source, flags=re.MULTILINE)[1:] if c.strip()]


# dill after each cell, as the contenders do every 10 s in the scripts.
DILL_HOOK = r'''
import json, sys, time
sys.path.insert(0, {workloads!r})
import contenders as _bench_contenders
_bench_saver = _bench_contenders.make({kind!r}, {save_dir!r})
_bench_saves = []
def _bench_after_cell(result):
    ns = {{k: v for k, v in get_ipython().user_ns.items()
           if not k.startswith("_") and k not in ("In", "Out", "get_ipython", "exit", "quit")}}
    t = time.perf_counter()
    n = _bench_saver.save(ns) if {kind!r} == "dill-var" else _bench_saver.save(None)
    _bench_saves.append({{"t": time.perf_counter(), "seconds": time.perf_counter() - t, "bytes": n}})
    json.dump(_bench_saves, open({saves!r}, "w"))
get_ipython().events.register("post_run_cell", _bench_after_cell)
'''


def run_notebook(work: Workload, contender: str, args: list, tmp: Path) -> dict:
    python = notebook_python()
    notebook = tmp / "workload.ipynb"
    store = tmp / "store"
    save_dir = tmp / "saved"
    saves = tmp / "saves.json"
    env = {**THREADS}
    setup = [f"SAMPLES = {int(args[0])}"]
    watch = tmp / "none"
    if contender == "snapline":
        env["SNAPLINE_STORE"] = str(store)
        setup.insert(0, "%load_ext snapline")
        watch = store
    elif contender == "kishu":
        # Kishu's own test mode: the same commits, without asking a browser
        # front end to save the notebook (there is none here).
        env.update(TEST_NOTEBOOK_PATH=str(notebook), HOME=str(tmp))
        setup.insert(0, f"from kishu import init_kishu\ninit_kishu({str(notebook)!r})")
        watch = tmp / "workload.kishudb"
    elif contender in ("dill-var", "dump-session"):
        setup.insert(0, DILL_HOOK.format(workloads=str(WORKLOADS_DIR), kind=contender,
                                         save_dir=str(save_dir), saves=str(saves)))
        watch = save_dir
    spec = {"cells": notebook_cells(), "notebook": str(notebook), "dir": str(tmp), "env": env,
            "setup": setup, "watch": str(watch), "saves": str(saves)}
    report = jupyter_kernel.run_cells(python, spec, cwd=tmp, env={**os.environ, **THREADS},
                                      what=f"notebook under {contender}")
    # Setting up: starting the kernel, then the setup cells.
    result = {"seconds": sum(report["cells_s"]),
              "setup_s": report["start_s"] + sum(report["setup_s"]), "cells_s": report["cells_s"]}
    if contender == "snapline":
        result.update(snapline_figures(store))
        result["growth"] = [[0.0, 0.0], *report["sizes"]]
    elif contender == "kishu":
        kishudb = [p for p in tmp.iterdir() if p.name.startswith("workload.kishudb")]
        result.update({"snapshots": len(report["cells_s"]),
                       "bytes": sum(p.stat().st_size for p in kishudb),
                       "growth": [[0.0, 0.0], *report["sizes"]], "latency_s": []})
    elif contender != "baseline":
        result.update({"snapshots": len(report["saves"]), "bytes": tree_bytes(save_dir),
                       "growth": [[0.0, 0.0], *report["sizes"]],
                       "latency_s": [s["seconds"] for s in report["saves"]]})
    return result


# --- driving -----------------------------------------------------------------------

def measure(name: str, work: Workload, reps: int, smoke: bool,
            only: list | None = None) -> dict:
    args = work.smoke if smoke else work.full
    contenders = [c for c in work.contenders if not only or c == "baseline" or c in only]
    runs: dict = {c: [] for c in contenders}
    for rep in range(reps):
        order = contenders[rep % len(contenders):] + contenders[:rep % len(contenders)]
        for contender in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp_name:
                tmp = Path(tmp_name)
                if name == "notebook":
                    result = run_notebook(work, contender, args, tmp)
                else:
                    result = run_script(work, contender, args, tmp)
                if rep == 0 and contender not in ("baseline", "kishu"):
                    if name != "notebook" or contender == "snapline":
                        result["restore"] = restore_times(contender, result, tmp)
                    if contender.startswith("snapline"):
                        result["verified"] = verify_snapline(tmp / "store", result["run"])
                runs[contender].append(result)
                print(f"  {name} rep {rep} {contender}: {result['seconds']:.2f} s", flush=True)
    return {"workload": name, "args": args, "reps": reps, "runs": runs}


def growth(contender: str, result: dict) -> list:
    """[seconds, MB on disk] after each save; the first point is [0, 0]."""
    return result.get("growth") or []


def summarize(measured: dict) -> dict:
    """Per contender: overhead over the repetitions; the rest from the first."""
    runs = measured["runs"]
    base = [r["seconds"] for r in runs["baseline"]]
    rows = {}
    for contender, results in runs.items():
        ratios = [r["seconds"] / b for r, b in zip(results, base)]
        first = results[0]
        latency = first.get("latency_s", [])
        if contender == "kishu":
            # Kishu keeps no timings: what each cell took beyond the baseline's.
            latency = [max(0.0, k - b) for k, b in
                       zip(first["cells_s"], runs["baseline"][0]["cells_s"])]
        snaps = first.get("snapshots", 0)
        grown = [v for _, v in growth(contender, first)[1:]]
        later = (grown[-1] - grown[0]) * 1e6 / (len(grown) - 1) if len(grown) > 1 else None
        rows[contender] = {
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "seconds_median": statistics.median(r["seconds"] for r in results),
            "snapshots": snaps, "bytes": first.get("bytes", 0),
            "bytes_per_snapshot": first.get("bytes", 0) / snaps if snaps else None,
            "first_bytes": grown[0] * 1e6 if grown else None,
            "later_bytes_per_snapshot": later,
            "latency_median_s": statistics.median(latency) if latency else None,
            "latency_p99_s": percentile(latency, 0.99),
            # The loop stands still while a save runs: the longest save is
            # the longest pause it saw.
            "pause_s": max(latency) if latency else None,
            # The loop's time spent inside saves, over the baseline's run: the
            # overhead a save itself causes, without the machine's noise.
            "save_share": sum(latency) / statistics.median(base) if latency else None,
            "restore": first.get("restore"), "verified": first.get("verified"),
            "skipped": first.get("skipped"), "setup_s": first.get("setup_s"),
            "failed": first.get("failed", 0),
        }
    return rows


def draw_growth(name: str, measured: dict, into: Path) -> Path | None:
    """The store-growth chart of the first repetition, one line per contender."""
    series = [{"name": c, "points": growth(c, rs[0])} for c, rs in measured["runs"].items()
              if rs and any(v for _, v in rs[0].get("growth") or [])]
    if not series:
        return None
    into.mkdir(parents=True, exist_ok=True)
    data = into / f"{name}_growth.json"
    data.write_text(json.dumps({"title": f"{name}: MB stored over the run", "series": series}))
    png = into / f"{name}_growth.png"
    binary = REPO / "target" / "release" / "growth_plot"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "snapline-bench", "--bin",
                        "growth_plot"], cwd=REPO, check=True)
    subprocess.run([str(binary), str(data), str(png)], check=True)
    return png


def mb(n) -> str:
    return "-" if n is None else f"{n / 1e6:,.1f}"


def ms(s) -> str:
    return "-" if s is None else f"{s * 1000:,.0f}"


def pct(row: dict | None) -> str:
    """Overhead: the median, the range, and in square brackets the share of
    the run spent inside saves (where the contender times them)."""
    if not row:
        return "-"
    share = row.get("save_share")
    return (f"{100 * (row['ratio_median'] - 1):+.1f}% "
            f"({100 * (row['ratio_min'] - 1):+.1f}..{100 * (row['ratio_max'] - 1):+.1f})"
            + (f" [{100 * share:.2f}%]" if share is not None else ""))


def per_snapshot(row: dict | None) -> str:
    """MB per snapshot on disk, and in brackets MB per snapshot after the first."""
    if not row:
        return "-"
    if not row["snapshots"]:
        return "refused" if row.get("failed") else "-"
    later = row.get("later_bytes_per_snapshot")
    return mb(row["bytes_per_snapshot"]) + (f" ({mb(later)})" if later is not None else "")


def share(row: dict) -> str:
    return "-" if row.get("save_share") is None else f"{100 * row['save_share']:.2f}%"


def times(row: dict | None, base: dict | None, key: str) -> str:
    """How many times what `base` stores `row` stores, on `key` (a dash where
    either is zero: small objects live in Snapline's catalog, which is
    counted with the first snapshot)."""
    if not row or not base or not row.get(key) or not base.get(key) or base[key] < 5e4:
        return "-"
    return f"{row[key] / base[key]:.1f}x"


def summary_tables() -> list:
    """Overhead and storage of every workload on two tables, the paper beside."""
    over = [("Wall-time overhead against no capture: the median of the repetitions' "
             "ratios, (min..max), and [the share of the run the loop spent inside saves, "
             "from the first repetition]:"), "",
            ("| workload | Snapline, 10 s | Snapline, per epoch | dill per variable, 10 s | "
             "dump_session, 10 s | torch.save per epoch | Kishu per cell | paper |"),
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    store = ["", ("Megabytes on disk per snapshot (the total over the snapshots; in brackets, "
                  "per snapshot after the first, which holds the data set), and how many times "
                  "what Snapline stores the contender stores (per snapshot / after the first):"),
             "",
             ("| workload | Snapline | dill per variable | dill ÷ Snapline | dump_session | "
              "torch.save | Kishu | Kishu ÷ Snapline | paper |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, work in WORKLOADS.items():
        path = OUT / f"{name}.json"
        if not path.exists():
            continue
        rows = summarize(json.loads(path.read_text()))
        snap = rows.get("snapline-10s") or rows.get("snapline")
        paper_over = f"{work.paper[0]}%" if work.paper else "-"
        paper_mb = f"{work.paper[1]}" if work.paper else "-"

        def ratios(other: str, rows=rows, snap=snap) -> str:
            row = rows.get(other)
            if not row:
                return "-"
            return (f"{times(row, snap, 'bytes_per_snapshot')} / "
                    f"{times(row, snap, 'later_bytes_per_snapshot')}")

        over.append(f"| {name} | {pct(snap)} | {pct(rows.get('snapline-epoch'))} | "
                    f"{pct(rows.get('dill-var'))} | {pct(rows.get('dump-session'))} | "
                    f"{pct(rows.get('torch-save'))} | {pct(rows.get('kishu'))} | {paper_over} |")
        store.append(f"| {name} | {per_snapshot(snap)} | {per_snapshot(rows.get('dill-var'))} | "
                     f"{ratios('dill-var')} | {per_snapshot(rows.get('dump-session'))} | "
                     f"{per_snapshot(rows.get('torch-save'))} | {per_snapshot(rows.get('kishu'))} | "
                     f"{ratios('kishu')} | {paper_mb} |")
    return over + store


def report_section() -> str:
    lines = ["## Issue #7: side by side with dill, Kishu and manual checkpoints", "",
             ("Command (about an hour; raw JSON in `bench/out/workloads/`, plots in "
             "`bench/plots/`; `--report` rewrites this section from the JSON):"), "",
             "```sh", ".venv/bin/python bench/workloads_bench.py --reps 3", "```", "",
             *summary_tables(), ""]
    for name, work in WORKLOADS.items():
        path = OUT / f"{name}.json"
        if not path.exists():
            continue
        measured = json.loads(path.read_text())
        rows = summarize(measured)
        base = rows["baseline"]["seconds_median"]
        lines += [f"### {name}", "",
                  (f"`{work.script} {' '.join(measured['args'])}`, baseline {base:.1f} s "
                   f"(median of {measured['reps']})."), "",
                  ("| contender | overhead (median) | min | max | snapshots | MB stored | "
                   "MB per snapshot (after the first) | latency median ms | p99 ms | "
                   "longest pause ms | in saves | "
                   "restore last / middle s | re-run to there s |"),
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for contender, row in rows.items():
            if contender == "baseline":
                continue
            restore = row["restore"] or {}
            rs = " / ".join(f"{restore[k]['restore_s']:.2f}" for k in ("last", "middle")
                            if k in restore) or "-"
            rerun = " / ".join(f"{restore[k]['rerun_s']:.1f}" for k in ("last", "middle")
                               if k in restore) or "-"
            lines.append(
                f"| {contender} | {100 * (row['ratio_median'] - 1):+.1f}% | "
                f"{100 * (row['ratio_min'] - 1):+.1f}% | {100 * (row['ratio_max'] - 1):+.1f}% | "
                f"{row['snapshots']} | {mb(row['bytes'])} | {per_snapshot(row)} | "
                f"{ms(row['latency_median_s'])} | {ms(row['latency_p99_s'])} | "
                f"{ms(row['pause_s'])} | {share(row)} | {rs} | {rerun} |")
        if draw_growth(name, measured, PLOTS):
            (PLOTS / f"{name}_growth.json").unlink()
            lines += ["", f"![{name}: MB stored over the run](plots/{name}_growth.png)"]
        lines.append("")
    return "\n".join(lines)


def write_report() -> None:
    section = report_section()
    text = RESULTS.read_text()
    start = text.find("## Issue #7")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one rep; print only")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", action="append", choices=list(WORKLOADS),
                        help="one workload (repeat for several)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite RESULTS.md from bench/out/workloads/*.json")
    parser.add_argument("--contender", action="append",
                        choices=sorted({c for w in WORKLOADS.values() for c in w.contenders}
                                       - {"baseline"}),
                        help="only this contender beside the baseline (repeat for several); "
                             "JSON to bench/out/workloads-subset/, RESULTS.md left alone")
    args = parser.parse_args()
    if args.report:
        write_report()
        return
    reps = 1 if args.smoke else args.reps
    if args.smoke:
        global EVERY
        EVERY = 0.0
    names = args.only or list(WORKLOADS)
    if args.contender:
        names = [n for n in names if set(args.contender) & set(WORKLOADS[n].contenders)]
    for name in names:
        print(f"{name}:", flush=True)
        measured = measure(name, WORKLOADS[name], reps, args.smoke, args.contender)
        rows = summarize(measured)
        if args.smoke:
            problems = [f"{c}: nothing stored" for c, r in rows.items()
                        if c != "baseline" and not r["bytes"] and not r["failed"]]
            problems += [f"{c}: a snapshot does not verify" for c, r in rows.items()
                         if r["verified"] is False]
            if problems:
                raise SystemExit(f"{name}: " + "; ".join(problems))
            with tempfile.TemporaryDirectory() as drawn:
                if not draw_growth(name, measured, Path(drawn)):
                    raise SystemExit(f"{name}: no growth to draw")
            continue
        out = OUT.with_name("workloads-subset") if args.contender else OUT
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(measured, indent=1))
        if args.contender:
            print_shares(name, rows)
    if not args.smoke and not args.only and not args.contender:
        write_report()


def print_shares(name: str, rows: dict) -> None:
    """One line per contender: the wall ratio, snapshots, and the share of
    the run spent inside saves (per 10 s of the baseline's run)."""
    base = rows["baseline"]["seconds_median"]
    for contender, row in rows.items():
        if contender == "baseline":
            continue
        print(f"  {name} {contender}: baseline {base:.1f} s, ratio {row['ratio_median']:.3f}, "
              f"{row['snapshots']} snapshots, latency median {ms(row['latency_median_s'])} ms, "
              f"in saves {share(row)} ({10_000 * (row['save_share'] or 0):.0f} ms per 10 s of "
              "run)", flush=True)


if __name__ == "__main__":
    main()
