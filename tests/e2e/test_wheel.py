"""The wheel as a Python user gets it: `pip install snapline-*.whl` into a
bare venv of CPython 3.9 and of 3.13, then a numpy training script captured,
read back and restored through that venv's `snapline` command alone (PATH =
the venv's bin/ and the system's, no repo on PYTHONPATH, a scratch working
directory); `python -m snapline` is the same program; `snapline view` from
the wheel opens its window under Xvfb.

The wheel is built by the setup (packaging/build-wheel.sh). The venvs are
made once per test session. With SNAPLINE_TEST_PYTHON set (the test
command's second pass, another interpreter) these tests skip: they install
their own interpreters and ran in the first pass."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO, TIMEOUT, base_env

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("SNAPLINE_TEST_PYTHON")),
    reason="the wheel tests install the wheel into their own CPython 3.9 and 3.13 venvs; "
           "they ran in the first pass (SNAPLINE_TEST_PYTHON is set)")

WHEELS = REPO / "target" / "wheels"

TRAIN = """\
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 4)).astype(np.float32)
true_w = np.array([1.5, -2.0, 0.5, 3.0], dtype=np.float32)
y = X @ true_w + np.float32(0.1) * rng.normal(size=256).astype(np.float32)

w = np.zeros(4, dtype=np.float32)
lr = 0.1
history = []
for epoch in range(6):
    pred = X @ w
    loss = float(np.mean((pred - y) ** 2))
    w -= lr * (2 * X.T @ (pred - y) / len(y))
    history.append(loss)
    print(f"epoch {epoch} loss {loss:.4f}")
print("final", np.round(w, 2).tolist())
"""


def the_wheel() -> Path:
    wheels = sorted(WHEELS.glob("snapline-*.whl"))
    if not wheels:
        pytest.fail(f"no wheel in {WHEELS}: run `bash packaging/build-wheel.sh` "
                    "(scripts/setup.sh does)")
    return wheels[-1]


def pyenv_python(version: str) -> Path:
    """CPython `version` from pyenv (skip, naming what is missing, without one)."""
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            root = done.stdout.strip()
    found = sorted(Path(root, "versions").glob(f"{version}.*/bin/python3"))
    if not found:
        pytest.skip(f"no CPython {version} under {root}/versions (pyenv install {version})")
    return found[-1]


class Venv:
    """A venv holding only the wheel (and numpy for the training script)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.python = self.bin / "python"
        self.snapline = self.bin / "snapline"

    def env(self, extra: dict | None = None) -> dict:
        env = base_env({"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
                        "VIRTUAL_ENV": str(self.root),
                        "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        for key in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "CONDA_PREFIX"):
            env.pop(key, None)
        env.update(extra or {})
        return env

    def run(self, cmd: list, cwd: Path, extra: dict | None = None,
            timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], cwd=cwd, env=self.env(extra),
                              capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module", params=["3.9", "3.13"])
def venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    base = pyenv_python(request.param)
    wheel = the_wheel()
    venv = Venv(tmp_path_factory.mktemp(f"wheel-venv-{request.param}") / "venv")
    made = subprocess.run([str(base), "-m", "venv", str(venv.root)], capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    assert made.returncode == 0, made.stderr
    installed = venv.run([venv.python, "-m", "pip", "install", "-q", wheel, "numpy"],
                         cwd=venv.root, timeout=600)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture(scope="module")
def captured(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """train.py captured by the venv's `snapline run` in a scratch directory:
    (working directory, the run's stdout)."""
    work = tmp_path_factory.mktemp("wheel-work")
    (work / "train.py").write_text(TRAIN)
    done = venv.run(["snapline", "run", "train.py"], cwd=work)
    assert done.returncode == 0, done.stderr
    return work, done.stdout


def test_the_command_is_the_wheels(venv: Venv) -> None:
    assert shutil.which("snapline", path=venv.env()["PATH"]) == str(venv.snapline)
    done = subprocess.run(["ldd", str(venv.snapline)], capture_output=True, text=True,
                          check=False)
    libraries = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    desktop = {"linux-vdso.so.1", "libc.so.6", "libm.so.6", "libgcc_s.so.1",
               "libpthread.so.0", "libdl.so.2", "librt.so.1"}
    extra = {lib for lib in libraries - desktop if not lib.startswith("/lib64/ld-linux")}
    assert not extra, f"the wheel's binary links more than libc/libm/libgcc_s: {extra}"
    # The wheel's tag promises the glibc the binary needs (maturin audits
    # only the extension).
    tag = re.search(r"manylinux_2_(\d+)_", the_wheel().name)
    assert tag, f"{the_wheel().name} has no manylinux_2_N tag"
    if shutil.which("objdump"):
        symbols = subprocess.run(["objdump", "-T", str(venv.snapline)], capture_output=True,
                                 text=True, check=False).stdout
        needed = max((int(v) for v in re.findall(r"GLIBC_2\.(\d+)", symbols)), default=0)
        assert needed <= int(tag.group(1)), (
            f"the binary needs glibc 2.{needed}, the wheel says 2.{tag.group(1)}")


def test_capture_read_back_restore(venv: Venv, captured: tuple) -> None:
    work, stdout = captured
    plain = venv.run(["python", "train.py"], cwd=work)
    assert plain.returncode == 0, plain.stderr
    assert stdout == plain.stdout  # the capture changes nothing the script prints

    log = venv.run(["snapline", "log", "--json"], cwd=work)
    assert log.returncode == 0, log.stderr
    rows = json.loads(log.stdout)
    at_epoch_3 = [r for r in rows if r["trigger"] == "iteration" and r["loops"] == [3]]
    assert len(at_epoch_3) == 1, rows
    seq = at_epoch_3[0]["seq"]

    show = venv.run(["snapline", "show", f"last@{seq}", "--json"], cwd=work)
    assert show.returncode == 0, show.stderr
    objects = {o["path"]: o for o in json.loads(show.stdout)}
    assert objects["w"]["dtype"] == "float32"
    assert objects["w"]["shape"] == [4]
    assert objects["history"]["type"] == "list"

    # The snapshot at the start of epoch 3 holds 3 losses; restored in the
    # interpreter the run was captured with (the venv's), one more step of
    # the script's own arithmetic gives the loss it then printed.
    code = ("import json, sys; pred = X @ w; "
            "print(json.dumps({'python': sys.executable, 'epoch': epoch, 'n': len(history), "
            "'loss': round(float(np.mean((pred - y) ** 2)), 4)}))")
    done = venv.run(["snapline", "restore", f"last@{seq}", "-c", code], cwd=work)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(out["python"]).parent == venv.bin
    assert out["epoch"] == 3 and out["n"] == 3
    assert f"epoch 3 loss {out['loss']:.4f}" in stdout


def test_run_uses_the_python_beside_it(venv: Venv, tmp_path: Path) -> None:
    """Called by its path with the venv off PATH (a shell alias, an IDE),
    the wheel's `snapline run` still runs the venv's python, not python3."""
    script = tmp_path / "which.py"
    script.write_text("import sys\nprint(sys.prefix)\n")
    done = venv.run([venv.snapline, "run", script], cwd=tmp_path,
                    extra={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == venv.root


def test_python_dash_m_is_the_same_program(venv: Venv, captured: tuple) -> None:
    work, _ = captured
    for args in (["log"], ["log", "--json"], ["runs", "--json"]):
        command = venv.run(["snapline", *args], cwd=work)
        module = venv.run(["python", "-m", "snapline", *args], cwd=work)
        assert command.returncode == module.returncode == 0, command.stderr + module.stderr
        assert module.stdout == command.stdout
        assert module.stderr == command.stderr


def test_open_without_the_app_points_at_view(venv: Venv, captured: tuple) -> None:
    work, _ = captured
    done = venv.run(["snapline", "open"], cwd=work)
    if done.returncode == 0:
        pytest.skip("a desktop app is installed on this machine (snapline open found one)")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "snapline view" in lines[0], done.stderr


# -- the viewer, from the wheel, under Xvfb --------------------------------------


def start_xvfb() -> tuple:
    """Xvfb on a free display, answering clients, tried up to three times.
    `-noreset`: by default Xvfb resets when its last client disconnects and
    refuses connections meanwhile; a client that came just then (the
    viewer, after the readiness check or in a CI run) failed XOpenDisplay,
    about one launch in three under load."""
    for _ in range(3):
        xvfb, display = _xvfb_once()
        deadline = time.monotonic() + 10
        while xvfb.poll() is None and time.monotonic() < deadline:
            done = subprocess.run(["xdotool", "getdisplaygeometry"], env={**os.environ,
                                  "DISPLAY": display}, capture_output=True, timeout=30,
                                  check=False)
            if done.returncode == 0:
                return xvfb, display
            time.sleep(0.1)
        stop(xvfb, graceful=True)
    pytest.fail("Xvfb did not answer on its display three times")


def _xvfb_once() -> tuple:
    """Xvfb on a free display (it picks one and writes its number to a pipe)."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-noreset", "-screen", "0",
                             "1280x800x24", "-nolisten", "tcp"], pass_fds=(write_end,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        xvfb.wait()
        pytest.fail("Xvfb started without a display")
    return xvfb, f":{number}"


def stop(proc: subprocess.Popen, *, graceful: bool = False) -> None:
    """SIGKILL; `graceful`: SIGTERM first (Xvfb then removes its lock file
    and socket, which the next test's server would otherwise find), SIGKILL
    after 5 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_view_opens_its_window_under_xvfb(venv: Venv, captured: tuple) -> None:
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install xvfb xdotool)")
    work, _ = captured
    xvfb, display = start_xvfb()
    viewer = None
    try:
        env = {"DISPLAY": display, "WAYLAND_DISPLAY": "", "XDG_RUNTIME_DIR": str(work)}
        logfile = work / f"view-{display[1:]}.log"
        with open(logfile, "w") as log:
            viewer = subprocess.Popen([str(venv.snapline), "view", "--store", ".snapline"],
                                      cwd=work, env=venv.env(env), stdout=log, stderr=log,
                                      start_new_session=True)
        deadline = time.monotonic() + 60
        found = None
        while time.monotonic() < deadline:
            server = "running" if xvfb.poll() is None else f"exited {xvfb.returncode}"
            assert viewer.poll() is None, (
                f"snapline view exited {viewer.returncode} (Xvfb on {display}: {server}): "
                f"{logfile.read_text()}")
            done = subprocess.run(["xdotool", "search", "--name", "Snapline"],
                                  env=venv.env(env), capture_output=True, text=True,
                                  timeout=30, check=False)
            if done.returncode == 0 and done.stdout.strip():
                found = done.stdout.split()
                break
            time.sleep(0.2)
        assert found, f"no Snapline window within 60 s: {logfile.read_text()}"
    finally:
        if viewer is not None:
            stop(viewer)
        stop(xvfb, graceful=True)
