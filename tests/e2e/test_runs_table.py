"""Runs compared like MLflow (issue #19): `snapline runs --where/--columns/--sort`
builds a table from each run's command line, argparse Namespace and config
dataclass plus its final metrics; times are local with the zone, `--utc` for UTC."""

from __future__ import annotations

import re

import pytest
from conftest import BIN, Snapline, one_line, run

TRAIN = """
import argparse
from dataclasses import dataclass

import numpy as np


@dataclass
class Config:
    hidden: int = 4
    epochs: int = 4


parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--shuffle", action="store_true")
args = parser.parse_args()
cfg = Config()

rng = np.random.default_rng(0)
x = rng.normal(size=(32, 3))
y = (x.sum(axis=1) > 0).astype(float)
w = np.zeros(3)
for epoch in range(cfg.epochs):
    for i in range(0, 32, args.batch_size):
        xb, yb = x[i:i + args.batch_size], y[i:i + args.batch_size]
        p = 1 / (1 + np.exp(-xb @ w))
        w -= args.lr * xb.T @ (p - yb) / len(yb)
    p = 1 / (1 + np.exp(-x @ w))
    loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
    val_acc = float(np.mean((p > 0.5) == y))
    print(f"epoch {epoch} loss {loss:.4f} val_acc {val_acc:.3f}")
"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapline, dict]:
    """The script captured with --lr 0.5 and with --lr=0.001 --shuffle."""
    root = tmp_path_factory.mktemp("runs_table")
    sl = Snapline(root / "store", root / "scripts")
    script = sl.script(TRAIN, "train.py")
    for args in (("--lr", "0.5"), ("--lr=0.001", "--shuffle")):
        done = sl.capture(script, *args)
        assert done.returncode == 0, done.stderr
    fast, slow = (r["id"] for r in sl.runs())
    return sl, {"fast": fast, "slow": slow}


def test_where_picks_runs_by_their_arguments(two_runs):
    sl, ids = two_runs
    table = sl.cli("runs", "--where", "lr < 0.01")
    assert [r["id"] for r in table["rows"]] == [ids["slow"]]
    assert table["total_runs"] == 2
    row = table["rows"][0]
    # Typed from the argparse Namespace, the dataclass config, the final metrics.
    assert row["values"]["lr"] == 0.001
    assert row["values"]["batch_size"] == 8
    assert row["values"]["shuffle"] is True
    assert row["values"]["hidden"] == 4
    assert 0 <= row["values"]["final:val_acc"] <= 1
    assert row["values"]["min:loss"] <= row["values"]["max:loss"]
    assert isinstance(row["started_at"], float)
    sources = {c["name"]: c["source"] for c in table["available"]}
    assert sources["lr"] == "argument" and sources["hidden"] == "config"
    assert sources["final:loss"] == "metric"

    both = sl.cli("runs", "--where", "final val_acc >= 0 and (lr > 0.1 or shuffle == true)")
    assert [r["id"] for r in both["rows"]] == [ids["fast"], ids["slow"]]
    assert sl.cli("runs", "--where", "not lr < 1")["rows"] == []


def test_columns_and_sort(two_runs):
    sl, ids = two_runs
    table = sl.cli("runs", "--columns", "lr,batch_size,final:loss", "--sort", "lr")
    assert [c["name"] for c in table["columns"]] == ["lr", "batch_size", "final:loss"]
    assert [r["id"] for r in table["rows"]] == [ids["slow"], ids["fast"]]
    down = sl.cli("runs", "--sort", "lr", "--desc")
    assert [r["id"] for r in down["rows"]] == [ids["fast"], ids["slow"]]

    text = sl.cli_raw("runs", "--columns", "lr,final:loss", "--where", "lr > 0.1",
                      json_out=False)
    assert text.returncode == 0, text.stderr
    header, *rows = text.stdout.splitlines()
    assert header.split() == ["ID", "STARTED", "lr", "final:loss"]
    assert len(rows) == 1 and rows[0].startswith(ids["fast"]) and " 0.5 " in rows[0]


@pytest.mark.parametrize("expr, where", [
    ("lr <", "character 5"),
    ("lr 0.01", "character 4"),
    ("(lr < 1", "expected `)`"),
    ("lr < 'x", "no closing"),
    ("learning_rate < 1", "unknown column 'learning_rate'"),
])
def test_bad_filters_say_where(two_runs, expr, where):
    sl, _ = two_runs
    code, err = sl.cli_fail("runs", "--where", expr, json_out=False)
    assert code == 2
    line = one_line(err)
    assert line.startswith("snapline: error: ") and where in line, line
    code, err = sl.cli_fail("runs", "--columns", "lr,nope", json_out=False)
    assert "unknown column 'nope'" in one_line(err)


def test_times_are_local_with_the_zone_or_utc(two_runs):
    sl, ids = two_runs
    stamp = r"\d{4}-\d\d-\d\d (\d\d):(\d\d:\d\d) "

    def started(*args: str, tz: str | None = None) -> re.Match:
        done = run([BIN, "--store", sl.store, "runs", *args], env={"TZ": tz} if tz else None)
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stdout.splitlines() if x.startswith(ids["fast"]))
        found = re.search(stamp + r"(\S+)", line)
        assert found, line
        return found

    paris = started(tz="Europe/Paris")
    assert paris.group(3) in ("CET", "CEST"), paris.group(0)
    utc = started("--utc", tz="Europe/Paris")
    assert utc.group(3) == "UTC", utc.group(0)
    # The same instant: Paris is one or two hours ahead.
    assert (int(paris.group(1)) - int(utc.group(1))) % 24 in (1, 2)
    assert paris.group(2) == utc.group(2)
