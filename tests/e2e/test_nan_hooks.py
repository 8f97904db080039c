"""`--nan-hooks`: the first module and step whose output or gradient went
non-finite, and the first numpy floating-point warning, recorded as events
(read here straight from the catalog, and through `snapline nan`), with the program's output, warnings and exit status unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import BIN, PYTHON, assert_same_output, line_of, run


def events(store: Path) -> list:
    """Every event of every run in the store: (run ordinal, time, seq, kind, detail)."""
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        rows = conn.execute(
            "SELECT r.ordinal, e.time, e.seq, e.kind, e.detail FROM events e "
            "JOIN runs r ON r.id = e.run_id ORDER BY r.ordinal, e.time, e.rowid").fetchall()
    return [(o, t, s, k, json.loads(d)) for o, t, s, k, d in rows]


def snapshot_times(store: Path) -> dict:
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        return dict(conn.execute("SELECT seq, time FROM snapshots"))


def agent_warnings(store: Path) -> list:
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        return [m for (m,) in conn.execute("SELECT message FROM warnings")]


def capture_with_hooks(sl, script: Path, how: str, *args: str, opts: tuple = ()):
    if how == "python":
        return sl.capture(script, *args, opts=("--nan-hooks", *opts))
    return run([BIN, "--store", sl.store, "run", "--python", PYTHON, "--nan-hooks", *opts, script,
                *args])


# A model whose `boom` layer overflows to +Inf from step 5 on; the loss is
# an nn.Module too, so the backward pass's first non-finite gradient is the
# one its backward computes from the NaN output.
BOOM = """
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)


class Boom(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = 1.0

    def forward(self, x):
        return x * self.scale * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.ReLU(inplace=True)
        self.boom = Boom()
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        h = self.act(self.fc1(x))
        h = self.boom(h)
        return self.fc2(h)


model = Net()
loss_fn = nn.MSELoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(32, 8)
y = torch.randn(32, 4)


def train_step(step):
    model.boom.scale = 1e30 if step >= 5 else 1.0
    opt.zero_grad()
    out = model(x)
    loss = loss_fn(out, y)
    loss.backward()
    opt.step()
    return loss.item()


for step in range(8):
    print(step, train_step(step))
"""


@pytest.mark.parametrize("how", ["python", "binary"])
def test_torch_forward_and_backward_name_module_step_and_line(sl, need_torch, how):
    script = sl.script(BOOM, name="boom.py")
    plain = sl.plain(script)
    assert plain.returncode == 0, plain.stderr
    assert "5 nan" in plain.stdout
    captured = capture_with_hooks(sl, script, how)
    assert_same_output(plain, captured)
    assert agent_warnings(sl.store) == []

    found = events(sl.store)
    assert [(kind, d["phase"]) for _, _, _, kind, d in found] == [
        ("nonfinite", "forward"), ("nonfinite", "backward")]
    (_, f_time, f_seq, _, forward), (_, b_time, b_seq, _, backward) = found

    # Forward: the innermost module that produced the Inf, at its call site.
    assert forward["source"] == "torch"
    assert (forward["module"], forward["class"], forward["root"]) == ("boom", "Boom", "model")
    assert forward["step"] == 5  # model had completed 5 forward calls
    assert forward["loops"] == [5]
    assert forward["what"] == "output"
    assert forward["posinf"] > 0 and forward["nan"] == 0 and forward["neginf"] == 0
    assert forward["shape"] == [32, 16]
    assert forward["file"] == str(script)
    assert forward["line"] == line_of(script, "h = self.boom(h)")
    assert forward["function"] == "forward"
    assert forward["message"] == (
        f"boom (Boom) output has {forward['posinf']} +Inf at forward step 5")
    (inp,) = forward["inputs"]  # the ReLU's output: finite, non-negative
    assert inp["shape"] == [32, 16] and inp["dtype"] == "float32"
    assert inp["min"] == 0.0 and 0.0 < inp["max"] < 100.0
    assert (inp["nan"], inp["posinf"], inp["neginf"]) == (0, 0, 0)

    # Backward: MSELoss's backward turns the NaN output into NaN gradients.
    assert (backward["module"], backward["class"], backward["root"]) == (
        "loss_fn", "MSELoss", "loss_fn")
    assert backward["step"] == 5 and backward["loops"] == [5]
    assert backward["what"] == "grad_input"
    assert backward["nan"] > 0 and backward["shape"] == [32, 4]
    assert backward["line"] == line_of(script, "loss.backward()")
    assert backward["function"] == "train_step"

    # Each event sits after the last snapshot committed before it.
    times = snapshot_times(sl.store)
    for event_time, seq in ((f_time, f_seq), (b_time, b_seq)):
        assert seq is not None
        assert times[seq] <= event_time
        assert seq + 1 not in times or times[seq + 1] >= event_time

    # `snapline nan` names them beside the first non-finite snapshot.
    report = sl.cli("nan")
    assert [h["detail"]["module"] for h in report["hooks"]] == ["boom", "loss_fn"]
    assert [h["after_seq"] for h in report["hooks"]] == [f_seq, b_seq]
    assert report["first"] is not None
    text = sl.cli_raw("nan", json_out=False)
    assert text.returncode == 0, text.stderr
    assert "caught by --nan-hooks:" in text.stdout
    assert f"{forward['message']} at boom.py:{forward['line']}" in text.stdout
    assert "input 0: shape [32,16]" in text.stdout


def test_no_events_without_the_option(sl, need_torch):
    script = sl.script(BOOM, name="boom.py")
    captured = sl.capture(script)
    assert captured.returncode == 0, captured.stderr
    assert events(sl.store) == []


# Forward stays finite; the backward of sqrt at the ReLU's zeros is +-Inf.
SQRT = """
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)


class Sqrt(nn.Module):
    def __init__(self):
        super().__init__()
        self.on = False

    def forward(self, x):
        return torch.sqrt(x) if self.on else x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.ReLU()
        self.sqrt = Sqrt()
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(self.sqrt(self.act(self.fc1(x))))


net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x = torch.randn(32, 8)
y = torch.randn(32, 1)
for step in range(6):
    net.sqrt.on = step >= 3
    opt.zero_grad()
    loss = ((net(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 6))
"""


def test_torch_backward_names_the_module_whose_backward_went_non_finite(sl, need_torch):
    script = sl.script(SQRT, name="sqrt.py")
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--nan-hooks",))
    assert_same_output(plain, captured)
    assert agent_warnings(sl.store) == []
    (_, _, _, _, detail), = events(sl.store)
    # sqrt's grad_output is finite, its grad_input is not: sqrt is named,
    # not the ReLU whose output that gradient belongs to.
    assert (detail["phase"], detail["module"], detail["class"], detail["root"]) == (
        "backward", "sqrt", "Sqrt", "net")
    assert detail["what"] == "grad_input"
    assert detail["step"] == 3 and detail["loops"] == [3]
    assert detail["posinf"] + detail["neginf"] > 0
    assert detail["line"] == line_of(script, "loss.backward()")
    assert detail["function"] == "<module>"
    assert detail["message"].startswith("sqrt (Sqrt) grad_input has ")


# torch imported inside a function, snapshots only at loop iterations: the
# hooks go in at the first safe point after the import (the loop's entry).
LAZY = """
def main():
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    x = torch.randn(8, 4)
    for step in range(4):
        if step == 2:
            x[0, 0] = float("nan")
        print(step, model(x).sum().item())


main()
"""


def test_torch_imported_late_inside_a_function(sl, need_torch):
    script = sl.script(LAZY, name="lazy.py")
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--nan-hooks", "--no-statements"))
    assert_same_output(plain, captured)
    (_, _, _, _, detail), = events(sl.store)
    assert (detail["phase"], detail["module"], detail["class"]) == ("forward", "0", "Linear")
    assert detail["root"] == "model"  # a local of main(), as no global holds it
    assert detail["step"] == 2 and detail["loops"] == [2]
    assert detail["nan"] == 4  # one NaN input reaches the 4 outputs of its row
    assert detail["inputs"][0]["nan"] == 1
    assert detail["line"] == line_of(script, "print(step, model(x)")
    assert detail["function"] == "main"


# What must not change under the hooks: in-place ops on hooked outputs,
# dict/tuple outputs and keyword arguments, DataLoader workers (fork), no_grad
# and inference_mode, torch.jit.trace, and torch.compile (which warns about
# global module hooks: not about ours).
TRANSPARENT = """
import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.set_num_threads(1)


class Multi(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.act = nn.ReLU(inplace=True)
        self.b = nn.Linear(4, 4)

    def forward(self, x, scale=1.0):
        h = self.a(x)
        h.mul_(2)
        h = self.act(h)
        return {"out": self.b(h) * scale, "aux": (h, None)}


model = Multi()
data = TensorDataset(torch.randn(64, 4), torch.randn(64, 4))
loader = DataLoader(data, batch_size=16, shuffle=True, num_workers=2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = ((model(xb, scale=2.0)["out"] - yb) ** 2).mean()
        loss.backward()
        opt.step()
    print(epoch, round(loss.item(), 5))
with torch.no_grad():
    print(model(data.tensors[0][:2])["out"].shape)
with torch.inference_mode():
    print(model(data.tensors[0][:2])["out"].sum().item() != 0)
seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 1))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # jit.trace's deprecation notice
    traced = torch.jit.trace(seq, torch.randn(2, 4))
print(traced(torch.ones(1, 4)).shape)
compiled = torch.compile(seq, backend="eager")
for _ in range(2):
    out = compiled(torch.ones(3, 4)).sum()
    out.backward()
print(round(out.item(), 5))
"""


def test_torch_programs_unchanged(sl, need_torch):
    script = sl.script(TRANSPARENT, name="transparent.py")
    plain = sl.plain(script)
    assert plain.returncode == 0, plain.stderr
    captured = sl.capture(script, opts=("--nan-hooks",))
    assert_same_output(plain, captured)
    assert events(sl.store) == []
    assert agent_warnings(sl.store) == []


RAISES = """
import torch
from torch import nn


class Bad(nn.Module):
    def forward(self, x):
        raise ValueError("bad input shape")


model = nn.Sequential(nn.Linear(2, 2), Bad())
try:
    model(torch.ones(1, 2))
except ValueError as exc:
    print("caught", exc)
model(torch.ones(1, 2))
"""


def test_an_exception_in_a_module_goes_through_unchanged(sl, need_torch):
    script = sl.script(RAISES, name="raises.py")
    plain = sl.plain(script)
    captured = sl.capture(script, opts=("--nan-hooks",))
    assert plain.returncode == captured.returncode == 1
    assert captured.stdout == plain.stdout == "caught bad input shape\n"
    # Same exception, same frames of the script; only torch's own frames
    # differ (with a global hook in, torch runs modules through `inner`).
    def script_lines(stderr: str) -> list:
        lines = stderr.splitlines()
        return [line for line in lines if str(script) in line] + lines[-1:]

    assert script_lines(captured.stderr) == script_lines(plain.stderr)
    assert captured.stderr.splitlines()[-1] == "ValueError: bad input shape"
    assert events(sl.store) == []
    assert agent_warnings(sl.store) == []
    assert sl.last_run()["status"] == "failed"


NUMPY = """
import numpy as np


def compute(values):
    out = np.log(values)
    return out


print(compute(np.array([1.0, -1.0, 0.0])))
print(np.array([1.0]) / np.array([0.0]))
"""


@pytest.mark.parametrize("how", ["python", "binary"])
def test_numpy_first_warning_recorded_and_shown_unchanged(sl, how):
    script = sl.script(NUMPY, name="np_warn.py")
    plain = sl.plain(script)
    assert "RuntimeWarning: divide by zero encountered in log" in plain.stderr
    assert "invalid value encountered in log" in plain.stderr
    captured = capture_with_hooks(sl, script, how)
    assert_same_output(plain, captured)
    (_, _, seq, kind, detail), = events(sl.store)
    assert kind == "nonfinite" and seq is not None
    assert detail == {
        "source": "numpy", "phase": "numpy", "module": None, "class": None, "root": None,
        "step": None, "loops": [], "what": "result", "nan": None, "posinf": None,
        "neginf": None, "shape": None, "inputs": [], "file": str(script),
        "line": line_of(script, "out = np.log(values)"), "function": "compute",
        "message": "divide by zero encountered in log"}


NUMPY_IGNORED = """
import numpy as np

np.seterr(all="ignore")
print(np.log(np.array([-1.0, 0.0])))
for i in range(3):
    print(i, np.float64(1e308) * 10)
"""


def test_numpy_errors_numpy_does_not_warn_about_are_not_recorded(sl):
    script = sl.script(NUMPY_IGNORED, name="np_ignored.py")
    plain = sl.plain(script)
    # No budget: its note on stderr (the first loop snapshot alone can take
    # the 0.02 s floor on a loaded machine) is not this test's subject.
    captured = sl.capture(script, opts=("--nan-hooks", "--budget", "0"))
    assert_same_output(plain, captured)
    assert plain.stderr == ""
    assert events(sl.store) == []


def test_numpy_warning_not_recorded_without_the_option(sl):
    script = sl.script(NUMPY, name="np_warn.py")
    captured = sl.capture(script)
    assert captured.returncode == 0
    assert "divide by zero" in captured.stderr
    assert events(sl.store) == []
