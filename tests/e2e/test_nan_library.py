"""`snapline nan` reports the user's numbers: a matplotlib figure (whose
transforms and data limits hold ±Inf by design) plotted before training is
never the first NaN, a divergence after it is found at its epoch, and a
`best = float("inf")` sentinel is listed apart, not reported."""

from __future__ import annotations

import re

import pytest
from conftest import python_has

# A least-squares model trained by gradient descent after plotting its
# targets; too large a learning rate makes it diverge.
TRAIN = """
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

lr = float(sys.argv[1])
epochs = int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((64, 3)).astype(np.float32)
true_w = np.array([1.5, -2.0, 0.5], dtype=np.float32)
y = X @ true_w + np.float32(0.1) * rng.standard_normal(64).astype(np.float32)

fig, ax = plt.subplots(figsize=(4, 3))
ax.hist(y, bins=10)
ax.set_title("targets")
fig.savefig("targets.png")

w = np.zeros(3, dtype=np.float32)
best = float("inf")
with np.errstate(over="ignore", invalid="ignore"):
    for epoch in range(epochs):
        err = X @ w - y
        loss = float(np.mean(err ** 2))
        w = w - lr * (2 * X.T @ err / len(y))
        best = min(best, loss)
        print(f"epoch {epoch} loss {loss:.4g}")
print(f"best loss {best:.4g}")
"""

EPOCHS = 25


@pytest.fixture(scope="module", autouse=True)
def need_matplotlib() -> None:
    if not python_has("matplotlib"):
        pytest.skip("matplotlib is not installed for the test interpreter")


def first_bad_epoch(stdout: str) -> int:
    """The first epoch whose printed loss is not finite."""
    for line in stdout.splitlines():
        found = re.fullmatch(r"epoch (\d+) loss (\S+)", line)
        if found and found.group(2) in ("inf", "nan"):
            return int(found.group(1))
    raise AssertionError(f"the run did not diverge:\n{stdout}")


def iteration_seqs(sl) -> dict:
    """loop counter -> seq of the training loop's iteration snapshots."""
    return {s["loops"][0]: s["seq"] for s in sl.log() if s["trigger"] == "iteration"}


def figure_paths(report: dict, key: str) -> list:
    return [o["path"] for o in report[key] if o["path"].split(".")[0] in ("fig", "ax")]


def test_a_divergence_after_plotting_is_found_at_its_epoch(sl, tmp_path):
    script = sl.script(TRAIN, name="train.py")
    plain = sl.plain(script, "50", str(EPOCHS), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    epoch = first_bad_epoch(plain.stdout)
    assert 2 < epoch < EPOCHS - 2, "the divergence must come well after plotting"

    # Every epoch (these toy epochs are shorter than their snapshots: the
    # time budget alone would skip some).
    done = sl.capture(script, "50", str(EPOCHS), cwd=tmp_path, opts=("--outer-every", "0"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain.stdout, "capture changed the program's output"
    r = sl.cli("nan")
    # The snapshot after iteration `epoch` has completed epoch + 1 iterations.
    assert r["first"]["trigger"] == "iteration"
    assert r["first"]["loops"] == [epoch + 1]
    assert r["first"]["seq"] == iteration_seqs(sl)[epoch + 1]
    began = {o["path"]: o for o in r["began"]}
    assert "loss" in began and began["loss"]["began_as"] == "inf", r["began"]
    assert not figure_paths(r, "began") and not figure_paths(r, "followed")
    # The figure's ±Inf are listed apart, as a library's.
    holders = {h["holder"]: h for h in r["library"]}
    assert holders["fig"]["type"] == "matplotlib.figure.Figure", r["library"]
    assert holders["fig"]["objects"] > 0 and holders["fig"]["seq"] == r["first"]["seq"]
    # `best = float("inf")` is the user's sentinel: listed, not the first NaN.
    assert [s["name"] for s in r["sentinels"]] == ["best"]
    assert r["sentinels"][0]["value"] == "inf"
    assert "best" not in began and "best" not in [m["name"] for m in r["metrics"]]

    text = sl.cli_raw("nan", json_out=False)
    assert text.returncode == 0, text.stderr
    assert f"first appeared at snapshot {r['first']['seq']}" in text.stdout
    assert "fig (matplotlib.figure.Figure) holds" in text.stdout
    assert "best = inf until snapshot" in text.stdout


def test_a_run_that_converges_after_plotting_has_no_nan(sl, tmp_path):
    script = sl.script(TRAIN, name="train.py")
    done = sl.capture(script, "0.05", "6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "nan" not in done.stdout and "inf" not in done.stdout
    r = sl.cli("nan")
    assert r["first"] is None, r
    assert r["began"] == [] and r["followed"] == [] and r["metrics"] == []
    assert "fig" in {h["holder"] for h in r["library"]}
    assert [s["name"] for s in r["sentinels"]] == ["best"]
    # `best` turns finite at the end of the first epoch.
    assert r["sentinels"][0]["finite_from"] == iteration_seqs(sl)[1]
    text = sl.cli_raw("nan", json_out=False)
    assert "no NaN or Inf in the program's state" in text.stdout


# A torch regression with a plateau scheduler (whose `best` starts at inf)
# and a loss-curve figure made before training.
TORCH_TRAIN = """
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

torch.set_num_threads(1)
torch.manual_seed(0)
lr = float(sys.argv[1])
X = torch.randn(128, 4)
y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

fig, ax = plt.subplots()
ax.scatter(X[:, 0].numpy(), y[:, 0].numpy(), s=4)
fig.savefig("data.png")

model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=100)
loss_fn = nn.MSELoss()
for epoch in range(20):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    scheduler.step(loss.item())
    norm = sum(p.detach().double().pow(2).sum() for p in model.parameters()) ** 0.5
    print(f"epoch {epoch} loss {loss.item():.4g} |w| {norm.item():.4g}")
"""


def test_a_torch_divergence_after_plotting_with_a_plateau_scheduler(sl, tmp_path, need_torch):
    script = sl.script(TORCH_TRAIN, name="train_torch.py")
    plain = sl.plain(script, "0.5", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    # The snapshot after iteration e holds that iteration's loss and the
    # weights it updated: the first epoch where either is not finite.
    bad = [int(m.group(1)) for m in re.finditer(
        r"^epoch (\d+) loss (\S+) \|w\| (\S+)$", plain.stdout, re.MULTILINE)
        if {m.group(2), m.group(3)} & {"inf", "nan"}]
    assert bad and bad[0] > 1, plain.stdout
    done = sl.capture(script, "0.5", cwd=tmp_path, opts=("--outer-every", "0"))  # every epoch
    assert done.returncode == 0, done.stderr
    r = sl.cli("nan")
    assert r["first"]["loops"] == [bad[0] + 1], r["first"]
    paths = [o["path"] for o in r["began"] + r["followed"]]
    assert any(p.startswith("model.") for p in paths), paths
    assert not [p for p in paths if p.split(".")[0] in ("fig", "ax", "scheduler")], paths
    assert "scheduler" not in [m["name"].split(".")[0] for m in r["metrics"]]
    assert "fig" in {h["holder"] for h in r["library"]}
