"""The desktop app end to end: the real `snapline-app` binary under Xvfb,
driven through tauri-driver and WebKitWebDriver (selenium), on runs the real
agent captured. Screenshots go to bench/out/screenshots/ (the README shows
copies from docs/screenshots/).

- SNAPLINE_TEST_APP: the app binary (default: .venv/bin/snapline-app, which
  the setup command installs).
- Needs tauri-driver (`cargo install tauri-driver`), WebKitWebDriver
  (apt: webkit2gtk-driver), Xvfb and selenium. Missing pieces skip the
  tests here, and fail them under CI (CI=true), where the setup installs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PYTHON, REPO, base_env, wait_for_iterations

APP = os.environ.get("SNAPLINE_TEST_APP") or str(REPO / ".venv" / "bin" / "snapline-app")
TAURI_DRIVER = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
SHOTS = REPO / "bench" / "out" / "screenshots"
WAIT = 30.0


def _missing() -> list:
    missing = []
    if not Path(APP).is_file():
        missing.append(f"the app binary {APP}")
    if not Path(TAURI_DRIVER).is_file():
        missing.append("tauri-driver")
    for tool in ("WebKitWebDriver", "Xvfb"):
        if not shutil.which(tool):
            missing.append(tool)
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    return missing


if _missing():
    if os.environ.get("CI"):
        raise RuntimeError(f"the app's end-to-end tests need: {', '.join(_missing())}")
    pytest.skip(f"needs {', '.join(_missing())}", allow_module_level=True)

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X display (Xvfb), 1280x800."""
    number = 60 + os.getpid() % 200
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + WAIT
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert xvfb.poll() is None, "Xvfb exited"
        assert time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield f":{number}"
    os.killpg(xvfb.pid, signal.SIGTERM)
    xvfb.wait(timeout=10)


@pytest.fixture(scope="module")
def driver_server(display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """tauri-driver on 4444 (WebKitWebDriver behind it on 4445), in its own
    process group, logging to a file (a pipe would hang its teardown)."""
    for port in (4444, 4445):
        assert not _port_open(port), f"port {port} is taken: another tauri-driver?"
    log = tmp_path_factory.mktemp("driver") / "tauri-driver.log"
    env = base_env({"DISPLAY": display})
    with open(log, "w") as out:
        proc = subprocess.Popen([TAURI_DRIVER], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    deadline = time.monotonic() + WAIT
    while not _port_open(4444):
        assert proc.poll() is None, f"tauri-driver exited: {log.read_text()}"
        assert time.monotonic() < deadline, "tauri-driver did not listen on 4444"
        time.sleep(0.1)
    yield
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


class App:
    """One app window on one store."""

    def __init__(self, store: Path, bundle: Path | None = None) -> None:
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        args = ["--store", str(store)] + ([str(bundle)] if bundle else [])
        options.set_capability("tauri:options", {"application": APP, "args": args})
        deadline = time.monotonic() + WAIT
        while True:
            try:
                # WebKitWebDriver may still be starting behind tauri-driver.
                self.driver = webdriver.Remote("http://127.0.0.1:4444", options=options)
                break
            except WebDriverException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.driver.set_window_size(1280, 800)

    def wait(self, what: Any, timeout: float = WAIT, message: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = what()
                if got:
                    return got
            except WebDriverException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message or what}")
            time.sleep(0.1)

    def find(self, css: str) -> Any:
        return self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css), message=css)

    def keys(self, css: str, *keys: str) -> None:
        """Keys to the element at `css`, found again each time (the UI
        redraws; a held element may be stale)."""
        self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(*keys) or True,
                  message=f"keys to {css}")

    def click(self, css: str) -> None:
        self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click() or True,
                  message=f"a click on {css}")

    def text(self, css: str) -> str:
        return self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text or " ",
                         message=f"text of {css}")

    def all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def invoke(self, cmd: str, args: dict) -> Any:
        """A command through the window's own IPC, as the UI calls it."""
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])"
            ".then(r => done({ok: r}), e => done({err: e}));", cmd, args)

    def seq(self) -> int:
        value = self.find("#timeline").get_attribute("data-seq")
        return int(value) if value not in (None, "") else -1

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SHOTS / f"{name}.png"))

    def close(self) -> None:
        try:
            self.driver.quit()
        except WebDriverException:
            pass


@pytest.fixture
def app(driver_server: None) -> Iterator[Any]:
    opened: list = []

    def open_app(store: Path, bundle: Path | None = None) -> App:
        a = App(store, bundle)
        opened.append(a)
        return a

    yield open_app
    for a in opened:
        a.close()


DIVERGES = """
import numpy as np

w = np.full(4, 0.5, dtype=np.float32)
bias = np.zeros(2, dtype=np.float32)
went_bad = False
with np.errstate(all="ignore"):
    for step in range(30):
        w = w * np.float32(-60.0)
        loss = float(np.abs(w).max())
        if went_bad:
            bias = bias + w[:2] - w[:2]
        went_bad = not np.isfinite(loss)
print("finished")
"""


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
    a.shot("first-nan")
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
    webdriver.ActionChains(a.driver).send_keys("print(int(step) * 1000)" + Keys.ENTER).perform()
    a.wait(lambda: number in screen().replace("1000)", ""), timeout=60,
           message=f"{number} printed in the console")
    a.shot("console")
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
