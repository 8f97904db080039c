"""`snapline restore RUN@SEQ --jupyter`: a real Jupyter kernel holding a
captured script's state, reached with jupyter_client through the
connection file it was told to write, then shut down by the client."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, EXAMPLES, PYTHON, Snapline, base_env, line_of

jupyter_client = pytest.importorskip("jupyter_client")

KERNEL_TIMEOUT = 60


pytestmark = pytest.mark.usefixtures("need_ipykernel")


class RestoredKernel:
    """A `restore --jupyter` process and a client connected to it."""

    def __init__(self, cmd: list, connection_file: Path, log: Path, env: dict | None = None,
                 cwd: Any = None) -> None:
        self.connection_file = connection_file
        self.log = log
        with open(log, "w") as stderr:
            self.proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL,
                                         stderr=stderr, env=base_env(env), cwd=cwd)
        self.client = self._connect()

    def _connect(self) -> Any:
        from jupyter_client import BlockingKernelClient

        deadline = time.monotonic() + KERNEL_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"the kernel exited: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"no connection file: {self.log.read_text()}"
            try:
                json.loads(self.connection_file.read_text())
                break
            except (OSError, ValueError):  # not written yet, or half written
                time.sleep(0.05)
        client = BlockingKernelClient(connection_file=str(self.connection_file))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=KERNEL_TIMEOUT)
        return client

    def print(self, code: str) -> str:
        """What a cell prints (the cell must succeed)."""
        out: list = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.client.execute_interactive(code, timeout=KERNEL_TIMEOUT, output_hook=hook)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    def shutdown(self) -> int:
        self.client.shutdown()
        self.client.stop_channels()
        return self.proc.wait(timeout=KERNEL_TIMEOUT)

    def kill(self) -> None:
        """After a failure: SIGTERM (the `snapline` binary forwards it to
        the kernel, which exits cleanly), SIGKILL if that did not do."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_restored_kernel_holds_the_state(sl: Snapline, tmp_path: Path) -> None:
    captured = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "3")
    assert captured.returncode == 0, captured.stderr
    final_loss = re.search(r"final loss (\S+)", captured.stdout).group(1)
    run = sl.last_run()["id"]

    connection = tmp_path / "kernel" / "connection.json"
    log = tmp_path / "restore.log"
    kernel = RestoredKernel([PYTHON, "-m", "snapline", "restore", f"{run}@last", "--store",
                             sl.store, "--jupyter", "--connection-file", connection],
                            connection, log)
    try:
        printed = kernel.print('print(f"{history[-1]:.6f}", len(history), epoch, '
                               'params["W1"] is layers[0], params["W2"] is layers[1])')
        assert printed.split() == [final_loss, "3", "2", "True", "True"]
        # The kernel is an ordinary one: the restored functions run.
        assert kernel.print("h, probs = forward(X); print(probs.shape)").strip() == "(600, 3)"
        assert kernel.shutdown() == 0
    finally:
        kernel.kill()
    stderr = log.read_text()
    assert f"snapline: restored {run}@" in stderr
    assert f"jupyter console --existing {connection}" in stderr


def test_cli_restore_jupyter_at_an_iteration(sl: Snapline, tmp_path: Path) -> None:
    """Through the `snapline` binary; the connection file from the environment."""
    captured = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "4")
    assert captured.returncode == 0, captured.stderr
    epochs = line_of(EXAMPLES / "numpy_mlp.py", "for epoch in range")
    second = next(r for r in sl.log() if r["line"] == epochs and r["loops"] == [2])

    connection = tmp_path / "from-env.json"
    log = tmp_path / "restore.log"
    kernel = RestoredKernel([BIN, "--store", sl.store, "restore", f"last@{second['seq']}",
                             "--jupyter"], connection, log,
                            env={"SNAPLINE_CONNECTION_FILE": str(connection)}, cwd=tmp_path)
    try:
        printed = kernel.print('print(len(history), epoch, params["W1"] is layers[0])')
        # At the start of the third iteration: two done, `epoch` already 2.
        assert printed.split() == ["2", "2", "True"]
        assert kernel.shutdown() == 0
    finally:
        kernel.kill()


RESTORE_IN_IPYTHON = """
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
for cell in ("%load_ext snapline",
             f"%snapline restore {sys.argv[1]} --store {sys.argv[2]}",
             'print("state:", len(history), params["W1"] is layers[0])'):
    shell.run_cell(cell, store_history=True)
"""


def test_snapline_restore_magic(sl: Snapline, tmp_path: Path) -> None:
    """What the kernel's instructions offer JupyterLab and VS Code users:
    `%snapline restore RUN@SEQ` in their own notebook's kernel."""
    captured = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "2")
    assert captured.returncode == 0, captured.stderr
    script = tmp_path / "drive.py"
    script.write_text(RESTORE_IN_IPYTHON)
    done = subprocess.run([PYTHON, script, "last", str(sl.store)], cwd=tmp_path, env=base_env(),
                          capture_output=True, text=True, timeout=KERNEL_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert "snapline: restored " in done.stdout, done.stdout
    assert "state: 2 True" in done.stdout, done.stdout
