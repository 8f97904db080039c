"""A captured program behaves exactly like the plain one: same output, same
exit status, same view of argv, __file__, sys.path and __name__."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import EXAMPLES, assert_same_output


def test_numpy_example_output_unchanged(sl):
    script = EXAMPLES / "numpy_mlp.py"
    plain = sl.plain(script, "--epochs", "3")
    captured = sl.capture(script, "--epochs", "3", default_budget=True)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count("epoch") == 3
    assert_same_output(plain, captured)
    run = sl.last_run()
    assert run["script"] == "numpy_mlp.py"
    assert run["status"] == "finished"
    assert run["snapshots"] > 0


def test_sklearn_example_output_unchanged(sl, need_sklearn):
    script = EXAMPLES / "sklearn_fit.py"
    args = ("--epochs", "3", "--samples", "2000")
    plain = sl.plain(script, *args)
    captured = sl.capture(script, *args, default_budget=True)
    assert plain.returncode == 0, plain.stderr
    assert "random forest test accuracy" in plain.stdout
    assert_same_output(plain, captured)
    run = sl.last_run()
    assert run["status"] == "finished"
    assert run["exit_code"] == 0
    # The fitted estimators are in the last snapshot.
    objects = sl.objects("last@last")
    assert objects["model"]["type"] == "sklearn.linear_model._stochastic_gradient.SGDClassifier"
    assert objects["forest"]["type"] == "sklearn.ensemble._forest.RandomForestClassifier"


def test_torch_example_output_unchanged(torch_run):
    plain, captured = torch_run.plain, torch_run.captured
    assert plain.returncode == 0, plain.stderr
    assert "final loss" in plain.stdout
    assert_same_output(plain, captured)
    run = torch_run.sl.last_run()
    assert run["status"] == "finished"
    assert run["script"] == "torch_classifier.py"


SHOW_CONTEXT = """
import json
import sys

print(json.dumps({"file": __file__, "argv": sys.argv, "path0": sys.path[0],
                  "name": __name__}))
"""


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_script_sees_same_argv_file_path_and_name(sl, tmp_path, how):
    script = sl.script(SHOW_CONTEXT, name="sub/dir/show_context.py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Run from a directory other than the script's.
    target = "../scripts/sub/dir/show_context.py" if how == "relative" else script
    args = ("--flag", "value with spaces", "-x")
    plain = sl.plain(target, *args, cwd=elsewhere)
    captured = sl.capture(target, *args, cwd=elsewhere)
    assert plain.returncode == 0, plain.stderr
    assert_same_output(plain, captured)
    seen = json.loads(captured.stdout)
    assert seen["name"] == "__main__"
    assert seen["argv"] == [str(target), *args]
    assert seen["path0"] == str(script.parent.resolve())
    # Like python: the path joined to the working directory, not normalized.
    assert Path(seen["file"]).is_absolute()
    assert Path(seen["file"]).resolve() == script.resolve()


def test_disable_env_runs_without_a_store(sl, tmp_path):
    script = sl.script("""
        import numpy as np
        x = np.arange(5)
        for i in range(3):
            x += i
        print("sum", int(x.sum()))
    """)
    work = tmp_path / "work"
    work.mkdir()
    plain = sl.plain(script, cwd=work)
    captured = sl.capture(script, cwd=work, env={"SNAPLINE_DISABLE": "1"})
    assert plain.stdout == "sum 25\n"
    assert_same_output(plain, captured)
    assert not sl.store.exists()
    assert not (work / ".snapline").exists()
    assert list(work.iterdir()) == []


MAIN_MODULE = """
import inspect
import pickle
import sys
import warnings


class Point:
    def __init__(self, x):
        self.x = x


def double(v):
    return 2 * v


print(inspect.getsource(double).strip())
print(pickle.loads(pickle.dumps(Point(3))).x)
warnings.warn("careful")
print(sys.modules["__main__"].__spec__, __package__, __doc__, __annotations__)
print(sorted(k for k in globals() if k.startswith("__")))
if len(sys.argv) > 1:
    sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
"""


@pytest.mark.parametrize("exit_arg", [None, "3", "bye"])
def test_main_module_and_exit_status_like_python(sl, exit_arg):
    script = sl.script(MAIN_MODULE)
    args = () if exit_arg is None else (exit_arg,)
    plain = sl.plain(script, *args)
    captured = sl.capture(script, *args)
    assert "return 2 * v" in plain.stdout
    assert "UserWarning: careful" in plain.stderr
    assert plain.returncode == {None: 0, "3": 3, "bye": 1}[exit_arg]
    assert_same_output(plain, captured)
    run = sl.last_run()
    assert run["status"] == ("finished" if exit_arg is None else "failed")
    assert run["exit_code"] == plain.returncode
    assert sl.log()[-1]["trigger"] == "exit"


def test_capture_imports_nothing_on_the_programs_behalf(sl):
    # numpy 2 loads `numpy.random` and `numpy.ma` on first use of `np.random`
    # and `np.ma`; the agent's RNG read once loaded the first at the first
    # snapshot after `import numpy`, its pickler the second for the first
    # object it pickled (and cloudpickle, though plain pickle took it). The
    # program sees them all in sys.modules.
    script = sl.script("""
        import sys
        import numpy as np
        x = np.zeros(3)
        print(sorted(m for m in ("numpy.random", "numpy.ma", "cloudpickle") if m in sys.modules))
        rng = np.random.default_rng(0)
        steps = [rng.random() for _ in range(3)]
        print(sorted(m for m in ("numpy.random", "numpy.ma", "cloudpickle") if m in sys.modules))
    """)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert_same_output(plain, captured)
    # The generator was snapshotted, by plain pickle.
    assert sl.objects("last")["rng"]["kind"] == "pickle"


def test_capture_reads_pythons_generator_only_once_the_program_imported_it(sl):
    # A script that never imports `random`: the agent read its state at every
    # snapshot through `import random`, one more module the program found
    # loaded. Once the program imports it, its state is in the snapshots.
    script = sl.script("""
        import sys
        words = []
        for i in range(3):
            words.append(f"w{i}")
        print("random" in sys.modules)
        import random
        random.seed(7)
        pick = random.choice(words)
        print(pick)
    """)
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--outer-every", "0"))
    assert_same_output(plain, captured)
    assert captured.stdout.splitlines()[0] == "False"
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        seqs = [seq for (seq,) in conn.execute(
            "SELECT seq FROM entries WHERE path = '$rng.random' ORDER BY seq")]
    log = sl.log()
    loops = [r["seq"] for r in log if r["trigger"] == "iteration"]
    assert loops and not set(loops) & set(seqs)
    assert log[-1]["seq"] in seqs


def test_the_cyclic_collector_is_off_inside_snapshots_and_then_as_the_program_left_it(sl):
    # Collected mid-walk, a snapshot's short-lived objects were traversed and
    # promoted, and set off full collections of the whole program inside
    # snapshots. The collector is off while one is taken; after it, on or
    # off as the program had it. `__reduce__` runs inside the snapshot (the
    # agent pickles the object).
    script = sl.script("""
        import gc

        seen = []


        class Probe:
            def __reduce__(self):
                seen.append(gc.isenabled())
                return (Probe, ())


        probe = Probe()
        for step in range(3):
            junk = [{"step": step, "i": i} for i in range(50)]
        print("inside snapshots:", sorted(set(seen)))
        print("after:", gc.isenabled())
        gc.disable()
        for step in range(2):
            junk = [step]
        print("kept off:", gc.isenabled())
    """)
    captured = sl.capture(script, opts=("--outer-every", "0"))
    assert captured.stdout.splitlines() == [
        "inside snapshots: [False]", "after: True", "kept off: False"]
    assert sum(r["trigger"] == "iteration" for r in sl.log()) >= 5
