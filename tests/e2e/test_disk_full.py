"""A store on a full disk: the program runs to completion with its own output
and exit status, one `snapline:` warning line, and every snapshot committed
before the disk filled stays readable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
SNAPLINE = os.environ.get("SNAPLINE_TEST_BIN", str(REPO / ".venv" / "bin" / "snapline"))

SCRIPT = textwrap.dedent("""
    import numpy as np
    rng = np.random.default_rng(0)
    kept = []
    for step in range(12):
        kept.append(rng.random(1 << 17))  # 1 MiB of fresh, incompressible data
        print("step", step, flush=True)
    print("done")
""")


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_capture_not_the_program(tmp_path, tiny_disk):
    script = tmp_path / "fill.py"
    script.write_text(SCRIPT)
    plain = subprocess.run([PYTHON, str(script)], capture_output=True, text=True,
                           check=False)
    store = tiny_disk / "store"
    # No budget: every iteration stores its 1 MiB, so the disk fills.
    captured = subprocess.run([PYTHON, "-m", "snapline", "run", "--store", str(store),
                               "--no-statements", "--budget", "0", str(script)],
                              capture_output=True, text=True, timeout=120, check=False)
    assert captured.returncode == plain.returncode == 0
    assert captured.stdout == plain.stdout
    warnings = [line for line in captured.stderr.splitlines() if line.startswith("snapline:")]
    assert len(warnings) == 1, captured.stderr
    # The OS's "No space left on device", or SQLite's "database or disk is full".
    message = warnings[0].lower()
    assert "space" in message or "disk is full" in message, warnings[0]
    assert captured.stderr.strip() == warnings[0]

    log = subprocess.run([SNAPLINE, "--store", str(store), "log", "last", "--verify", "--json"],
                         capture_output=True, text=True, check=False)
    assert log.returncode == 0, log.stderr
    rows = json.loads(log.stdout)
    assert 0 < len(rows) < 12, "some snapshots fit, the rest did not"
    assert [r["seq"] for r in rows] == list(range(len(rows)))
    assert all(r["verified"] for r in rows)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
