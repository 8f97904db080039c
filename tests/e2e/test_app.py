"""The desktop app end to end: the real `snapline-app` binary under Xvfb,
driven through tauri-driver and WebKitWebDriver (selenium, appdriver.py), on
runs the real agent captured. Screenshots go to bench/out/screenshots/ (the
README shows copies from docs/screenshots/).

Needs tauri-driver (`cargo install tauri-driver`), WebKitWebDriver (apt:
webkit2gtk-driver), Xvfb and selenium. Missing pieces skip the tests here,
and fail them under CI (CI=true), where the setup installs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appdriver import App, harness, missing
from conftest import DIVERGES, EXAMPLES, PYTHON, base_env, wait_for_iterations

if missing():
    if os.environ.get("CI"):
        raise RuntimeError(f"the app's end-to-end tests need: {', '.join(missing())}")
    pytest.skip(f"needs {', '.join(missing())}", allow_module_level=True)

from selenium import webdriver
from selenium.webdriver.common.keys import Keys


@pytest.fixture(scope="module")
def open_app() -> Iterator[Any]:
    with harness(base_env()) as opener:
        yield opener


@pytest.fixture
def app(open_app: Any) -> Iterator[Any]:
    """Opens app windows; those a test opened are closed after it."""
    opened: list = []

    def opener(store: Path, bundle: Path | None = None) -> App:
        a = open_app(store, bundle)
        opened.append(a)
        return a

    yield opener
    for a in opened:
        a.close()


def open_run(a: App, run_id: str) -> None:
    a.click(f'#runs [data-run-id="{run_id}"]')
    a.wait(lambda: a.seq() >= 0, message="a snapshot under the cursor")


def test_open_a_run_scrub_find_the_first_nan_and_diff(sl, app):
    assert sl.capture(DIVERGES).returncode == 0
    run = sl.last_run()
    log = sl.log()
    seqs = [row["seq"] for row in log]
    nan = sl.cli("nan")
    a = app(sl.store)
    open_run(a, run["id"])
    a.shot("run")
    a.click("#timeline")
    a.keys("#timeline", Keys.END)
    a.wait(lambda: a.seq() == seqs[-1], message="End: the last snapshot")
    a.keys("#timeline", Keys.HOME)
    a.wait(lambda: a.seq() == seqs[0], message="Home: the first snapshot")
    a.keys("#timeline", Keys.ARROW_RIGHT)
    a.wait(lambda: a.seq() == seqs[1], message="Right: the next snapshot")
    a.keys("#timeline", Keys.SHIFT, Keys.ARROW_RIGHT)
    a.wait(lambda: a.seq() == seqs[11], message="Shift+Right: ten on")
    # The variables follow the cursor: `w` is there, with its stats.
    a.wait(lambda: a.all('#variables [data-path="w"]'), message="w in the variables")
    a.shot("scrubbed")

    a.click("#nan-button")
    first = a.wait(lambda: a.find("#nan-panel").get_attribute("data-first-seq"),
                   message="data-first-seq")
    assert int(first) == nan["first"]["seq"]
    assert "w" in a.text("#nan-panel")
    a.shot("first-nan", doc=True)
    webdriver.ActionChains(a.driver).send_keys(Keys.ESCAPE).perform()
    a.wait(lambda: not a.all("#nan-panel"), message="the NaN panel closed by Escape")

    a.click("#diff-button")
    a.wait(lambda: "w" in a.text("#diff-panel"), message="the diff names w")
    a.shot("diff")


def test_export_a_bundle_and_open_it(sl, app, tmp_path):
    assert sl.capture(DIVERGES).returncode == 0
    run = sl.last_run()
    a = app(sl.store)
    open_run(a, run["id"])
    bundle = tmp_path / "diverged.snapline"
    done = a.invoke("export_bundle", {"snapshot": f"{run['id']}@5", "path": str(bundle),
                                      "format": "snapline"})
    assert "ok" in done, done
    assert bundle.is_file()
    a.close()  # WebKitWebDriver holds one session at a time
    # `snapline open BUNDLE` on another store: imported, then opened.
    other = tmp_path / "colleague"
    b = app(other, bundle)
    b.wait(lambda: b.all(f'#runs [data-run-id="{run["id"]}"]'), message="the imported run")
    b.wait(lambda: b.seq() == 5, message="the bundle's snapshot open")
    b.shot("opened-bundle")
    assert len(sl.runs(store=other)) == 1


def test_a_missing_store_and_a_corrupt_bundle_are_messages(sl, app, tmp_path):
    a = app(tmp_path / "nowhere")
    a.wait(lambda: "no Snapline store" in a.text("#error-banner"),
           message="the missing store named")
    a.shot("missing-store")
    a.close()  # WebKitWebDriver holds one session at a time
    bad = tmp_path / "bad.snapline"
    bad.write_bytes(b"SNAPLINE-BUNDLE\x01" + b"\0" * 100)
    b = app(tmp_path / "store2", bad)
    b.wait(lambda: "bad.snapline" in b.text("#error-banner"), message="the bad bundle named")


def test_a_live_run_updates_without_reload(sl, app):
    script = sl.script("""
import time
history = []
for step in range(400):
    history.append(step * 0.5)
    time.sleep(0.05)
""")
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store, script])
    try:
        wait_for_iterations(sl, proc, 2)
        run = sl.last_run()
        a = app(sl.store)
        open_run(a, run["id"])
        a.click("#timeline")
        a.keys("#timeline", Keys.END)
        seen = a.seq()

        # New snapshots reach the open window (no reload): End goes further.
        def moved() -> bool:
            a.keys("#timeline", Keys.END)
            return a.seq() > seen
        a.wait(moved, timeout=20, message="snapshots committed after opening")
        a.shot("live")
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_restore_opens_a_python_console_in_the_app(sl, app):
    assert sl.capture(DIVERGES).returncode == 0
    run = sl.last_run()
    a = app(sl.store)
    open_run(a, run["id"])
    seq = a.seq()
    # What the same code prints in a plain `snapline restore -c` of that snapshot.
    expected = sl.cli_raw("restore", f"{run['id']}@{seq}", "-c", "print(int(step) * 1000)",
                          json_out=False)
    assert expected.returncode == 0, expected.stderr
    number = expected.stdout.strip().splitlines()[-1]
    assert number.endswith("000"), expected.stdout

    a.click("#restore-button")
    a.find("#restore-dialog")
    a.click("#restore-console")
    a.find("#console-panel #console-term")

    def screen() -> str:
        # xterm's DOM renderer may draw spaces as no-break spaces.
        return a.text("#console-term").replace("\xa0", " ")
    # The prompt: IPython's `In [1]:` or the plain `>>>`.
    a.wait(lambda: "In [" in screen() or ">>>" in screen(), timeout=60,
           message="the Python prompt in the console")
    a.click("#console-term")

    def printed() -> bool:
        return number in screen().replace("1000)", "")

    # Typed-ahead keys can be dropped while the interpreter sets up its
    # terminal (readline flushes pending input): type again if nothing came.
    try:
        for attempt in range(3):
            webdriver.ActionChains(a.driver).send_keys(
                "print(int(step) * 1000)" + Keys.ENTER).perform()
            try:
                a.wait(printed, timeout=20, message=f"{number} printed in the console")
                break
            except AssertionError:
                if attempt == 2:
                    raise
    finally:
        a.shot("console", doc=True)
    # Closing the panel ends the console's process.
    a.click("#console-panel .modal-head button")
    a.wait(lambda: not a.all("#console-panel"), message="the console panel closed")


def test_resume_here_opens_and_follows_the_new_run(sl, app):
    assert sl.capture(DIVERGES).returncode == 0
    run = sl.last_run()
    seqs = [row["seq"] for row in sl.log()]
    a = app(sl.store)
    open_run(a, run["id"])
    a.click("#timeline")
    a.keys("#timeline", Keys.HOME)
    for _ in range(5):
        a.keys("#timeline", Keys.ARROW_RIGHT)
    a.wait(lambda: a.seq() == seqs[5], message="an earlier snapshot under the cursor")
    parent = f"{run['id']}@{seqs[5]}"

    a.click("#restore-button")
    a.find("#restore-dialog")
    a.click("#restore-resume")

    def resumed() -> dict | None:
        return next((r for r in sl.runs() if r["parent"] == parent), None)
    child = a.wait(resumed, timeout=120, message=f"a run resumed from {parent}")
    a.wait(lambda: a.all(f'#runs [data-run-id="{child["id"]}"]'), timeout=60,
           message="the resumed run listed")
    a.wait(lambda: a.text("#run-id") == child["id"], timeout=60, message="the resumed run opened")
    # (textContent: the header line may be cut off with an ellipsis.)
    a.wait(lambda: f"resumed from {parent}" in a.find("#run-count").get_attribute("textContent"),
           message="the header names the parent")
    # Followed to its end once it finished.
    a.wait(lambda: next(r for r in sl.runs() if r["id"] == child["id"])["status"] != "running",
           timeout=120, message="the resumed run ended")
    last = sl.log(child["id"])[-1]["seq"]
    a.wait(lambda: a.seq() == last, timeout=30, message="the cursor at the resumed run's end")
    a.shot("resumed")
    assert not a.all("#error-banner .banner-message"), a.text("#error-banner")


@pytest.mark.usefixtures("need_ipykernel")
def test_restore_starts_a_jupyter_kernel_from_the_app(sl, app):
    jupyter_client = pytest.importorskip("jupyter_client")
    assert sl.capture(DIVERGES).returncode == 0
    run = sl.last_run()
    a = app(sl.store)
    open_run(a, run["id"])
    a.click("#restore-button")
    a.click("#restore-kernel")
    a.wait(lambda: a.all('#kernel-result code[data-kernel="command"]') or a.all("#kernel-result .bad"),
           timeout=60, message="the kernel started (or why not)")
    assert not a.all("#kernel-result .bad"), a.text("#kernel-result")
    file = a.find('#kernel-result code[data-kernel="connection-file"]').get_attribute("textContent")
    command = a.find('#kernel-result code[data-kernel="command"]').get_attribute("textContent")
    assert command == f"jupyter console --existing {file}"
    assert Path(file).is_relative_to(sl.store / "kernels")
    a.shot("kernel")
    client = jupyter_client.BlockingKernelClient(connection_file=file)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
        reply = client.execute_interactive("print(int(step) * 1000)", timeout=60,
                                           output_hook=hook)
        assert reply["content"]["status"] == "ok", out
        assert "".join(out).strip() == "29000"
    finally:
        client.shutdown()
        client.stop_channels()


def test_an_example_that_diverges_opens_on_its_first_nan(sl, app):
    """examples/numpy_mlp.py with its weights poisoned at epoch 5: the run
    opens with its curves and variables, and First NaN names the same
    snapshot and objects as `snapline nan`."""
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--nan-at", "5", "--epochs", "8")
    assert done.returncode == 0, done.stderr
    run = sl.last_run()
    nan = sl.cli("nan")
    began = {o["path"] for o in nan["began"]}
    a = app(sl.store)
    open_run(a, run["id"])
    a.wait(lambda: a.all('#variables [data-path="args"]'), message="the example's variables")
    # A matrix of weights: its detail draws the values' histogram and heatmap.
    a.click('#variables [data-path="params[\\"W2\\"]"]')
    a.shot("example-variable")
    a.wait(lambda: a.all("#array-histogram") and a.all("#array-heatmap"),
           message="the histogram and heatmap of params['W2']")
    a.shot("example-variable")
    a.click("#nan-button")
    first = a.wait(lambda: a.find("#nan-panel").get_attribute("data-first-seq"),
                   message="data-first-seq")
    assert int(first) == nan["first"]["seq"]
    text = a.text("#nan-panel")
    assert all(path in text for path in began), (began, text)
    a.shot("example-first-nan")


# A training loop as people write it: argparse hyperparameters, a global step
# counter that an optimizer step advances, metrics logged every few steps
# under `train/` and once per epoch under `val_`, and a batch size logged
# with them that never changes (not a metric).
STEPPED = """
import argparse

import numpy as np
import snapline

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.5)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=8)
args = parser.parse_args()

rng = np.random.default_rng(0)
X = rng.normal(size=(128, 4))
y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(float)
Xv, yv = X[96:], y[96:]
w = np.zeros(4)
global_step = 0
logging_steps = 4
for epoch in range(args.epochs):
    for start in range(0, 96, args.batch_size):
        xb, yb = X[start:start + args.batch_size], y[start:start + args.batch_size]
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - yb) / len(yb)
        lr = args.lr * (0.9 ** epoch)
        w -= lr * grad
        global_step += 1
        if global_step % logging_steps == 0:
            loss = float(-np.mean(yb * np.log(p + 1e-9) + (1 - yb) * np.log(1 - p + 1e-9)))
            snapline.log(step=global_step, **{
                "train/loss": loss,
                "train/acc": float(np.mean((p > 0.5) == yb)),
                "train/grad_norm": float(np.linalg.norm(grad)),
                "lr": lr,
                "batch_size": args.batch_size,
            })
    pv = 1 / (1 + np.exp(-(Xv @ w)))
    snapline.log(step=global_step, val_loss=float(np.mean((pv - yv) ** 2)),
                 val_acc=float(np.mean((pv > 0.5) == yv)))
print("done", global_step)
"""


def test_cards_by_training_step_a_diff_from_the_timeline_and_the_runs_table(sl, app):
    script = sl.script(STEPPED, name="train_steps.py")
    for lr in ("0.5", "0.02"):
        done = sl.capture(script, "--lr", lr)
        assert done.returncode == 0, done.stderr
    run = sl.last_run()
    total_steps = 3 * (96 // 8)
    a = app(sl.store)
    open_run(a, run["id"])

    # One card per metric (the series query lists with more than one point),
    # the constant batch size none; the first card's x axis reads training steps.
    series = a.invoke("open_run", {"run": run["id"]})["ok"]["series"]
    metrics = {s["name"] for s in series if s["points"] > 1}
    logged = {"train/loss", "train/acc", "train/grad_norm", "lr", "val_loss"}
    assert logged <= metrics, metrics

    def card_names() -> list:
        return [c.get_attribute("data-card") for c in a.all("#chart .card")]
    a.wait(lambda: logged <= set(card_names()), message=f"cards for {sorted(logged)}")
    names = card_names()
    assert len(names) == len(set(names)) and set(names) <= metrics, (names, metrics)
    assert "batch_size" not in names, names
    assert len(a.all("#chart .card .uplot")) == len(names)
    first = a.find("#chart .card")
    assert "loss" in first.get_attribute("data-card"), names
    assert first.get_attribute("data-x-axis") == "step"
    assert a.find("#x-axis").get_attribute("value") == "step"
    # Logged every 4 optimizer steps: the axis runs 4..36 (training steps), not
    # over the run's 20-odd snapshot numbers.
    assert float(first.get_attribute("data-x-min")) == 4
    assert float(first.get_attribute("data-x-max")) == total_steps
    # Grouped by prefix: the train/ cards together.
    grouped = {c.get_attribute("data-card")
               for c in a.all('#chart .card-group[data-group="train/"] .card')}
    assert grouped == {"train/loss", "train/acc", "train/grad_norm"}, grouped
    assert "train" in [t.text for t in a.all("#chart .card-group-title")]
    a.shot("run", doc=True)

    # The diff panel opens from two timeline clicks (click: A, shift-click: B) and docks beside the cards.
    timeline = a.find("#timeline")
    width = timeline.size["width"]
    webdriver.ActionChains(a.driver).move_to_element_with_offset(
        timeline, -width // 4, 0).click().perform()
    seq_a = a.seq()
    webdriver.ActionChains(a.driver).move_to_element_with_offset(
        timeline, width // 4, 0).key_down(Keys.SHIFT).click().key_up(Keys.SHIFT).perform()
    panel = a.find("#dock #diff-panel")
    assert a.find("#diff-a").get_attribute("data-ref") == f"{run['id']}@{seq_a}"
    assert a.find("#diff-b").get_attribute("data-ref") != f"{run['id']}@{seq_a}"
    a.wait(lambda: "w" in a.text("#diff-result"), message="the diff names w")
    assert not a.all(".modal-backdrop")
    assert panel.is_displayed() and a.find("#chart").is_displayed()
    a.shot("diff", doc=True)
    # The timeline stays usable with the panel open.
    a.keys("#timeline", Keys.END)
    a.wait(lambda: a.seq() == sl.log(run["id"])[-1]["seq"], message="End with the panel open")

    # The `?` overlay lists the panels' keys.
    webdriver.ActionChains(a.driver).send_keys("?").perform()
    assert "First NaN panel" in a.text("#shortcuts-help")
    a.shot("shortcuts", doc=True)
    webdriver.ActionChains(a.driver).send_keys(Keys.ESCAPE).perform()
    a.wait(lambda: not a.all("#shortcuts-help"), message="the overlay closed")

    # The runs table: both runs with their lr column; a filter narrows it, a bad one says why.
    a.click("#runs-table-button")
    a.wait(lambda: len(a.all("#runs-table tbody tr")) == 2, message="two runs in the table")
    headers = [th.text for th in a.all("#runs-table th")]
    assert any(h.startswith("lr") for h in headers), headers
    box = a.find("#runs-filter")
    box.send_keys("lr <")
    a.wait(lambda: a.find("#runs-filter-error").is_displayed(), message="the bad filter's error")
    assert a.text("#runs-filter-error")
    box.send_keys(" 0.1")
    a.wait(lambda: len(a.all("#runs-table tbody tr")) == 1, message="the filter keeps one run")
    assert not a.find("#runs-filter-error").is_displayed()
    row = a.find("#runs-table tbody tr")
    assert row.get_attribute("data-run-id") == sl.runs()[-1]["id"]
    a.shot("runs-table", doc=True)
