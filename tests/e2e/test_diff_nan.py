"""`snapline diff` and `snapline nan` on real captured scripts: element-level
array diffs (C and F order), containers, scalars, moves, two runs; the first
non-finite snapshot of a diverging run, what began it and what followed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DIVERGES, PYTHON, one_line, python_has, wait_for_iterations

EPOCHS = """
import json

import numpy as np

rng = np.random.default_rng(0)
w = rng.standard_normal((600, 512)).astype(np.float32)  # 1.2 MB: two chunks
f = np.asfortranarray(rng.standard_normal((30, 40)))
w_alias = w
cfg = {"lr": 0.1, "layers": [3, 4]}
history = []
for epoch in range(3):
    w[5, 7] += 1.0
    f[2, 3] = epoch + 10
    history.append(float(epoch))
    cfg["lr"] = cfg["lr"] * 0.5
print("done")
"""


def iteration_seqs(sl) -> dict:
    """loop counter -> seq of the iteration snapshots of the outer loop."""
    return {s["loops"][0]: s["seq"] for s in sl.log() if s["trigger"] == "iteration"}


def change(diff: dict, path: str) -> dict:
    found = [c for c in diff["changes"] if c["path"] == path]
    assert found, f"no change at {path}: {[c['path'] for c in diff['changes']]}"
    return found[0]


def test_diff_of_two_epochs_names_the_changed_elements(sl):
    # No budget: a snapshot at every epoch of this short run (test_budget.py).
    done = sl.capture(EPOCHS, opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    seqs = iteration_seqs(sl)
    a, b = f"last@{seqs[1]}", f"last@{seqs[2]}"
    d = sl.cli("diff", a, b)
    assert not d["identical"]
    assert d["added"] == 0 and d["removed"] == 0

    assert change(d, "w")["aliases"] == ["w_alias"], "one object, listed once"
    assert not [c for c in d["changes"] if c["path"] == "w_alias"]
    w = change(d, "w")["detail"]
    assert w["kind"] == "array" and w["compared"]
    assert w["changed"] == 1
    assert w["first_changes"][0]["index"] == [5, 7]
    assert w["first_changes"][0]["new"] - w["first_changes"][0]["old"] == 1.0
    assert abs(w["max_abs_diff"] - 1.0) < 1e-5
    # One of the two chunks changed; the other was skipped unread.
    assert (w["chunks_read"], w["chunks_equal"]) == (1, 1)

    f = change(d, "f")["detail"]  # Fortran order: indices still read [row, column]
    assert f["changed"] == 1
    assert f["first_changes"][0]["index"] == [2, 3]
    assert (f["first_changes"][0]["old"], f["first_changes"][0]["new"]) == (10.0, 11.0)

    cfg = change(d, "cfg")["detail"]
    assert cfg["kind"] == "structure"
    assert cfg["values"] == [{"path": 'cfg["lr"]', "old": "0.05", "new": "0.025"}]
    history = change(d, "history")["detail"]
    assert history["kind"] in ("structure", "value")
    epoch = change(d, "epoch")["detail"]
    assert (epoch["old"], epoch["new"]) == ("1", "2")  # the header has bound the next epoch

    # The same snapshot against itself, and the text form.
    assert sl.cli("diff", a, a)["identical"]
    text = sl.cli_raw("diff", a, b, json_out=False)
    assert text.returncode == 0, text.stderr
    assert "~ w" in text.stdout and "1 of 307,200 elements changed" in text.stdout
    assert "[5, 7]" in text.stdout


def test_a_renamed_array_is_a_move_and_an_alias_is_named(sl):
    sl.capture("""
        import numpy as np
        a = np.arange(1000.0)
        b = a
        del a
        c = b
    """)
    after = {s["line"]: s["seq"] for s in sl.log() if s["trigger"] == "statement"}
    first, after_del, after_alias = after[2], after[4], after[5]
    d = sl.cli("diff", f"last@{first}", f"last@{after_del}")
    assert (d["moved"], d["added"], d["removed"]) == (1, 0, 0), d["changes"]
    moved = change(d, "b")
    assert moved["change"] == "moved" and moved["from"] == "a"
    d = sl.cli("diff", f"last@{after_del}", f"last@{after_alias}")
    added = change(d, "c")
    assert added["change"] == "added" and added["alias_of"] == "b"


def test_two_runs_and_bad_names(sl):
    script = sl.script("""
        import sys
        import numpy as np
        w = np.random.default_rng(int(sys.argv[1])).standard_normal(100)
        name = "run" + sys.argv[1]
    """)
    sl.capture(script, "1")
    sl.capture(script, "2")
    runs = [r["id"] for r in sl.runs()]
    d = sl.cli("diff", f"{runs[0]}@last", f"{runs[1]}@last")
    assert d["a"]["run"] == runs[0] and d["b"]["run"] == runs[1]
    w = change(d, "w")["detail"]
    assert w["changed"] == 100
    assert change(d, "name")["detail"]["new"] == '"run2"'

    code, err = sl.cli_fail("diff", f"{runs[0]}@last", f"{runs[1]}@99")
    assert code == 2
    assert "has no snapshot 99" in one_line(err)
    code, err = sl.cli_fail("diff", "nosuchrun@1", "last")
    assert code == 2 and "no run matches 'nosuchrun'" in err


def first_bad_step() -> tuple:
    """The loop iteration after which w first holds Inf, and its sign."""
    w = np.full(4, 0.5, dtype=np.float32)
    with np.errstate(all="ignore"):
        for step in range(30):
            w = w * np.float32(-60.0)
            if not np.isfinite(w).all():
                return step, "inf" if w[0] > 0 else "-inf"
    raise AssertionError("never diverged")


def test_nan_names_where_it_began_what_followed_and_the_last_clean_snapshot(sl):
    # No budget: a snapshot at every step of this short run (test_budget.py).
    done = sl.capture(DIVERGES, opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    step, sign = first_bad_step()
    seqs = iteration_seqs(sl)
    r = sl.cli("nan")
    # The snapshot at the end of iteration `step` has completed step + 1 iterations.
    assert r["first"]["seq"] == seqs[step + 1]
    assert r["first"]["loops"] == [step + 1]
    assert r["last_clean"] == seqs[step + 1] - 1
    began = {o["path"]: o for o in r["began"]}
    assert began["w"]["began_as"] == sign and not began["w"]["scalar"]
    assert began["w"]["posinf" if sign == "inf" else "neginf"] == 4
    assert began["loss"]["scalar"] and began["loss"]["began_as"] == "inf"
    assert r["began"][0]["path"] == "w", "arrays are listed before the metrics they broke"
    followed = {o["path"]: o for o in r["followed"]}
    assert followed["bias"]["seq"] == seqs[step + 2]
    assert followed["bias"]["began_as"] == "nan"
    metrics = {m["name"]: m for m in r["metrics"]}
    assert metrics["loss"]["value"] == "inf"
    # Read by the loop at the end of that iteration: at the loop's step, with
    # no snapshot of its own.
    assert metrics["loss"]["seq"] is None
    assert metrics["loss"]["step"] == step + 1

    text = sl.cli_raw("nan", json_out=False)
    assert text.returncode == 0, text.stderr
    assert f"first appeared at snapshot {seqs[step + 1]}" in text.stdout
    assert "went bad first" in text.stdout and "followed" in text.stdout
    assert f"last clean snapshot: {seqs[step + 1] - 1}" in text.stdout


def test_nan_on_a_clean_run_and_an_unknown_run(sl):
    sl.capture(EPOCHS)
    r = sl.cli("nan")
    assert r["first"] is None and r["began"] == [] and r["last_clean"] is None
    text = sl.cli_raw("nan", json_out=False)
    assert "no NaN or Inf" in text.stdout
    code, err = sl.cli_fail("nan", "zzz")
    assert code == 2 and "no run matches 'zzz'" in err


def test_a_run_still_being_written_is_answered_for_what_is_committed(sl, tmp_path):
    gate = tmp_path / "go"
    script = sl.script(f"""
        import os
        import time
        import numpy as np
        w = np.zeros(1000)
        for step in range(10_000):
            w[step % 1000] = np.nan if step >= 2 else step
            time.sleep(0.05)
            if os.path.exists({str(gate)!r}):
                break
    """)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
    try:
        log = wait_for_iterations(sl, proc, 5)
        assert sl.last_run()["status"] == "running"
        d = sl.cli("diff", f"last@{log[0]['seq']}", f"last@{log[4]['seq']}")
        assert change(d, "w")["detail"]["changed"] >= 1
        r = sl.cli("nan")
        assert r["first"] is not None and r["began"][0]["path"] == "w"
    finally:
        gate.write_text("stop")
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_an_empty_run_is_named(sl):
    sl.capture("__import__(\"os\")._exit(0)\n")  # ends inside its first statement: no snapshot
    code, err = sl.cli_fail("diff", "last@first", "last@last")
    assert code == 2 and "has no snapshots yet" in err
    text = sl.cli_raw("nan", json_out=False)
    assert text.returncode == 0 and "has no snapshots yet" in text.stdout


def test_dataframes_diff_by_column_and_cell(sl):
    if not python_has("pandas"):
        pytest.skip("the capture interpreter has no pandas")
    sl.capture("""
        import numpy as np
        import pandas as pd
        df = pd.DataFrame({"a": np.arange(1000.0), "b": np.zeros(1000), "name": ["x"] * 1000})
        df.loc[3, "a"] = -1.0
        df.loc[5, "name"] = "y"
        df["c"] = 1
        df = df.astype({"b": "float32"})
        df = df.iloc[:-1]
    """)
    after = {s["line"]: s["seq"] for s in sl.log() if s["trigger"] == "statement"}

    def frame(a: int, b: int) -> dict:
        d = sl.cli("diff", f"last@{after[a]}", f"last@{after[b]}")
        detail = change(d, "df")["detail"]
        assert detail["kind"] == "frame", detail
        return detail

    assert frame(3, 4)["cells"] == [{"column": '"a"', "changed": 1}]
    assert frame(4, 5)["cells"] == [{"column": '"name"', "changed": 1}]
    added = frame(5, 6)
    assert added["columns_added"] == ['"c"'] and added["cells"] == []
    typed = frame(6, 7)
    assert typed["dtype_changes"] == [{"column": '"b"', "old": "float64", "new": "float32"}]
    rows = frame(7, 8)
    assert (rows["old_shape"], rows["new_shape"]) == ([1000, 4], [999, 4])
    assert all(c["changed"] is None for c in rows["cells"])
    # The column arrays are objects of their own: element-level detail too.
    d = sl.cli("diff", f"last@{after[3]}", f"last@{after[4]}")
    column = change(d, 'df["a"]')["detail"]
    assert column["first_changes"][0]["index"] == [3]
    assert (column["first_changes"][0]["old"], column["first_changes"][0]["new"]) == (3.0, -1.0)
    text = sl.cli_raw("diff", f"last@{after[5]}", f"last@{after[6]}", json_out=False).stdout
    assert '+ columns "c"' in text
