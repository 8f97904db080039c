"""Safe by default: a snapshot from elsewhere (an imported run), or any
snapshot restored with `--safe`, runs no code of the run. Data and
well-known types come back; a pickle that would call `os.system`, the
script's functions and classes, and its settings do not (they are reported
as withheld); `--trust` loads everything after saying what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BIN, Snapline, run

HOSTILE = """
import datetime
import decimal
import os
import sys

import numpy as np


class Hostile:
    # Pickling this object does not call os.system; unpickling it does.
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[1],))


def helper(x):
    return x + 1


os.environ["SNAPLINE_SAFE_TEST"] = "set by the script"
evil = Hostile()
weights = np.arange(6.0).reshape(2, 3)
when = datetime.datetime(2024, 5, 1, 12, 30)
price = decimal.Decimal("9.99")
z = complex(1, 2)
span = range(3, 9)
f = helper
mixed = [weights, evil, "kept"]
print("done")
"""

PROBE = """
import json, os
print("PROBE " + json.dumps({
    "names": sorted(n for n in globals() if not n.startswith("__")),
    "weights": weights.tolist(), "when": when.isoformat(), "price": str(price),
    "z": [z.real, z.imag], "span": list(span), "mixed": [mixed[0] is weights, mixed[1], mixed[2]],
    "np": np.__name__, "env": os.environ.get("SNAPLINE_SAFE_TEST")}))
"""


def restore(sl: Snapline, ref: str, *extra: object, store: object = None) -> object:
    """`snapline --store STORE restore REF EXTRA...` (no JSON flag unless given)."""
    return run([BIN, "--store", store or sl.store, "restore", ref, *extra])


def probe(done: object) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert len(lines) == 1, (done.stdout, done.stderr)
    return json.loads(lines[0][len("PROBE "):])


def report(done: object) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, (done.stdout, done.stderr)
    return json.loads(lines[0])


@pytest.fixture
def hostile(sl: Snapline, tmp_path: Path) -> Path:
    """Captures HOSTILE; returns the path its pickle would touch."""
    sentinel = tmp_path / "SENTINEL"
    done = sl.capture(sl.script(HOSTILE, name="hostile.py"), sentinel)
    assert done.returncode == 0, done.stderr
    assert not sentinel.exists()  # capture pickles it without running anything
    return sentinel


def test_safe_restore_runs_no_code_of_the_snapshot(sl: Snapline, hostile: Path) -> None:
    done = restore(sl, "last", "--safe", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert not hostile.exists()
    got = probe(done)
    # The data came back, the prompt's code ran; the script's imports of
    # well-known modules ran, its function, class and settings did not.
    assert got["weights"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert got["when"] == "2024-05-01T12:30:00" and got["price"] == "9.99"
    assert got["z"] == [1.0, 2.0] and got["span"] == [3, 4, 5, 6, 7, 8]
    assert got["mixed"] == [True, None, "kept"]
    assert got["np"] == "numpy" and got["env"] is None
    for name in ("evil", "helper", "Hostile", "f"):
        assert name not in got["names"]
    assert "withheld: 5" in done.stderr, done.stderr
    assert "evil: its pickle loads posix.system" in done.stderr or (
        "evil: its pickle loads nt.system" in done.stderr), done.stderr


def test_safe_restore_reports_withheld_objects_in_json(sl: Snapline, hostile: Path) -> None:
    done = restore(sl, "last", "--safe", "-c", "pass", "--json")
    assert done.returncode == 0, done.stderr
    assert not hostile.exists()
    got = report(done)
    assert got["mode"] == "safe"
    withheld = {item["path"]: item["reason"] for item in got["withheld"]}
    assert set(withheld) == {"evil", "mixed[1]", "helper", "f", "Hostile"}
    assert "system" in withheld["evil"]
    assert "defined by the script" in withheld["helper"]
    assert got["missing"] == []
    assert {"weights", "when", "price", "z", "span", "mixed"} <= set(got["restored"])


def test_the_same_snapshot_restored_in_full_runs_the_pickle(sl: Snapline, hostile: Path) -> None:
    # Proves the test above can fail: a local run is restored as it is.
    done = restore(sl, "last", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert hostile.exists()
    got = probe(done)
    assert {"evil", "helper", "Hostile", "f"} <= set(got["names"])
    assert got["env"] == "set by the script"


def test_safe_and_trust_exclude_each_other_and_resume(sl: Snapline, hostile: Path) -> None:
    both = restore(sl, "last", "--safe", "--trust", "-c", "pass")
    assert both.returncode != 0 and "--trust" in both.stderr
    resumed = restore(sl, "last", "--safe", "--resume")
    assert resumed.returncode != 0 and "--resume" in resumed.stderr
    assert not hostile.exists()


def imported(sl: Snapline, tmp_path: Path) -> Path:
    """The last run exported and imported into a second store."""
    bundle = tmp_path / "run.snapline"
    done = run([BIN, "--store", sl.store, "export", "last", "-o", bundle])
    assert done.returncode == 0, done.stderr
    other = tmp_path / "elsewhere"
    done = run([BIN, "--store", other, "import", bundle])
    assert done.returncode == 0, done.stderr
    return other


def test_an_imported_run_is_restored_safely_by_default(sl: Snapline, hostile: Path,
                                                       tmp_path: Path) -> None:
    other = imported(sl, tmp_path)
    done = restore(sl, "last", "-c", PROBE, store=other)
    assert done.returncode == 0, done.stderr
    assert not hostile.exists()
    got = probe(done)
    assert got["weights"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert "evil" not in got["names"] and got["env"] is None
    assert "safe mode (imported" in done.stderr, done.stderr

    # Resuming runs the script: refused without --trust, which it names.
    resumed = restore(sl, "last", "--resume", store=other)
    assert resumed.returncode != 0
    assert "--trust" in resumed.stderr, resumed.stderr
    assert not hostile.exists()


def test_trust_lists_what_safe_mode_withholds_then_loads_it(sl: Snapline, hostile: Path,
                                                            tmp_path: Path) -> None:
    other = imported(sl, tmp_path)
    done = restore(sl, "last", "--trust", "-c", "pass", "--json", store=other)
    assert done.returncode == 0, done.stderr
    assert hostile.exists()
    got = report(done)
    assert got["mode"] == "trusted" and got["withheld"] == []
    trusted = {item["what"]: item["count"] for item in got["trusted"]}
    assert any("__main__.Hostile" in what and "system" in what for what in trusted), trusted
    assert trusted.get("function __main__.helper") == 1, trusted
    hostile.unlink()

    text = restore(sl, "last", "--trust", "-c", "pass", store=other)
    assert text.returncode == 0, text.stderr
    head = text.stderr.split("snapline: restored", 1)[0]
    assert "--trust: loading" in head and "__main__.Hostile" in head, text.stderr
    assert hostile.exists()
    hostile.unlink()

    # --trust lets an imported run resume (it runs the script from there on).
    near_end = [row["seq"] for row in sl.log(store=other) if row["trigger"] == "statement"][-2]
    resumed = restore(sl, f"last@{near_end}", "--resume", "--trust", store=other)
    assert resumed.returncode == 0, resumed.stderr
    assert "the script itself" in resumed.stderr and "done" in resumed.stdout


def test_safe_restore_keeps_torch_modules_and_withholds_script_classes(
        sl: Snapline, need_torch: None) -> None:
    script = sl.script("""
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(2, 3)

        torch.manual_seed(0)
        builtin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
        custom = Net()
        state = builtin.state_dict()
        opt = torch.optim.SGD(builtin.parameters(), lr=0.1)
        print("done")
    """)
    assert sl.capture(script).returncode == 0
    done = restore(sl, "last", "--safe", "--json", "-c", (
        "import json\nprint('PROBE ' + json.dumps({"
        "'linear': type(builtin[0]).__name__, 'same': torch.equal(builtin[0].weight, "
        "state['0.weight']), 'opt': opt.param_groups[0]['params'][0] is builtin[0].weight,"
        "'custom': 'custom' in globals()}))"))
    assert done.returncode == 0, done.stderr
    assert probe(done) == {"linear": "Linear", "same": True, "opt": True, "custom": False}
    withheld = {item["path"]: item["reason"] for item in report(done)["withheld"]}
    assert "custom" in withheld and "Net" in withheld["custom"], withheld
