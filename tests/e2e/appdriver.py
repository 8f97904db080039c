"""Driving the real desktop app: a private Xvfb display, tauri-driver (with
WebKitWebDriver behind it) and one selenium session per window. Used by
tests/e2e/test_app.py and bench/app_bench.py.

- SNAPLINE_TEST_APP: the app binary (default: .venv/bin/snapline-app, which
  the setup command installs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.options import ArgOptions
except ImportError:  # `missing()` names it; nothing here is used then
    webdriver = None  # type: ignore[assignment]
    WebDriverException = Exception  # type: ignore[assignment,misc]

REPO = Path(__file__).resolve().parents[2]
APP = os.environ.get("SNAPLINE_TEST_APP") or str(REPO / ".venv" / "bin" / "snapline-app")
TAURI_DRIVER = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
SHOTS = REPO / "bench" / "out" / "screenshots"
DOC_SHOTS = REPO / "docs" / "screenshots"
WAIT = 30.0


def missing() -> list:
    """What driving the app needs and this machine lacks."""
    lacking = []
    if not Path(APP).is_file():
        lacking.append(f"the app binary {APP}")
    if not Path(TAURI_DRIVER).is_file():
        lacking.append("tauri-driver")
    for tool in ("WebKitWebDriver", "Xvfb"):
        if not shutil.which(tool):
            lacking.append(tool)
    try:
        import selenium  # noqa: F401
    except ImportError:
        lacking.append("selenium")
    return lacking


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def display() -> Iterator[str]:
    """A private X display (Xvfb), 1280x800."""
    number = 60 + os.getpid() % 200
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-noreset", "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert xvfb.poll() is None, "Xvfb exited"
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.1)
        yield f":{number}"
    finally:
        os.killpg(xvfb.pid, signal.SIGTERM)
        xvfb.wait(timeout=10)


@contextlib.contextmanager
def driver_server(env: dict) -> Iterator[None]:
    """tauri-driver on 4444 (WebKitWebDriver behind it on 4445), in its own
    process group, logging to a file (a pipe would hang its teardown)."""
    for port in (4444, 4445):
        assert not _port_open(port), f"port {port} is taken: another tauri-driver?"
    log = Path(tempfile.mkdtemp(prefix="tauri-driver-")) / "tauri-driver.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([TAURI_DRIVER], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT
        while not _port_open(4444):
            assert proc.poll() is None, f"tauri-driver exited: {log.read_text()}"
            assert time.monotonic() < deadline, "tauri-driver did not listen on 4444"
            time.sleep(0.1)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(log.parent, ignore_errors=True)


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

    def shot(self, name: str, doc: bool = False) -> None:
        """A screenshot in bench/out/screenshots; with `doc`, also the copy
        in docs/screenshots that the README shows (regenerated by each run)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SHOTS / f"{name}.png"))
        if doc:
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SHOTS / f"{name}.png", DOC_SHOTS / f"{name}.png")

    def close(self) -> None:
        try:
            self.driver.quit()
        except WebDriverException:
            pass


@contextlib.contextmanager
def harness(env: dict) -> Iterator[Callable[..., Any]]:
    """Xvfb and tauri-driver for as long as the block runs; yields
    `open_app(store, bundle=None, args=())`, whose windows are closed at the end.
    `env`: the environment of the app's processes (DISPLAY is set here)."""
    with display() as shown, driver_server({**env, "DISPLAY": shown}):
        opened: list = []

        def open_app(store: Path, bundle: Path | None = None) -> App:
            a = App(store, bundle)
            opened.append(a)
            return a

        try:
            yield open_app
        finally:
            for a in opened:
                a.close()
