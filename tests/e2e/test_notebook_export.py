"""A notebook run travels whole (issue #20): `snapline export` carries every
cell's source (lineage `cells`), so a fresh store that imported the bundle
restores the snapshot of every cell (its cells run again, with --trust), as
the original store does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, PYTHON
from conftest import run as run_command

pytest.importorskip("IPython")

SESSION = """
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
cells = [
    "%load_ext snapline",
    "import numpy as np\\nrng = np.random.default_rng(0)\\nweights = rng.normal(size=4)",
    "def scaled(v, k):\\n    return v * k\\nlr = 0.5",
    "history = []\\nfor epoch in range(2):\\n    weights = scaled(weights, 1 - lr)\\n"
    "    history.append(float(np.abs(weights).sum()))",
    "final = round(history[-1], 6)",
]
for cell in cells:
    shell.run_cell(cell, store_history=True)
"""

# Names each cell defines, and an expression over them printed after a restore.
CHECKS = {
    "In [2]": "print(weights.shape)",
    "In [3]": "print(weights.shape, lr, scaled(2, 3))",
    "In [4]": "print(len(history), round(history[-1], 6))",
    "In [5]": "print(final, len(history))",
}


def cli(store: Path, *args: object) -> object:
    done = run_command([BIN, "--store", store, *args, "--json"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def restored(store: Path, ref: str, code: str, *flags: str) -> subprocess.CompletedProcess:
    return run_command([BIN, "--store", store, "restore", ref, *flags, "--python", PYTHON,
                        "-c", code])


def test_an_exported_notebook_run_restores_every_cell_after_import(tmp_path: Path) -> None:
    drive = tmp_path / "drive.py"
    drive.write_text(SESSION)
    done = run_command([PYTHON, drive], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    mine = tmp_path / ".snapline"
    (run,) = cli(mine, "runs")
    assert len(run["lineage"]["cells"]) == len(CHECKS) + 1  # the %load_ext cell too

    bundle = tmp_path / "notebook.snapline"
    cli(mine, "export", run["id"], "-o", bundle)
    theirs = tmp_path / "fresh"
    imported = cli(theirs, "import", bundle)
    assert imported["outcome"] == "imported"

    rows = cli(mine, "log", run["id"])
    cell_seqs = {r["label"]: r["seq"] for r in rows if r["trigger"] == "cell"}
    assert set(CHECKS) <= set(cell_seqs)
    for label, code in CHECKS.items():
        ref = f"{run['id']}@{cell_seqs[label]}"
        # --trust: the imported run's cells run again (their defs and imports),
        # which needs every cell's source from the bundle.
        here, there = restored(mine, ref, code), restored(theirs, ref, code, "--trust")
        assert here.returncode == 0, (label, here.stderr)
        assert there.returncode == 0, (label, there.stderr)
        assert there.stdout == here.stdout and here.stdout.strip(), label
