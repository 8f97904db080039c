"""Curves at the resolution of the loop: the scalar variables a loop
assigns become metric points at every iteration, at the training step,
whether or not a snapshot is taken; values that never change are not
curves."""

from __future__ import annotations

import re

import pytest

MNIST_STYLE = """
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(20, hidden)
        self.fc2 = nn.Linear(hidden, 4)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def train(args, model, loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx}]\\tLoss: {loss.item():.6f}")


def test(model, loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(loader.dataset)
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}")
    return test_loss


parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--log-interval", type=int, default=2)
args = parser.parse_args()
torch.manual_seed(1)
hidden = 16
x = torch.randn(96, 20)
y = torch.randint(0, 4, (96,))
dataset = torch.utils.data.TensorDataset(x, y)
train_loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True)
test_loader = torch.utils.data.DataLoader(dataset, batch_size=32)
model = Net(hidden)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(1, args.epochs + 1):
    train(args, model, train_loader, optimizer, epoch)
    test(model, test_loader)
"""


def test_mnist_style_loss_has_a_point_per_batch(sl):
    pytest.importorskip("torch")
    script = sl.script(MNIST_STYLE)
    done = sl.capture(script, "--epochs", "3")
    assert done.returncode == 0, done.stderr
    plain = sl.plain(script, "--epochs", "3")
    assert done.stdout == plain.stdout
    printed = [float(v) for v in re.findall(r"Loss: (\S+)", done.stdout)]
    assert len(printed) == 9  # batches 0, 2, 4 of 6 in each of 3 epochs

    # No inner-loop snapshot was due (default --inner-every 5), yet the loss
    # of every batch is a point, at the training step.
    (loss,) = sl.cli("metrics", "last", "loss")
    assert loss["name"] == "train:loss"
    points = loss["points"]
    assert len(points) == 18  # 6 batches x 3 epochs
    assert [p["step"] for p in points] == list(range(1, 19))
    assert all(p["seq"] is None for p in points)
    assert [p["epoch"] for p in points] == [0] * 6 + [1] * 6 + [2] * 6
    logged = [points[i]["value"] for i in (0, 2, 4, 6, 8, 10, 12, 14, 16)]
    assert logged == pytest.approx(printed, abs=1e-6)

    # The test loop's accumulators and the returned average are curves too.
    names = {s["name"] for s in sl.cli("metrics", "last")}
    assert {"train:loss", "test:test_loss", "test:correct"} <= names
    # Values that never change are variables, not series: the layer size,
    # the log interval. They are still listed with --all.
    assert "hidden" not in names
    everything = {s["name"] for s in sl.cli("metrics", "last", "--all")}
    assert "hidden" in everything


TEN_SCALARS = """
import math

history = []
lr = 0.5
for step in range(200):
    a = math.sin(step)
    b = a * 2.0
    c = b + 1
    d = step * 0.5
    e = float(step % 7)
    f = 1.0 / (step + 1)
    g = math.cos(step)
    h = a - g
    i = int(step // 3)
    j = lr  # never changes
    history.append(a)
print(len(history), round(sum(history), 6))
"""


def test_every_iteration_of_a_top_level_loop_is_a_point(sl):
    script = sl.script(TEN_SCALARS)
    done = sl.capture(script, opts=("--outer-every", "100"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == sl.plain(script).stdout
    iterations = [r for r in sl.log() if r["trigger"] == "iteration"]
    assert len(iterations) <= 1  # throttled: points do not need snapshots
    series = {s["name"]: s for s in sl.cli("metrics", "last")}
    assert set("abcdefghi") <= set(series)
    assert "j" not in series and "lr" not in series
    (a,) = sl.cli("metrics", "last", "a")
    import math

    assert [p["value"] for p in a["points"]] == pytest.approx([math.sin(s) for s in range(200)])
    assert [p["step"] for p in a["points"]] == list(range(1, 201))
    # `i` changes every third step: a point only when it changed.
    (i,) = sl.cli("metrics", "last", "i")
    assert [p["value"] for p in i["points"]] == list(range(67))


def test_loop_left_by_break_records_its_last_values(sl):
    script = sl.script("""
        best = None
        for epoch in range(100):
            val = 10.0 / (epoch + 1)
            if val < 2.6:
                break
        print(epoch, val)
    """)
    done = sl.capture(script)
    assert done.returncode == 0, done.stderr
    (val,) = sl.cli("metrics", "last", "val")
    assert [p["value"] for p in val["points"]] == pytest.approx([10.0, 5.0, 10 / 3, 2.5])


def test_reading_a_loss_that_requires_grad_prints_nothing(sl):
    pytest.importorskip("torch")
    script = sl.script("""
        import warnings

        import torch

        warnings.simplefilter("always")
        torch.set_num_threads(1)
        w = torch.zeros(3, requires_grad=True)
        for step in range(5):
            loss = ((w - 1.0) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        print(round(float(loss.detach()), 6))
    """)
    done = sl.capture(script)
    plain = sl.plain(script)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == (plain.stdout, plain.stderr)
    (loss,) = sl.cli("metrics", "last", "loss")
    assert len(loss["points"]) == 5
