"""Issue #16: the background writer (capture-agent/src/writer.rs) compresses
and writes at a lower CPU priority than the user's program, so that on busy
cores the program's thread runs first (`SNAPLINE_WRITER_NICE` steps, 10 by
default; 0 keeps the program's priority)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from snapline import _native

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="thread priorities are read from /proc (Linux)")


def _writer_threads() -> dict[int, int]:
    """The snapline-writer threads of this process: tid -> nice."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "comm").read_text().strip() != "snapline-writer":
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(task.name)] = int(fields[16])  # stat's 19th field: nice
    return found


def _new_writer_nice(tmp_path: Path) -> tuple[object, int]:
    before = set(_writer_threads())
    recorder = _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))
    deadline = time.monotonic() + 5
    while True:
        new = {tid: nice for tid, nice in _writer_threads().items() if tid not in before}
        # (The thread lowers its own priority as it starts: wait for that.)
        if new and (time.monotonic() > deadline or any(n != os.nice(0) for n in new.values())):
            return recorder, next(iter(new.values()))
        if time.monotonic() > deadline:
            pytest.fail("no snapline-writer thread started")
        time.sleep(0.01)


def test_the_writer_runs_at_a_lower_priority(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SNAPLINE_WRITER_NICE", raising=False)
    recorder, nice = _new_writer_nice(tmp_path)
    assert nice == min(os.nice(0) + 10, 19)
    # The main thread keeps the program's priority.
    assert os.getpriority(os.PRIO_PROCESS, 0) == os.nice(0)
    del recorder


def test_the_step_is_set_by_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SNAPLINE_WRITER_NICE", "5")
    recorder, nice = _new_writer_nice(tmp_path)
    assert nice == min(os.nice(0) + 5, 19)
    del recorder
