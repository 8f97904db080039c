"""Metric series and plots (issue #4): `snapline metrics --x`, `snapline plot`
to PNG and SVG, several runs on one chart, decimation that keeps spikes and
NaNs, and bad input answered with one line and exit status 2."""

from __future__ import annotations

import json
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES, PYTHON, Snapline, one_line

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Logged points with their own steps; names differ from the script's
# variables so each series holds one kind of point.
LOGGER = """
import math
import snapline

step = 0
for epoch in range(4):
    for batch in range(1500):
        step += 1
        value = 2.0 * math.exp(-step / 2000) + 0.1 * ((step * 7919) % 13) / 13
        if step == 4321:
            value = float("nan")
        if step == 3000:
            value = 40.0
        snapline.log(step=step, train_loss=value)
    accuracy = 1 - math.exp(-(epoch + 1) / 2)
"""


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapline, list[str]]:
    """examples/numpy_mlp.py captured twice (two learning rates) into one store."""
    root = tmp_path_factory.mktemp("plot")
    sl = Snapline(root / "store", root / "scripts")
    for lr in ("0.5", "0.2"):
        done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "8", "--lr", lr)
        assert done.returncode == 0, done.stderr
    return sl, [r["id"] for r in sl.runs()]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def plot_fail(sl: Snapline, *args: str) -> str:
    """The one error line of a plot that must fail with exit status 2."""
    done = sl.cli_raw("plot", *args, json_out=False)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    line = one_line(done.stderr)
    assert line.startswith("snapline: error: ")
    assert "panicked" not in done.stderr
    return line


def test_plot_png_and_svg(mlp, tmp_path):
    sl, _ = mlp
    png = tmp_path / "curves.png"
    done = sl.cli_raw("plot", "last", "loss", "accuracy", "-o", png, json_out=False)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    assert png_size(png) == (1280, 720)

    svg = tmp_path / "curves.svg"
    done = sl.cli_raw("plot", "loss", "-o", svg, "--width", "800", "--height", "500",
                      json_out=False)
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(svg.read_text())
    assert root.tag.endswith("svg")
    assert root.get("width") == "800"
    texts = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    assert any("loss" in t for t in texts)
    assert any("snapshot" in t for t in texts)
    # Written atomically: nothing else is left in the directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "curves.svg"]


def test_metrics_json_has_every_series_with_x(mlp):
    sl, _ = mlp
    series = sl.cli("metrics", "last")
    names = {s["name"] for s in series}
    assert {"loss", "accuracy"} <= names
    loops = {snap["seq"]: snap["loops"] for snap in sl.log()}
    for s in series:
        assert s["x_axis"] == "step"
        for p in s["points"]:
            if p["seq"] is None:  # read between snapshots: its own (loop) step
                assert p["x"] == p["step"]
            else:  # the training step of its snapshot: the loop's count, else the epoch
                at = loops[p["seq"]]
                assert p["x"] == (at[0] if len(at) == 1 else p["epoch"])

    started = sl.last_run()["started_at"]
    (loss,) = sl.cli("metrics", "last", "loss", "--x", "time")
    assert loss["x_axis"] == "time"
    for p in loss["points"]:
        assert p["x"] == pytest.approx(p["time"] - started)
        assert p["x"] >= 0

    (by_epoch,) = sl.cli("metrics", "last", "loss", "--x", "epoch")
    assert [p["x"] for p in by_epoch["points"]] == [float(p["epoch"]) for p in by_epoch["points"]]

    table = sl.cli_raw("metrics", "last", "loss", "--x", "time", json_out=False)
    assert table.returncode == 0
    assert table.stdout.splitlines()[1].split()[0] == "TIME"


def test_plot_json_on_each_axis(mlp):
    sl, _ = mlp
    log = sl.log()
    (view,) = sl.cli("plot", "last", "loss")
    assert view["x_axis"] == "step"
    assert view["decimated"] is False
    assert view["raw_points"] == view["total_points"] == len(view["points"])
    assert view["smoothed"] is None
    # The epoch loop reads `loss` at each iteration: its x is the loop's step
    # (epochs done), and each snapshot sits at the step reached when it was
    # taken (the statement snapshots before the loop are left out).
    assert [p[0] for p in view["points"]] == [float(e) for e in range(1, 9)]
    assert view["snapshots"] == [float(e) for e in range(1, 9)]
    (seen,) = sl.cli("plot", "last", "accuracy")
    assert len(seen["points"]) == 8

    (timed,) = sl.cli("plot", "last", "loss", "--x", "time", "--smooth", "0.6")
    started = sl.last_run()["started_at"]
    assert timed["snapshots"][-1] == pytest.approx(log[-1]["time"] - started)
    assert timed["smoothed"][0] == timed["points"][0]  # bias correction
    xs = [p[0] for p in timed["points"]]
    assert xs == sorted(xs)

    (epochs,) = sl.cli("plot", "last", "loss", "--x", "epoch", "--from", "2", "--to", "5")
    assert all(2 <= p[0] <= 5 for p in epochs["points"])
    assert all(2 <= x <= 5 for x in epochs["snapshots"])


def test_two_runs_on_one_chart(mlp, tmp_path):
    sl, (first, second) = mlp
    out = tmp_path / "two.png"
    views = sl.cli("plot", first[:6], second, "loss", "accuracy", "-o", out)
    assert [(v["run"], v["name"]) for v in views] == [
        (first, "loss"), (second, "loss"), (first, "accuracy"), (second, "accuracy")]
    assert views[0]["points"] != views[1]["points"]  # two learning rates
    assert png_size(out) == (1280, 720)


def test_decimation_keeps_spikes_and_nans(sl, tmp_path):
    done = sl.capture(LOGGER)
    assert done.returncode == 0, done.stderr
    (view,) = sl.cli("plot", "last", "train_loss", "--width", "300")
    assert view["total_points"] == 6000
    assert view["decimated"] is True
    assert len(view["points"]) <= 4 * 300
    assert [3000.0, 40.0] in view["points"]
    nans = [m for m in view["markers"] if m["kind"] == "nan"]
    assert len(nans) == 1 and nans[0]["x"] == 4321.0 and nans[0]["count"] == 1

    # A narrow range comes back at full resolution.
    (narrow,) = sl.cli("plot", "last", "train_loss", "--width", "300",
                       "--from", "4000", "--to", "4499")
    assert narrow["decimated"] is False
    assert narrow["raw_points"] == 500
    assert [p[0] for p in narrow["points"]] == [float(s) for s in range(4000, 4500) if s != 4321]

    out = tmp_path / "logged.png"
    done = sl.cli_raw("plot", "train_loss", "-o", out, "--smooth", "0.9", "--log-y",
                      json_out=False)
    assert done.returncode == 0, done.stderr
    assert png_size(out) == (1280, 720)


def test_unknown_series_names_it_and_the_available_ones(mlp, tmp_path):
    sl, (first, _) = mlp
    line = plot_fail(sl, first, "val_acc", "-o", str(tmp_path / "x.png"))
    assert "'val_acc'" in line and first in line
    assert "loss" in line and "accuracy" in line
    assert not (tmp_path / "x.png").exists()


def test_bad_outputs_and_options(mlp, tmp_path):
    sl, _ = mlp
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "x.jpg"))
    assert "x.jpg" in line and ".png or .svg" in line
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "missing" / "x.png"))
    assert "does not exist" in line and "missing" in line
    line = plot_fail(sl, "last", "loss")
    assert "-o FILE.png" in line
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "x.png"), "--smooth", "1.5")
    assert "smoothing" in line
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "x.png"), "--width", "5")
    assert "too small" in line
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "x.png"), "--from", "5", "--to", "1")
    assert "empty" in line
    assert list(tmp_path.iterdir()) == []


def test_unknown_run(mlp, tmp_path):
    sl, _ = mlp
    line = plot_fail(sl, "fedcba", "loss", "-o", str(tmp_path / "x.png"))
    assert "'fedcba' is neither a run" in line and "loss" in line


def test_empty_run(sl, tmp_path):
    done = sl.capture("""
        greeting = "hello"
        print(greeting)
    """)
    assert done.returncode == 0, done.stderr
    run_id = sl.last_run()["id"]
    line = plot_fail(sl, "last", "loss", "-o", str(tmp_path / "x.png"))
    assert f"run {run_id} has no metric series yet" in line
    assert sl.cli("metrics", "last") == []


def test_a_run_still_being_written(sl, tmp_path):
    script = sl.script("""
        import sys
        for i in range(5):
            loss = 1.0 / (i + 1)
        print("ready", flush=True)
        sys.stdin.readline()
        loss = 0.01
    """)
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script],
                    stdin=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        # Snapshots commit on the agent's writer thread: poll until all five are in.
        deadline = time.monotonic() + 60
        view: dict = {}
        while time.monotonic() < deadline:
            done = sl.cli_raw("plot", "last", "loss", "-o", tmp_path / "live.png")
            if done.returncode == 0:
                (view,) = json.loads(done.stdout)
                if view["raw_points"] == 5:
                    break
            else:
                # Before the first commit: nothing to draw yet, said in one line.
                assert done.returncode == 2, done.stderr
                assert "has no metric series yet" in one_line(done.stderr)
            time.sleep(0.1)
        assert view.get("raw_points") == 5  # what is committed
        assert sl.last_run()["status"] == "running"
        assert png_size(tmp_path / "live.png") == (1280, 720)
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (view,) = sl.cli("plot", "last", "loss")
    assert view["raw_points"] == 6

