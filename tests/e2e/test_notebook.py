"""`%load_ext snapline` in a real Jupyter kernel (driven with jupyter_client)
and in plain IPython: a snapshot after every cell and at its loops'
iterations, failed cells captured with their output unchanged, the cells'
sources in the lineage, `%snapline log`, and `%snapline checkout` rolling
back only the variables that changed."""

from __future__ import annotations

import json
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, PYTHON, base_env
from conftest import run as run_command

jupyter_client = pytest.importorskip("jupyter_client")

KERNEL_TIMEOUT = 60


pytestmark = pytest.mark.usefixtures("need_ipykernel")


class Kernel:
    """A real ipykernel process of the target interpreter, and a client."""

    def __init__(self, tmp: Path, env: dict) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        spec = tmp / "kernels" / "snapline-test"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "snapline test", "language": "python"}))
        specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
        self.manager = KernelManager(kernel_name="snapline-test", kernel_spec_manager=specs,
                                     connection_file=str(tmp / "kernel.json"))
        self.manager.start_kernel(cwd=str(tmp), env=base_env(env))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=KERNEL_TIMEOUT)

    def run(self, code: str) -> dict:
        """Executes a cell: {status, stdout, stderr, result, error}."""
        out: dict = {"stdout": "", "stderr": "", "result": None, "error": None}

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "execute_result":
                out["result"] = content["data"].get("text/plain")
            elif kind == "error":
                out["error"] = content

        reply = self.client.execute_interactive(textwrap.dedent(code).strip("\n"),
                                                timeout=KERNEL_TIMEOUT, output_hook=hook)
        out["status"] = reply["content"]["status"]
        return out

    def ok(self, code: str) -> dict:
        out = self.run(code)
        assert out["status"] == "ok", out
        return out

    def close(self) -> None:
        if self.manager.has_kernel:
            self.client.stop_channels()
            self.manager.shutdown_kernel(now=False)


@pytest.fixture
def kernel(tmp_path: Path, store: Path) -> Any:
    k = Kernel(tmp_path, {"SNAPLINE_STORE": str(store)})
    yield k
    k.close()


def sl_json(store: Path, *args: str) -> Any:
    done = run_command([BIN, "--store", store, *args, "--json"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def eventually(read: Any, done: Any, timeout: float = 30.0) -> Any:
    """`read()` until `done(value)`: snapshots, lineage and metric points
    are written by the agent's background thread, a moment after a cell."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def without_cell_numbers(traceback: list) -> list:
    """A traceback's lines, with the cell's number and name left out."""
    strip = re.compile(r"\x1b\[[0-9;]*m")
    lines = [strip.sub("", line) for line in traceback]
    return [re.sub(r"In\s*\[\d+\]", "In[N]", line) for line in lines]


def test_kernel_cells_loops_failures_and_checkout(kernel: Kernel, store: Path) -> None:
    # A failing cell before the extension: its error is the reference.
    before = kernel.run("def f(x):\n    y = x * 2\n    raise ValueError(y)\nf(21)")
    assert before["status"] == "error"

    # No budget: a snapshot at every iteration of the toy loops below (the
    # budget has its own tests); in the same cell, so the cell numbers stay.
    loaded = kernel.ok("%load_ext snapline\n%snapline budget 0")
    assert "snapline: capturing this session as run" in loaded["stdout"]
    kernel.ok("""
        import sys
        import numpy as np
        big = np.arange(300_000, dtype=np.float64)
        w = np.zeros(4)
        holder = {"big": big, "n": 1}
        sys.snapline_test_big = big  # outside the namespace: identity check after checkout
    """)
    looped = kernel.ok("""
        for step in range(5):
            w += 1.0
        float(w.sum())
    """)
    assert looped["result"] == "20.0"
    kernel.ok("""
        w *= 10
        holder = {"big": big, "n": 2}
        extra = "only later"

        def later():
            return extra
    """)
    # The same failure with Snapline loaded: the same error, the same traceback.
    after = kernel.run("def f(x):\n    y = x * 2\n    raise ValueError(y)\nf(21)")
    assert after["status"] == "error"
    assert (after["error"]["ename"], after["error"]["evalue"]) == ("ValueError", "42")
    assert without_cell_numbers(after["error"]["traceback"]) == \
        without_cell_numbers(before["error"]["traceback"])
    assert after["stdout"] == before["stdout"] == ""

    listed = kernel.ok("%snapline log")["stdout"]

    (run,) = sl_json(store, "runs")
    assert run["script"] == "ipython" and run["status"] == "running"
    rows = sl_json(store, "log", run["id"])  # %snapline log waited for them
    assert [r["seq"] for r in rows] == list(range(len(rows)))
    # One per cell since %load_ext (In [2]): the load, three cells, the
    # failure (and maybe In [7], %snapline log's, if already written).
    cells = [r for r in rows if r["trigger"] == "cell"][:5]
    assert [r["label"] for r in cells] == [f"In [{n}]" for n in range(2, 7)]
    assert all(r["file"] == r["label"] for r in cells)
    # The loop: iterations 1..4 then its end (5), in cell In [4], at its line 1.
    loop = [r for r in rows if r["trigger"] == "iteration"]
    assert [r["loops"] for r in loop] == [[1], [2], [3], [4], [5]]
    assert {(r["file"], r["line"]) for r in loop} == {("In [4]", 1)}
    for row in rows[:cells[4]["seq"] + 1]:  # those taken before %snapline log
        assert f"\n{row['seq']:>5}  {row['trigger']:<10}" in listed

    # The failed cell: captured with the failing function's locals.
    failed = cells[4]
    assert failed["label"] == "In [6]" and failed["line"] == 3
    objects = {o["path"]: o for o in sl_json(store, "show", f"{run['id']}@{failed['seq']}")}
    assert objects["f:y"]["preview"] == "42"
    assert objects["w"]["stats"]["mean"] == 50.0
    # IPython's own names are not variables.
    assert not {"In", "Out", "_", "_i", "_i1", "get_ipython", "exit", "quit"} & set(objects)

    # The lineage lists every cell with its source and snapshot.
    (run,) = eventually(lambda: sl_json(store, "runs"),
                        lambda runs: len(runs[0]["lineage"].get("cells", [])) >= 5)
    lineage_cells = run["lineage"]["cells"]
    assert [c["execution_count"] for c in lineage_cells[:5]] == [2, 3, 4, 5, 6]
    assert [c["seq"] for c in lineage_cells[:5]] == [r["seq"] for r in cells]
    assert "error" in lineage_cells[4] and lineage_cells[4]["error"].startswith("ValueError")

    # Back to the end of the loop cell (In [4]): only w and holder differ.
    target = next(r["seq"] for r in cells if r["label"] == "In [4]")
    out = kernel.ok(f"%snapline checkout {target}")["stdout"]
    saved = int(re.search(r"saved the current state as snapshot (\d+)", out).group(1))
    assert "restored: holder, w\n" in out, out
    assert f"deleted (not there at snapshot {target}): extra\n" in out, out
    assert "kept (functions and classes defined since): later\n" in out, out
    assert "could not" not in out, out
    state = kernel.ok("""
        print(float(w.sum()), holder["n"], holder["big"] is big,
              big is sys.snapline_test_big, "extra" in globals(), step)
    """)
    assert state["stdout"].split() == ["20.0", "1", "True", "True", "False", "4"]

    # ... and forward again, to the state saved before the checkout.
    out = kernel.ok(f"%snapline checkout {saved}")["stdout"]
    assert "restored: extra, holder, w\n" in out and "could not" not in out, out
    state = kernel.ok('print(float(w.sum()), holder["n"], later(), big is sys.snapline_test_big)')
    assert state["stdout"].split() == ["200.0", "2", "only", "later", "True"]

    kernel.ok("%unload_ext snapline")
    (run,) = sl_json(store, "runs")
    assert run["status"] == "finished"


def test_kernel_checkpoint_and_log_calls(kernel: Kernel, store: Path) -> None:
    kernel.ok("%load_ext snapline")
    out = kernel.ok("""
        import snapline
        total = 0
        for i in range(3):
            total += i
            snapline.log(step=i, total=total)
        print(snapline.checkpoint("mine"))
    """)
    seq = int(out["stdout"])
    # The cell's own snapshot comes after the checkpoint and its points.
    rows = eventually(lambda: sl_json(store, "log", "last"), lambda rows: len(rows) > seq + 1)
    assert rows[seq]["trigger"] == "explicit" and rows[seq]["label"] == "mine"
    series = sl_json(store, "metrics", "last", "total")
    steps = [p["step"] for p in series[0]["points"] if p["seq"] is None]
    assert steps == [0.0, 1.0, 2.0]

    # The kernel's shutdown ends the run, with a last snapshot.
    kernel.close()
    (run,) = sl_json(store, "runs")
    assert run["status"] == "finished"
    assert sl_json(store, "log", "last")[-1]["trigger"] == "exit"


PLAIN_IPYTHON = """
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
cells = [
    "%load_ext snapline\\n%snapline budget 0",  # every iteration of the toy loop
    "import numpy as np\\nacc = np.zeros(3)\\nfor k in range(3):\\n    acc[k] = k + 1",
    "print(acc.sum())",
    "missing_name + 1",
    "%snapline log",
]
for cell in cells:
    shell.run_cell(cell, store_history=True)
"""


def test_plain_ipython_session(tmp_path: Path) -> None:
    script = tmp_path / "drive.py"
    script.write_text(PLAIN_IPYTHON)
    done = run_command([PYTHON, script], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "6.0" in done.stdout
    assert "NameError" in done.stdout
    (run,) = sl_json(tmp_path / ".snapline", "runs")  # the default store, in the cwd
    assert run["status"] == "finished"  # ended at exit
    rows = sl_json(tmp_path / ".snapline", "log", run["id"])
    assert [r["label"] for r in rows if r["trigger"] == "cell"] == \
        ["In [1]", "In [2]", "In [3]", "In [4]", "In [5]"]
    assert [r["loops"] for r in rows if r["trigger"] == "iteration"] == [[1], [2], [3]]
    objects = {o["path"]: o for o in sl_json(tmp_path / ".snapline", "show", run["id"])}
    assert objects["acc"]["stats"]["max"] == 3.0
    # the run's source is every cell's Python, kept at the end
    assert run["lineage"]["script_hash"]


def test_kernel_vocabulary_loop_makes_curves(kernel: Kernel, store: Path) -> None:
    """A notebook cell in the style of NLP tutorials: build a vocabulary in
    a loop over sentences. Its counters become curves with a point per
    sentence; the vocabulary comes back at checkout."""
    kernel.ok("%load_ext snapline")
    kernel.ok("""
        import random
        random.seed(0)
        words = [f"w{i}" for i in range(300)]
        corpus = [" ".join(random.choices(words, k=12)) for _ in range(150)]
    """)
    built = kernel.ok("""
        vocab = {}
        n_tokens = 0
        for sentence in corpus:
            for token in sentence.lower().split():
                vocab[token] = vocab.get(token, 0) + 1
                n_tokens += 1
            vocab_size = len(vocab)
        print(vocab_size, n_tokens)
    """)
    size, tokens = (int(v) for v in built["stdout"].split())
    assert tokens == 150 * 12
    kernel.ok("%snapline log")  # waits for the writer
    (series,) = sl_json(store, "metrics", "last", "vocab_size")
    values = [p["value"] for p in series["points"]]
    assert values == sorted(values) and values[-1] == size
    (count,) = sl_json(store, "metrics", "last", "n_tokens")
    # One point per token (the inner loop), at the inner loop's step.
    assert [p["step"] for p in count["points"]] == list(range(1, tokens + 1))
    assert count["points"][-1]["value"] == tokens
    rows = sl_json(store, "log", "last")
    # The vocabulary cell is the session's third: In [3].
    (seq,) = [r["seq"] for r in rows if r["trigger"] == "cell" and r["label"] == "In [3]"]
    kernel.ok("vocab.clear()")
    kernel.ok(f"%snapline checkout {seq}")
    assert kernel.ok("print(len(vocab))")["stdout"].strip() == str(size)


def test_kernel_project_modules_and_unload(kernel: Kernel, store: Path, tmp_path: Path) -> None:
    """A notebook importing the project's own module (in its working
    directory): that module's loops are safe points with their locals; and
    after %unload_ext, functions instrumented while loaded still run."""
    kernel.ok(f"import os\nos.chdir({str(tmp_path)!r})")
    (tmp_path / "engine.py").write_text(textwrap.dedent("""
        def train_one_epoch(weights, batches):
            total = 0.0
            for batch in batches:
                loss = sum(w * b for w, b in zip(weights, batch))
                total += loss
            return total
    """))
    kernel.ok("%load_ext snapline")
    kernel.ok("""
        import sys
        sys.path.insert(0, ".")
        import snapline
        from engine import train_one_epoch

        def run(epochs):
            out = []
            for epoch in range(epochs):
                out.append(train_one_epoch([0.5, 0.25], [[1, 2], [3, 4], [5, 6]]))
            return out
    """)
    assert kernel.ok("print(run(2))")["stdout"].strip() == "[7.5, 7.5]"
    kernel.ok("%snapline log")
    (loss,) = sl_json(store, "metrics", "last", "train_one_epoch:loss")
    assert [p["value"] for p in loss["points"]][:3] == [1.0, 2.5, 4.0]
    kernel.ok("%unload_ext snapline")
    # Instrumented code after unloading: the hooks are there and do nothing.
    assert kernel.ok("print(run(1))")["stdout"].strip() == "[7.5]"


def test_kernel_budget_magic(kernel: Kernel, store: Path) -> None:
    """`%snapline budget`: with none, every iteration of a cell's loop is a
    snapshot; with one, a tight loop growing its state is snapshotted less
    often, said once in the cell's stderr."""
    kernel.ok("%load_ext snapline")
    assert "2% of the time" in kernel.ok("%snapline budget")["stdout"]
    assert "no budget" in kernel.ok("%snapline budget 0")["stdout"]
    grow = """
        tokens = []
        for i in range({n}):
            tokens.append(f"t{i % 97}")
    """
    kernel.ok(grow.replace("{n}", "200"))
    kernel.ok("%snapline log")  # waits for the writer
    rows = sl_json(store, "log", "last")
    assert len([r for r in rows if r["trigger"] == "iteration"]) == 200
    assert "1% of the time" in kernel.ok("%snapline budget 1%")["stdout"]
    out = kernel.ok(grow.replace("{n}", "20000"))
    assert out["stderr"].count("snapshotted less often") == 1, out["stderr"]
    kernel.ok("%snapline log")
    rows = sl_json(store, "log", "last")
    assert len([r for r in rows if r["trigger"] == "iteration"]) < 200 + 2000
    assert "percentage" in kernel.ok("%snapline budget lots")["stdout"]


IDLE_BUDGET = """
import time
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_cell("%load_ext snapline", store_history=True)
shell.run_cell("%snapline budget 10", store_history=True)
import snapline.notebook

agent = snapline.notebook.current.agent
agent.budget_left, agent.budget_at = 0.0, time.monotonic()  # spent by earlier cells
time.sleep(2.0)  # the user reads the output: a tenth of it would refill 0.2 s
shell.run_cell("total = 0\\nfor k in range(30):\\n    total += k", store_history=True)
print("total", shell.user_ns["total"])
"""


def test_idle_time_does_not_refill_the_budget(tmp_path: Path) -> None:
    """The loop snapshots' budget is a share of the time cells run: a pause
    between cells gives the next cell's loop no fresh burst of snapshots."""
    script = tmp_path / "drive.py"
    script.write_text(IDLE_BUDGET)
    done = run_command([PYTHON, script], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "total 435" in done.stdout
    rows = sl_json(tmp_path / ".snapline", "log", "last")
    loop_snapshots = [r for r in rows if r["trigger"] == "iteration" and r["file"] == "In [3]"]
    # With the pause counted, the budget holds 0.2 s: all 30 iterations.
    assert len(loop_snapshots) <= 5, [r["seq"] for r in loop_snapshots]
