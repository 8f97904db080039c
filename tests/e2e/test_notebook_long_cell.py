"""A notebook cell whose source is larger than one content chunk (1 MiB: a
pasted data literal) is stored as several chunks (lineage `cells[*]`
`hash_chunks`); restoring a snapshot taken after it reads the cell back
from those chunks and runs its definitions again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BIN, PYTHON
from conftest import run as run_command

pytest.importorskip("IPython")

# About 1.4 MiB of pasted CSV in one cell, then a function over it.
ROWS = 140_000
SESSION = f"""
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
pasted = "raw = '''" + "cat,0.25\\\\ndog,0.75\\\\n" * {ROWS // 2} + "'''"
cells = [
    "%load_ext snapline",
    pasted + "\\ndef labelled(text, name):\\n    return text.count(name + ',')",
    "dogs = labelled(raw, 'dog')",
]
for cell in cells:
    shell.run_cell(cell, store_history=True)
"""


def test_a_cell_longer_than_a_chunk_restores(tmp_path: Path) -> None:
    drive = tmp_path / "drive.py"
    drive.write_text(SESSION)
    done = run_command([PYTHON, drive], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    store = tmp_path / ".snapline"
    runs = run_command([BIN, "--store", store, "runs", "--json"])
    assert runs.returncode == 0, runs.stderr

    (run,) = json.loads(runs.stdout)
    long_cell = run["lineage"]["cells"][1]
    assert len(long_cell.get("hash_chunks") or []) > 1, long_cell  # several chunks
    log = json.loads(run_command([BIN, "--store", store, "log", run["id"], "--json"]).stdout)
    (last,) = [r["seq"] for r in log if r["label"] == "In [3]"]
    # the function comes back only by running the long cell's source again
    restored = run_command([BIN, "--store", store, "restore", f"{run['id']}@{last}",
                            "--python", PYTHON, "-c", "print(dogs, labelled(raw, 'cat'))"])
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == f"{ROWS // 2} {ROWS // 2}", restored.stdout
