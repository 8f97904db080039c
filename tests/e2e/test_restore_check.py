"""Issue #21: restore is exact or says why, capture never changes the
program, and what the agent could not do is visible.

- the restore walks what it rebuilt with the capture's own hashing and
  reports what differs from the snapshot (never counted as restored);
- `snapline run --check-roundtrip` finds a lossy pickling at capture time;
- reading objects never changes them (a partial of a partial still
  flattens; a masked array gets no fill value);
- a string with a lone surrogate no longer stops later snapshots;
- `snapline runs`, `log` and `warnings` show the agent's warnings.
"""

from __future__ import annotations

import json
import sqlite3

from conftest import BIN, PYTHON, assert_same_output
from conftest import run as run_command

LOSSY = """
class Window:
    \"\"\"Keeps only the last value when unpickled (a lossy __setstate__).\"\"\"

    def __init__(self, values):
        self.values = values

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.values = self.values[-1:]


window = Window([0.9, 0.7, 0.5])
steps = [1, 2, 3]
print("trained", len(window.values))
"""


def _restore_json(sl, code: str = "pass") -> dict:
    done = run_command([BIN, "--store", sl.store, "restore", "last", "--python", PYTHON,
                        "--json", "-c", code])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


def test_capture_never_changes_what_it_reads(sl) -> None:
    script = sl.script("""
        import functools

        import numpy as np

        def lr_at(step, base=0.1, decay=0.5):
            return base * decay ** step

        warm = functools.partial(lr_at, base=0.2)
        losses = np.ma.masked_array([0.9, 0.0, 0.5], mask=[0, 1, 0])
        for epoch in range(2):
            schedule = functools.partial(warm, decay=0.9)
            print(epoch, schedule.func is lr_at, round(schedule(epoch), 6))
        print(vars(losses).get("_fill_value"))
    """)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert_same_output(plain, captured)
    assert "True" in plain.stdout and "None" in plain.stdout


def test_a_lone_surrogate_does_not_stop_later_snapshots(sl) -> None:
    script = sl.script("""
        import os

        name = os.fsdecode(b"run-\\xff.csv")  # a file name that is not UTF-8
        rows = [name, 1]
        total = 2
        print("ok")
    """)
    captured = sl.capture(script)
    assert captured.returncode == 0, captured.stderr
    log = sl.log()
    assert [r["trigger"] for r in log].count("statement") >= 4
    assert sl.cli("warnings", "last") == []
    report = _restore_json(sl, "print(repr(rows[0]))")
    assert "name" in report["restored"] and "rows" in report["restored"]


def test_restore_reports_what_comes_back_different(sl) -> None:
    captured = sl.capture(sl.script(LOSSY))
    assert captured.returncode == 0, captured.stderr
    report = _restore_json(sl)
    differs = {item["path"]: item["how"] for item in report["rebuilt"]}
    assert "window" in differs and differs["window"].startswith("differs:"), report
    assert "window" not in report["restored"]
    assert "steps" in report["restored"]


def test_check_roundtrip_finds_a_lossy_pickling_at_capture(sl) -> None:
    script = sl.script(LOSSY)
    plain = sl.plain(script)
    checked = sl.capture(script, opts=("--check-roundtrip",))
    assert_same_output(plain, checked)
    messages = [w["summary"] for w in sl.cli("warnings", "last")]
    assert any("check-roundtrip: window" in m for m in messages), messages
    sl.capture(script)
    assert sl.cli("warnings", "last") == []


def test_runs_log_and_warnings_show_agent_warnings(sl) -> None:
    captured = sl.capture(sl.script("x = 1\nprint(x)\n"))
    assert captured.returncode == 0
    run_id = sl.last_run()["id"]
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        conn.execute("INSERT INTO warnings (run_id, time, message) SELECT id, started_at + 1, "
                     "? FROM runs", ("agent error: ValueError: cannot record x\nTraceback...",))
    warnings = sl.cli("warnings", run_id)
    assert len(warnings) == 1
    assert warnings[0]["summary"] == "agent error: ValueError: cannot record x"
    assert warnings[0]["offset"] >= 0 and "Traceback" in warnings[0]["message"]
    for command in (["runs"], ["log", run_id]):
        text = sl.cli_raw(*command, json_out=False)
        assert text.returncode == 0, text.stderr
        assert "1 agent warning" in text.stdout and f"snapline warnings {run_id}" in text.stdout
    text = sl.cli_raw("warnings", run_id, json_out=False).stdout
    assert "cannot record x" in text
