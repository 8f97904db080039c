"""The user's own modules: loops in the modules a script imports from its
project (`engine.py`'s `train_one_epoch`) take snapshots with their locals,
`snapline run -m package.module` works like `python -m`, and resume says
plainly where it cannot go."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import BIN, PYTHON, assert_same_output, line_of, one_line, run

ENGINE = '''
"""Training and evaluation loops."""
import numpy as np


def train_one_epoch(model, batches, lr):
    total = 0.0
    for step, (xb, yb) in enumerate(batches):
        loss = model.step(xb, yb, lr)
        total += loss
    return total / len(batches)


def evaluate(model, x, y):
    pred = model.forward(x)
    return float(np.mean((pred - y) ** 2))
'''

MODELS = '''
import numpy as np


class Net:
    """A one-hidden-layer MLP trained by hand."""

    def __init__(self, rng, n_in, n_hidden):
        self.W1 = rng.normal(0, 0.5, (n_in, n_hidden))
        self.W2 = rng.normal(0, 0.5, (n_hidden, 1))

    def forward(self, x):
        self.h = np.tanh(x @ self.W1)
        return self.h @ self.W2

    def step(self, x, y, lr):
        pred = self.forward(x)
        err = pred - y
        grad_w2 = self.h.T @ err / len(x)
        grad_h = err @ self.W2.T * (1 - self.h ** 2)
        grad_w1 = x.T @ grad_h / len(x)
        self.W1 -= lr * grad_w1
        self.W2 -= lr * grad_w2
        return float(np.mean(err ** 2))
'''

TRAIN = '''
import argparse
import inspect
import json
import sys

import numpy as np

from {dot}engine import evaluate, train_one_epoch
from {dot}models import Net

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4))
y = np.sin(x.sum(axis=1, keepdims=True))
batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
model = Net(rng, 4, 8)
for epoch in range(args.epochs):
    train_loss = train_one_epoch(model, batches, 0.1)
    val = evaluate(model, x, y)
    print(f"epoch {{epoch}} train {{train_loss:.6f}} val {{val:.6f}}")
# Library code is never instrumented: no hook calls in numpy's or the stdlib's.
print("libraries instrumented:", any(
    "__snapline__" in f.__code__.co_names for module in (np.lib.format, json.decoder, argparse)
    for f in vars(module).values() if inspect.isfunction(f)))
print("as", __name__, __package__, sys.argv[0] == __file__)
'''


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def project(root: Path) -> Path:
    """train.py beside engine.py and models.py."""
    write(root, {"train.py": TRAIN.format(dot=""), "engine.py": ENGINE, "models.py": MODELS})
    return root / "train.py"


def package(root: Path) -> Path:
    """pkg/train.py importing .engine and .models (run with -m pkg.train)."""
    write(root, {"pkg/__init__.py": "", "pkg/train.py": TRAIN.format(dot="."),
                 "pkg/engine.py": ENGINE, "pkg/models.py": MODELS})
    return root / "pkg" / "train.py"


def tail(text: str, lines: int) -> str:
    return "".join(text.splitlines(keepends=True)[-lines:])


def test_loops_in_imported_modules_take_snapshots(sl, tmp_path):
    script = project(tmp_path / "proj")
    engine = script.parent / "engine.py"
    cache = script.parent / "__pycache__"
    writes_bytecode = {"PYTHONDONTWRITEBYTECODE": ""}
    plain = sl.plain(script, cwd=script.parent, env=writes_bytecode)
    assert plain.returncode == 0, plain.stderr
    cached = {p.name: p.read_bytes() for p in cache.glob("*.pyc")}
    assert any(name.startswith("engine.") for name in cached)

    captured = sl.capture(script, cwd=script.parent, env=writes_bytecode,
                          opts=("--inner-every", "0"))
    assert_same_output(plain, captured)
    assert "libraries instrumented: False" in captured.stdout
    # The plain run's bytecode was neither used nor overwritten.
    assert {p.name: p.read_bytes() for p in cache.glob("*.pyc")} == cached

    rows = sl.log()
    batch_line = line_of(engine, "for step, (xb, yb)")
    epoch_line = line_of(script, "for epoch in range")
    inner = [r for r in rows if r["trigger"] == "iteration" and r["file"] == str(engine)]
    assert [r["line"] for r in inner] == [batch_line] * len(inner)
    # Steps 1, 2, 3 of each of the 3 epochs, counted under the script's epoch loop.
    assert [r["loops"] for r in inner] == [[e, s] for e in range(3) for s in (1, 2, 3)]
    outer = [r for r in rows if r["trigger"] == "iteration" and r["line"] == epoch_line]
    assert {r["file"] for r in outer} == {str(script)}
    assert {r["file"] for r in rows} == {str(script), str(engine)}

    objects = sl.objects(f"last@{inner[4]['seq']}")  # epoch 1, steps 0 and 1 done
    assert objects["train_one_epoch:step"]["preview"] == "2"  # the item step 2 works on
    for name in ("train_one_epoch:loss", "train_one_epoch:total", "train_one_epoch:xb",
                 "train_one_epoch:model", "epoch"):
        assert name in objects, sorted(objects)
    assert objects["train_one_epoch:xb"]["shape"] == [16, 4]


def test_resume_inside_a_module_is_refused_with_the_nearest_snapshot(sl, tmp_path):
    script = project(tmp_path / "proj")
    engine = script.parent / "engine.py"
    full = sl.capture(script, cwd=script.parent, opts=("--inner-every", "0"))
    assert full.returncode == 0, full.stderr
    run_id = sl.last_run()["id"]
    rows = sl.log()
    inside = next(r for r in rows if r["file"] == str(engine) and r["loops"] == [1, 2])

    # At a prompt, the module frame's locals are there.
    shown = sl.cli_raw("restore", f"{run_id}@{inside['seq']}", "-c",
                       "print(step, xb.shape, total > loss > 0, type(model).__name__)",
                       json_out=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "2 (16, 4) True Net\n"

    refused = sl.cli_raw("restore", f"{run_id}@{inside['seq']}", "--resume", json_out=False)
    assert refused.returncode == 1
    assert refused.stdout == ""
    line = one_line(refused.stderr)
    assert f"{engine}:{line_of(engine, 'for step, (xb, yb)')}" in line
    before = [r for r in rows if r["file"] == str(script) and r["seq"] < inside["seq"]
              and r["trigger"] in ("iteration", "statement")]
    after = [r for r in rows if r["file"] == str(script) and r["seq"] > inside["seq"]
             and r["trigger"] in ("iteration", "statement")]
    nearest = min(before + after, key=lambda r: (abs(r["seq"] - inside["seq"]), r["seq"]))
    assert f"resume from {run_id}@{nearest['seq']} instead" in line
    assert [r["id"] for r in sl.runs()] == [run_id]  # no failed run left behind

    # The snapshot it names resumes, exactly.
    resumed = sl.cli_raw("restore", f"{run_id}@{nearest['seq']}", "--resume", json_out=False)
    assert resumed.returncode == 0, resumed.stderr
    epoch = nearest["loops"][0] if nearest["loops"] else 1
    assert resumed.stdout == tail(full.stdout, 3 - epoch + 2)
    branch = sl.last_run()
    assert branch["status"] == "finished" and branch["parent_seq"] == nearest["seq"]
    # The resumed run's engine loops are instrumented too.
    assert any(r["file"] == str(engine) for r in sl.log(branch["id"]))
    final = sl.objects(f"{run_id}@last")
    again = sl.objects(f"{branch['id']}@last")
    assert again["model.W1"]["hash"] == final["model.W1"]["hash"]


def test_dash_m_runs_a_package_module_like_python(sl, tmp_path):
    root = tmp_path / "proj"
    train = package(root)
    engine = root / "pkg" / "engine.py"
    plain = run([PYTHON, "-m", "pkg.train", "--epochs", "2"], cwd=root)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.endswith("as __main__ pkg True\n")
    captured = run([BIN, "--store", sl.store, "run", "--python", PYTHON, "--inner-every", "0", "-m", "pkg.train",
                    "--epochs", "2"], cwd=root)
    assert_same_output(plain, captured)
    via_python = run([PYTHON, "-m", "snapline", "run", "--store", tmp_path / "other", "-m",
                      "pkg.train", "--epochs", "2"], cwd=root)
    assert_same_output(plain, via_python)

    rows = sl.log()
    assert {r["file"] for r in rows} == {str(train), str(engine)}
    assert [r["loops"] for r in rows if r["file"] == str(engine)] == [
        [e, s] for e in range(2) for s in (1, 2, 3)]
    run_id = sl.last_run()["id"]

    # A top-level snapshot resumes as the module (relative imports work again).
    between = next(r for r in rows if r["file"] == str(train) and r["loops"] == [1])
    resumed = sl.cli_raw("restore", f"{run_id}@{between['seq']}", "--resume", json_out=False)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == tail(plain.stdout, 3)
    branch = sl.last_run()
    assert sl.objects(f"{branch['id']}@last")["model.W1"]["hash"] == \
        sl.objects(f"{run_id}@last")["model.W1"]["hash"]
    # And at a prompt, with the package its relative imports start from.
    shown = sl.cli_raw("restore", f"{run_id}@{between['seq']}", "-c",
                       "print(__package__, epoch, type(model).__module__)", json_out=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "pkg 1 pkg.models\n"


def test_dash_m_with_a_module_that_does_not_exist(sl, tmp_path):
    root = tmp_path / "proj"
    package(root)
    for name in ("nosuch", "pkg.nosuch", "pkg"):
        plain = run([PYTHON, "-m", name], cwd=root)
        captured = run([BIN, "--store", sl.store, "run", "--python", PYTHON, "-m", name], cwd=root)
        assert_same_output(plain, captured)
        assert captured.returncode == 1 and "No module named" in captured.stderr
    listing = run([BIN, "--store", sl.store, "runs", "--json"])
    assert listing.returncode != 0 or json.loads(listing.stdout) == []


def test_errors_in_modules_look_as_in_plain_python(sl, tmp_path):
    root = tmp_path / "proj"
    write(root, {
        "data.py": '''
            def normalise(values):
                out = []
                for v in values:
                    out.append(1 / v)
                return out
        ''',
        "broken.py": "def f(:\n    pass\n",
        "crash.py": "from data import normalise\nprint(normalise([1, 2]))\n"
                    "print(normalise([4, 0]))\n",
        "syntax.py": "import broken\n",
    })
    for name in ("crash.py", "syntax.py"):
        plain = sl.plain(root / name, cwd=root)
        captured = sl.capture(root / name, cwd=root)
        assert_same_output(plain, captured)
        assert captured.returncode == 1
    # The crash's snapshot holds the failing frame of data.py.
    crash = next(r for r in sl.runs() if r["script"] == "crash.py")
    last = sl.log(crash["id"])[-1]
    assert last["trigger"] == "exception"
    assert (last["file"], last["line"]) == (str(root / "data.py"), 4)
    objects = sl.objects(f"{crash['id']}@last")
    assert objects["normalise:v"]["preview"] == "0"
