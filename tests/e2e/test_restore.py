"""`snapline restore SNAPSHOT -c CODE`: the snapshot's state rebuilt in a
fresh interpreter (arrays with their dtype and layout, shared references
shared again, the script's own classes and functions, the random states),
CODE run there, a fidelity report on stderr; and the ways it refuses, each
with one clear line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, PYTHON, TIMEOUT, Snapline, line_of, python_has
from conftest import run as run_command

# -- helpers --------------------------------------------------------------------

MARK = "RESTORED "


def restore(sl: Snapline, ref: str, code: str, *extra: object, python: object = PYTHON,
            env: dict | None = None, cwd: object = None) -> subprocess.CompletedProcess:
    """`snapline --store STORE restore REF [--python PYTHON] -c CODE EXTRA...`"""
    cmd = [BIN, "--store", sl.store, "restore", ref]
    if python is not None:
        cmd += ["--python", python]
    return run_command([*cmd, "-c", code, *extra], env=env, cwd=cwd)


def restored(sl: Snapline, ref: str, code: str, **kwargs: object) -> dict:
    """Runs CODE (which sets `out`, a JSON-able dict) in the restored state
    and returns `out`; the restore must succeed."""
    probe = f"{code}\nimport json as _json\nprint({MARK!r} + _json.dumps(out))\n"
    done = restore(sl, ref, probe, **kwargs)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0][len(MARK):])


def iteration(sl: Snapline, done: int, line: int | None = None) -> int:
    """The seq of the snapshot at the start of a top-level loop's iteration
    after `done` completed ones (the loop at `line`, else the first)."""
    rows = sl.log()
    for row in rows:
        if (row["trigger"] == "iteration" and row["loops"] == [done]
                and line in (None, row["line"])):
            return row["seq"]
    raise AssertionError(f"no iteration snapshot with loops [{done}]: {rows}")


def capture_ok(sl: Snapline, script: object, *args: object, **kwargs: object) -> str:
    done = sl.capture(script, *args, **kwargs)
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_venv(where: Path, link: tuple = ()) -> Path:
    """A venv of the test interpreter's base Python, without pip, holding
    only the packages in `link` (symlinked from the test interpreter)."""
    probe = ("import importlib, json, os, sys\n"
             "dirs = {m: os.path.dirname(importlib.import_module(m).__file__) for m in sys.argv[1:]}\n"
             "print(json.dumps({'base': sys._base_executable, 'dirs': dirs}))")
    done = run_command([PYTHON, "-c", probe, *link])
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    made = run_command([info["base"], "-m", "venv", "--without-pip", where])
    assert made.returncode == 0, made.stderr
    site = next(where.glob("lib/python*/site-packages"))
    for name, directory in info["dirs"].items():
        (site / name).symlink_to(directory)
        libs = Path(directory + ".libs")  # numpy's bundled shared libraries
        if libs.is_dir():
            (site / libs.name).symlink_to(libs)
    return where / "bin" / "python"


# -- numpy ------------------------------------------------------------------------


def test_numpy_mlp_at_an_epoch(sl):
    script = EXAMPLES / "numpy_mlp.py"
    out = capture_ok(sl, script, "--epochs", "4")
    printed = [float(line.split()[3]) for line in out.splitlines() if line.startswith("epoch")]
    assert len(printed) == 4
    seq = iteration(sl, 2, line=line_of(script, "for epoch in"))
    got = restored(sl, f"last@{seq}", """
out = {
    "alias": params["W1"] is layers[0] and params["W2"] is layers[1],
    "epoch": epoch,
    "history": history,
    "W1": [params["W1"].dtype.str, list(params["W1"].shape), params["W1"].flags.writeable],
    "X": [X.dtype.str, list(X.shape)],
    "y": [y.dtype.str, list(y.shape)],
    "min": float(params["W1"].min()),
    "max": float(params["W1"].max()),
    "lr": args.lr,
}
""")
    assert got["alias"] is True
    assert got["epoch"] == 2
    assert [round(v, 6) for v in got["history"]] == printed[:2]
    assert got["W1"] == ["<f4", [2, 64], True]
    assert got["X"] == ["<f4", [600, 2]]
    assert got["y"] == ["<i8", [600]]
    assert got["lr"] == 0.5
    stored = sl.show(f"last@{seq}", 'params["W1"]')["stats"]
    assert (got["min"], got["max"]) == (stored["min"], stored["max"])


LAYOUTS = """
import hashlib
import json

import numpy as np


def layout(a):
    return {"type": type(a).__name__, "dtype": a.dtype.str, "shape": list(a.shape),
            "strides": list(a.strides) if a.size else None,  # any strides fit an empty one
            "c": bool(a.flags.c_contiguous),
            "f": bool(a.flags.f_contiguous), "writeable": bool(a.flags.writeable),
            "sha": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()}


base = np.arange(60, dtype=np.float64).reshape(6, 10)
fortran = np.asfortranarray(base * 2)
view = base[::2, 1::3]
backwards = base[::-1, ::2]
column = base[:, 3:4]
half = np.linspace(-1, 1, 7).astype(np.float16)
flags = np.array([True, False, True])
zero_d = np.array(3.5)
empty = np.zeros((0, 4), dtype=np.int32)
big_endian = np.arange(4, dtype=">f4")
dates = np.array(["2024-01-01", "2024-02-29"], dtype="datetime64[D]")
field = np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")])["b"]  # strides of 12 bytes
field[:] = [0.5, 1.5, 2.5]
NAMES = ["base", "fortran", "view", "backwards", "column", "half", "flags", "zero_d", "empty",
         "big_endian", "dates", "field"]
print(json.dumps({name: layout(globals()[name]) for name in NAMES}))
"""


def test_arrays_keep_dtype_shape_and_layout(sl):
    out = capture_ok(sl, LAYOUTS)
    want = json.loads(out)
    assert want["fortran"]["f"] and not want["fortran"]["c"]
    assert not want["view"]["c"] and want["view"]["strides"] == [160, 24]
    assert want["field"]["strides"] == [12]
    got = restored(sl, "last@last", "out = {name: layout(globals()[name]) for name in NAMES}")
    assert got == want


VALUES = """
import math

import numpy as np


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm(self):
        return math.hypot(self.x, self.y)


inner = [np.ones(2), "x"]
o1 = [0, inner]
o2 = [1, inner]
holder = {"inner": inner}
d = {"a": 1, (1, 2): "tuple key", "nested": {"x": [1, 2, 3]}, 3: None}
s = {1, 2, 3}
fs = frozenset({"a", "b"})
t = (1, "two", 3.0)
raw = b"\\x00\\x01bytes"
big = 2**100 + 1
nan = float("nan")
neg_inf = -math.inf
c = 1 + 2j
pt = Point(3, 4)
square = lambda v: v * v  # noqa: E731
scale = 3


def times(v):
    return v * scale


print("ready")
"""


def test_values_identity_and_the_scripts_own_code(sl):
    capture_ok(sl, VALUES)
    got = restored(sl, "last@last", """
import math
out = {
    "shared": [o1[1] is o2[1], o1[1] is inner, holder["inner"] is inner],
    "inner0": inner[0].tolist(),
    "d": d == {"a": 1, (1, 2): "tuple key", "nested": {"x": [1, 2, 3]}, 3: None},
    "types": [type(x).__name__ for x in (s, fs, t, raw, big, c)],
    "s": sorted(s), "fs": sorted(fs), "t": list(t),
    "raw": raw == b"\\x00\\x01bytes", "big": big == 2**100 + 1,
    "nan": math.isnan(nan), "neg_inf": neg_inf == -math.inf, "c": [c.real, c.imag],
    "point": [type(pt) is Point, type(pt).__module__, pt.norm()],
    "square": square(7), "times": times(2),
}
""")
    assert got["shared"] == [True, True, True]
    assert got["inner0"] == [1.0, 1.0]
    assert got["d"] is True
    assert got["types"] == ["set", "frozenset", "tuple", "bytes", "int", "complex"]
    assert (got["s"], got["fs"], got["t"]) == ([1, 2, 3], ["a", "b"], [1, "two", 3.0])
    assert got["raw"] and got["big"] and got["nan"] and got["neg_inf"]
    assert got["c"] == [1.0, 2.0]
    assert got["point"] == [True, "__main__", 5.0]
    assert got["square"] == 49
    assert got["times"] == 6


def test_a_cycle_comes_back(sl):
    capture_ok(sl, """
        a = [1, 2]
        a.append(a)
    """)
    got = restored(sl, "last@last", "out = {'cycle': a[2] is a, 'head': a[:2]}")
    assert got == {"cycle": True, "head": [1, 2]}


def test_a_shared_list_of_plain_values_stays_shared(sl):
    capture_ok(sl, """
        shared = [1, 2]
        o1 = [0, shared]
        o2 = [shared, 3]
    """)
    got = restored(sl, "last@last", "out = {'shared': [o1[1] is o2[0], o1[1] is shared]}")
    assert got == {"shared": [True, True]}


# -- torch ------------------------------------------------------------------------

TORCH = """
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
x = torch.randn(16, 4)
for step in range(4):
    loss = model(x).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"{step} {loss.item()!r}")
frozen = torch.nn.Parameter(torch.ones(2, 3), requires_grad=False)
transposed = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()
half = torch.linspace(0, 1, 5, dtype=torch.float16)
"""


@pytest.fixture(scope="module")
def torch_capture(tmp_path_factory: pytest.TempPathFactory, need_torch: None) -> tuple:
    root = tmp_path_factory.mktemp("restore_torch")
    sl = Snapline(root / "store", root / "scripts")
    out = capture_ok(sl, TORCH)
    losses = [float(line.split()[1]) for line in out.splitlines()]
    return sl, losses


def test_torch_model_and_optimizer_continue_exactly(torch_capture):
    sl, losses = torch_capture
    seq = iteration(sl, 2)
    got = restored(sl, f"last@{seq}", """
params = list(model.parameters())
group = optimizer.param_groups[0]["params"]
out = {
    "step": step,
    "same": [a is b for a, b in zip(group, params)],
    "state_keys": all(any(k is p for p in params) for k in optimizer.state),
    "types": [type(p).__name__ for p in params],
    "grad": [p.requires_grad for p in params],
}
found = []
for _ in range(2):
    loss = model(x).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    found.append(loss.item())
out["losses"] = found
""")
    assert got["step"] == 2
    assert got["same"] == [True] * 4
    assert got["state_keys"] is True
    assert got["types"] == ["Parameter"] * 4
    assert got["grad"] == [True] * 4
    # The next two steps are the ones the run took: weights, Adam's moments
    # and step counts all came back bit for bit.
    assert got["losses"] == losses[2:4]


def test_torch_tensors_keep_dtype_strides_and_grad(torch_capture):
    sl, _ = torch_capture
    got = restored(sl, "last@last", """
import torch
out = {
    "frozen": [type(frozen).__name__, frozen.requires_grad, frozen.tolist()],
    "transposed": [list(transposed.shape), list(transposed.stride()),
                   transposed.is_contiguous(),
                   torch.equal(transposed, torch.arange(12.0).reshape(3, 4).t())],
    "half": [str(half.dtype), half.tolist()],
    "weight": [type(model[0].weight).__name__, model[0].weight.requires_grad],
}
""")
    assert got["frozen"] == ["Parameter", False, [[1.0] * 3] * 2]
    assert got["transposed"] == [[4, 3], [1, 4], False, True]
    assert got["half"] == ["torch.float16", [0.0, 0.25, 0.5, 0.75, 1.0]]
    assert got["weight"] == ["Parameter", True]


def test_missing_package_is_named(torch_capture, tmp_path):
    sl, _ = torch_capture
    python = make_venv(tmp_path / "no-torch", link=("snapline", "numpy", "cloudpickle"))
    done = restore(sl, "last@last", "print('should not run')", python=python)
    assert done.returncode != 0
    assert "should not run" not in done.stdout
    assert "'torch'" in done.stderr and str(python) in done.stderr, done.stderr


# -- random states ----------------------------------------------------------------

RNG = """
import json
import random

import numpy as np

try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    torch.set_num_threads(1)
    torch.manual_seed(3)
random.seed(1)
np.random.seed(2)
for i in range(4):
    a = random.random()
    b = float(np.random.rand())
    c = float(torch.rand(1)) if torch is not None else None
    print(json.dumps([i, a, b, c]))
"""


def test_next_random_draws_are_the_runs(sl):
    out = capture_ok(sl, RNG)
    draws = [json.loads(line) for line in out.splitlines()]
    for k in (1, 3):
        got = restored(sl, f"last@{iteration(sl, k)}", """
import random
import numpy as np
out = {"i": i, "next": [random.random(), float(np.random.rand()),
                        float(torch.rand(1)) if torch is not None else None]}
""")
        assert got["i"] == k
        assert got["next"] == draws[k][1:]


# -- the fidelity report ----------------------------------------------------------


def test_report_names_what_could_not_be_saved(sl, tmp_path):
    capture_ok(sl, """
        import numpy as np

        log = open("out.log", "w")
        gen = (i * i for i in range(10))
        next(gen)
        weights = np.ones(3)
        count = 7
    """, cwd=tmp_path)
    done = restore(sl, "last@last", "print(count, weights.tolist(), 'log' in dir(), 'gen' in dir())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "7 [1.0, 1.0, 1.0] False False"
    report = done.stderr
    assert "restored: 2 variables (count, weights)" in report, report
    assert "missing:  2" in report
    missing = {line.split(":", 1)[0].strip(): line for line in report.splitlines()
               if line.startswith("    ")}
    assert set(missing) == {"gen", "log"}, report
    assert "open file" in missing["log"]
    assert "generator" in missing["gen"]


def test_damaged_chunk_loses_only_its_object(sl):
    capture_ok(sl, """
        import numpy as np

        big = np.random.default_rng(0).random(200_000)  # 1.6 MB: chunk files
        small = np.arange(5)
        label = "kept"
    """)
    files = sorted(sl.store.glob("chunks/**/*.zst"))
    assert files
    files[0].write_bytes(b"not a zstd frame")
    done = restore(sl, "last@last", "print(label, small.tolist(), 'big' in dir())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "kept [0, 1, 2, 3, 4] False"
    lines = [line.strip() for line in done.stderr.splitlines()]
    big = [line for line in lines if line.startswith("big:")]
    assert len(big) == 1 and "damaged" in big[0], done.stderr
    assert files[0].name.removesuffix(".zst") in big[0]


# -- environment and interpreter ----------------------------------------------------


def test_working_directory_and_argv_are_the_runs(sl, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = sl.script("""
        import os
        import sys

        seen = [os.getcwd(), list(sys.argv)]
    """, name="where.py")
    capture_ok(sl, script, "--alpha", "1", "b", cwd=workdir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    got = restored(sl, "last@last", "import os, sys\nout = {'now': [os.getcwd(), sys.argv], "
                   "'seen': seen}", cwd=elsewhere)
    assert got["now"] == [str(workdir), [str(script), "--alpha", "1", "b"]]
    assert got["seen"] == got["now"]


def test_module_beside_the_script_is_found(sl, tmp_path):
    sl.script("""
        class Thing:
            def __init__(self, n):
                self.n = n
    """, name="helper.py")
    script = sl.script("""
        from helper import Thing

        thing = Thing(5)
    """, name="uses_helper.py")
    capture_ok(sl, script, cwd=tmp_path)
    got = restored(sl, "last@last", "out = {'n': thing.n, 'module': type(thing).__module__}")
    assert got == {"n": 5, "module": "helper"}


def test_default_interpreter_is_the_runs_own(sl, tmp_path):
    venv_python = make_venv(tmp_path / "venv", link=("snapline", "numpy", "cloudpickle"))
    script = sl.script("""
        import numpy as np

        w = np.ones(2)
    """)
    done = run_command([venv_python, "-m", "snapline", "run", "--store", sl.store, script])
    assert done.returncode == 0, done.stderr
    code = "import sys\nout = {'python': sys.executable}"
    assert restored(sl, "last@last", code, python=None) == {"python": str(venv_python)}
    # $SNAPLINE_PYTHON and then --python come first.
    env = {"SNAPLINE_PYTHON": PYTHON}
    assert restored(sl, "last@last", code, python=None, env=env) == {"python": PYTHON}
    assert restored(sl, "last@last", code, python=venv_python, env=env) == {
        "python": str(venv_python)}


def test_exit_status_is_the_codes(sl):
    capture_ok(sl, "x = 1\n")
    assert restore(sl, "last", "raise SystemExit(3)").returncode == 3
    failed = restore(sl, "last", "1 / 0")
    assert failed.returncode == 1
    assert "ZeroDivisionError" in failed.stderr


# -- bad input ------------------------------------------------------------------------


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("snapline: error: "), lines
    return lines[0]


def test_unknown_snapshot_fails_fast(sl):
    capture_ok(sl, "x = 1\n")
    # Named before any interpreter is looked for.
    done = restore(sl, "nope@3", "pass", python="/nonexistent/python3")
    assert done.returncode == 2
    assert "'nope'" in one_error_line(done)
    run_id = sl.last_run()["id"]
    done = restore(sl, f"{run_id}@999", "pass")
    assert done.returncode == 2
    line = one_error_line(done)
    assert run_id in line and "999" in line
    done = restore(sl, "last@soon", "pass")
    assert done.returncode == 2
    assert "last@soon" in one_error_line(done)


def test_missing_interpreter(sl):
    capture_ok(sl, "x = 1\n")
    done = restore(sl, "last", "pass", python="/nonexistent/python3")
    assert done.returncode == 2
    assert one_error_line(done) == (
        "snapline: error: Python interpreter /nonexistent/python3 not found "
        "(pass --python PATH to one that has snapline installed)")


def test_interpreter_without_snapline(sl, tmp_path):
    capture_ok(sl, "x = 1\n")
    bare = make_venv(tmp_path / "bare")
    done = restore(sl, "last", "pass", python=bare)
    assert done.returncode == 2
    line = one_error_line(done)
    assert "snapline package is not installed" in line and str(bare) in line


def test_no_store(sl, tmp_path):
    done = run_command([BIN, "--store", tmp_path / "absent", "restore", "last", "-c", "pass"],
                       timeout=TIMEOUT)
    assert done.returncode == 2
    assert "absent" in one_error_line(done)


# -- branches -------------------------------------------------------------------------


@pytest.mark.skipif(not python_has("snapline.restore.resume"),
                    reason="restore --resume is not in this snapline package yet")
def test_resumed_run_shows_its_parent(sl, tmp_path):
    out = capture_ok(sl, """
        total = 0
        for i in range(4):
            total += i
            print(i, total)
    """, cwd=tmp_path)
    assert out.splitlines()[-1] == "3 6"
    parent = sl.last_run()["id"]
    seq = iteration(sl, 2)
    done = run_command([BIN, "--store", sl.store, "restore", f"{parent}@{seq}", "--resume",
                        "--python", PYTHON], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs = sl.runs()
    assert len(runs) == 2
    child = runs[-1]
    assert child["parent"] == f"{parent}@{seq}"
    assert (child["parent_run"], child["parent_seq"]) == (parent, seq)
    assert runs[0]["parent"] is None and runs[0]["parent_run"] is None
    table = sl.cli_raw("log", child["id"], json_out=False)
    assert f"branched from {parent}@{seq}" in table.stdout.splitlines()[:2]
    listing = sl.cli_raw("runs", json_out=False).stdout
    assert f"{parent}@{seq}" in listing.splitlines()[-1]
