"""Runs a notebook's cells in a real Jupyter kernel and times each one: the
kernel driver of bench/notebook_cost_bench.py and bench/workloads_bench.py.

The driver runs in the Python whose kernel is measured (a venv with
jupyter_client and ipykernel; Kishu's lives in `.venv-bench`), so this file
is both a module the benches import (`run_cells`) and the script that
`run_cells` starts with that Python. It needs the standard library and
jupyter_client only.

The spec (JSON, the script's one argument):
- `cells`: the notebook's code cells, each one execute request, timed;
- `setup`: cells run first, timed apart (`%load_ext snapline`, Kishu's init);
  errors in them are not the workload's;
- `notebook`: where the cells are written as an .ipynb (Kishu reads it);
- `dir`: the kernel's working directory (its kernelspec and connection file
  go there too); `env`: added to the kernel's environment;
- `watch` (optional): a directory, or a file with journals beside it, whose
  size is recorded after each cell; `saves` (optional): a JSON file a setup
  cell writes, returned as is.

The report: `start_s` (starting the kernel until it answers), `setup_s` and
`cells_s` (seconds per cell), `sizes` ([seconds since the first cell, MB]
per cell, with `watch`), `saves`, `shutdown_s` (a kernel under Snapline
takes its last snapshot at exit), `errors`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run_cells(python: str, spec: dict, *, cwd: Path, env: dict, what: str,
              timeout: float | None = None) -> dict:
    """The driver's report for `spec` under `python`; exits naming `what`
    (e.g. "the notebook under snapline") when the kernel or a cell failed."""
    done = subprocess.run([python, __file__, json.dumps(spec)], capture_output=True, text=True,
                          check=False, cwd=cwd, env=env, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["errors"]:
        raise SystemExit(f"{what}: a cell failed: {report['errors'][0]}")
    return report


def write_notebook(path: str, cells: list) -> None:
    """nbformat 4 written by hand: the test venv has no nbformat."""
    code = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
             "outputs": [], "source": c} for i, c in enumerate(cells)]
    with open(path, "w") as f:
        json.dump({"cells": code, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f)


def megabytes(watch: str) -> float:
    """A directory's size, or a file's with its journals beside it."""
    if os.path.isdir(watch):
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(watch) for f in fs)
    else:
        folder, name = os.path.split(watch)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                   if f.startswith(name))
    return size / 1e6


def drive(spec: dict) -> dict:
    """Starts a kernel of this Python, runs the setup cells then the cells."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    write_notebook(spec["notebook"], spec["cells"])
    kernels = os.path.join(spec["dir"], "kernels", "bench")
    os.makedirs(kernels)
    with open(os.path.join(kernels, "kernel.json"), "w") as f:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "bench", "language": "python"}, f)
    km = KernelManager(kernel_name="bench",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[os.path.dirname(kernels)]),
                       connection_file=os.path.join(spec["dir"], "kernel.json"))
    started = time.perf_counter()
    km.start_kernel(cwd=spec["dir"], env={**os.environ, **spec["env"]})
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    report: dict = {"start_s": time.perf_counter() - started}
    errors: list = []

    def run(code: str) -> float:
        t = time.perf_counter()
        reply = kc.execute_interactive(code, timeout=1800, output_hook=lambda m: (
            errors.append(m["content"]) if m["msg_type"] == "error" else None))
        if reply["content"]["status"] != "ok":
            errors.append(reply["content"])
        return time.perf_counter() - t

    report["setup_s"] = [run(cell) for cell in spec["setup"]]
    # Kishu's hooks go in during its own cell, whose end then reports a
    # post-run hook without a pre-run one: setup errors are not the workload's.
    errors.clear()
    report["cells_s"], report["sizes"] = [], []
    t0 = time.perf_counter()
    for cell in spec["cells"]:
        report["cells_s"].append(run(cell))
        if spec.get("watch"):
            report["sizes"].append([time.perf_counter() - t0, megabytes(spec["watch"])])
    saves = spec.get("saves")
    report["saves"] = json.loads(Path(saves).read_text()) if saves and os.path.exists(saves) else []
    kc.stop_channels()
    t = time.perf_counter()
    km.shutdown_kernel(now=False)  # Snapline's last snapshot is taken at exit
    report["shutdown_s"] = time.perf_counter() - t
    report["errors"] = [str(e)[:400] for e in errors]
    return report


if __name__ == "__main__":
    print(json.dumps(drive(json.loads(sys.argv[1]))))
