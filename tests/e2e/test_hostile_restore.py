"""Restoring someone else's snapshot runs no code (issue #15). Each attack
of the red-team pass is rebuilt here from its description, with payloads
forged into an attacker's store (tests/e2e/forge.py) and carried by a real
bundle: the victim's restore must leave no marker file, start no process,
write nothing outside the store, and say clearly what it withheld. Then
more attacks of the same classes."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, PYTHON, Snapline, run
from forge import Forge

ATTACKER = """
import collections
import statistics

import numpy as np

weights = np.arange(6.0).reshape(2, 3)
mean = statistics.mean
counts = collections.Counter("aab")
print("done")
"""


class _Calls:
    """Pickles as `func(*args)`: nothing runs when pickling."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return (self.func, self.args)


def calls(func: Any, *args: Any) -> bytes:
    return pickle.dumps(_Calls(func, *args), protocol=4)


def build_on(module: str, name: str, attr: str) -> bytes:
    """A pickle that names `module.name` and BUILDs state on it directly
    (setattr on the class itself, process-wide)."""
    def text(s: str) -> bytes:
        return b"\x8c" + bytes([len(s)]) + s.encode()
    return (b"\x80\x04" + text(module) + text(name) + b"\x93"  # STACK_GLOBAL
            + b"N}" + text(attr) + b"K\x01s"  # None, {attr: 1}
            + b"\x86b.")  # TUPLE2, BUILD, STOP


def restore(store: Path, *args: Any, cwd: Any = None, env: dict | None = None) -> Any:
    return run([BIN, "--store", store, "restore", "last", *args], cwd=cwd, env=env)


def probe(done: Any) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert len(lines) == 1, (done.stdout, done.stderr)
    return json.loads(lines[0][len("PROBE "):])


def report(done: Any) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, (done.stdout, done.stderr)
    return json.loads(lines[0])


def withheld(done: Any) -> dict:
    return {item["path"]: item["reason"] for item in report(done)["withheld"]}


def listing(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def attacker(sl: Snapline, tmp_path: Path) -> Path:
    """The attacker's store with one captured run (in its own directory)."""
    home = tmp_path / "attacker"
    home.mkdir()
    store = home / ".snapline"
    done = sl.capture(sl.script(ATTACKER, name="train.py"), store=store, cwd=home)
    assert done.returncode == 0, done.stderr
    return store


def ship(attacker: Path, tmp_path: Path, name: str = "victim") -> Path:
    """Exports the attacker's last run and imports it into a fresh store."""
    bundle = tmp_path / f"{name}.snapline"
    done = run([BIN, "--store", attacker, "export", "last", "-o", bundle])
    assert done.returncode == 0, done.stderr
    victim = tmp_path / name
    done = run([BIN, "--store", victim, "import", bundle])
    assert done.returncode == 0, done.stderr
    return victim


# -- the nine attacks of the red-team pass ---------------------------------------


def test_1_a_bundle_cannot_add_snapshots_to_a_local_run(sl: Snapline, tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    done = sl.capture(sl.script(ATTACKER, name="train.py"))
    assert done.returncode == 0, done.stderr
    # The attacker has the victim's run (a bundle the victim sent) and adds
    # a snapshot to it, holding a pickle that runs a shell command.
    evil = tmp_path / "evil-store"
    shutil.copytree(sl.store, evil)
    with Forge(evil) as forge:
        run_id, seq = forge.last()
        forge.db.row_factory = sqlite3.Row
        row = dict(forge.db.execute("SELECT * FROM snapshots WHERE run_id = ? AND seq = ?",
                                    (run_id, seq)).fetchone())
        row["seq"] = seq + 1
        forge.db.execute(f"INSERT INTO snapshots ({', '.join(row)}) VALUES "
                         f"({', '.join('?' for _ in row)})", list(row.values()))
        forge.db.execute("INSERT INTO entries SELECT run_id, ?, path, node, hash FROM entries "
                         "WHERE run_id = ? AND seq = ?", (seq + 1, run_id, seq))
        forge.entry("weights", forge.pickle(calls(os.system, f"touch {marker}")),
                    (run_id, seq + 1))
    bundle = tmp_path / "merge.snapline"
    assert run([BIN, "--store", evil, "export", run_id, "-o", bundle]).returncode == 0
    before = listing(sl.store)
    done = run([BIN, "--store", sl.store, "import", bundle])
    assert done.returncode != 0
    assert "was captured in this store" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert listing(sl.store) == before
    assert [r["snapshots"] for r in sl.runs()] == [seq + 1]
    assert restore(sl.store, "-c", "pass").returncode == 0
    assert not marker.exists()


def test_1b_importing_a_run_back_into_its_own_store_is_a_no_op(sl: Snapline,
                                                             tmp_path: Path) -> None:
    assert sl.capture(sl.script(ATTACKER)).returncode == 0
    bundle = tmp_path / "own.snapline"
    assert run([BIN, "--store", sl.store, "export", "last", "-o", bundle]).returncode == 0
    done = run([BIN, "--store", sl.store, "import", bundle])
    assert done.returncode == 0, done.stderr
    assert sl.last_run()["origin"] is None


def test_2_numpy_memmap_never_writes_a_file(sl: Snapline, attacker: Path,
                                            tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    target = tmp_path / "written-by-memmap"
    with Forge(attacker) as forge:
        forge.entry("cache", forge.pickle(calls(np.memmap, str(target), "uint8", "w+", 0, (16,)),
                                          "numpy.memmap"))
    for store, extra in ((ship(attacker, tmp_path), ()), (attacker, ("--safe",))):
        done = restore(store, *extra, "--json", "-c", "pass")
        assert done.returncode == 0, done.stderr
        assert not target.exists()
        assert "numpy.memmap" in withheld(done)["cache"], done.stdout


def test_3_no_module_is_imported_from_the_working_directory(sl: Snapline, attacker: Path,
                                                            tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    planted = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\ndef mean(x): return 0\n"
    here = tmp_path / "here"
    here.mkdir()
    for where in (here, attacker.parent):  # where restore starts, the run's directory
        (where / "statistics.py").write_text(planted)
    victim = ship(attacker, tmp_path)
    # Without the sandbox (which would stop the marker by itself): the
    # path rule alone must hold.
    done = restore(victim, "-c", "import statistics, json\nprint('PROBE ' + json.dumps("
                   "{'file': statistics.__file__, 'mean': mean([1, 3])}))",
                   cwd=here, env={"SNAPLINE_SANDBOX": "off"})
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    got = probe(done)
    assert got["mean"] == 2 and not got["file"].startswith(str(tmp_path)), got


def test_4_a_runnable_submodule_is_never_imported(sl: Snapline, attacker: Path,
                                                  tmp_path: Path) -> None:
    with Forge(attacker) as forge:
        forge.entry("tool", forge.reference("numpy.f2py.__main__", "main"))
        forge.entry("tool2", forge.pickle(
            b"\x80\x04\x8c\x13numpy.f2py.__main__\x8c\x04main\x93)R.", "function"))
        forge.entry("f2py", forge.reference("numpy.f2py", "", ref="module"))
    done = restore(ship(attacker, tmp_path), "--json", "-c",
                   "import sys, json\nprint('PROBE ' + json.dumps("
                   "[m for m in sys.modules if m.startswith('numpy.f2py')]))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == []
    reasons = withheld(done)
    assert "__main__" in reasons["tool"] and "__main__" in reasons["tool2"], reasons
    assert "imports nothing new" in reasons["f2py"], reasons


def test_5_dunders_and_system_callables_are_not_restored(sl: Snapline, attacker: Path,
                                                         tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    with Forge(attacker) as forge:
        exec_ref = forge.reference("builtins", "exec")
        forge.entry("__builtins__", exec_ref)
        forge.entry("print", exec_ref)
        forge.entry("run", forge.reference("os", "system"))
        forge.entry("sh", forge.reference("posix", "system"))
    code = (f"print(\"import pathlib; pathlib.Path({str(marker)!r}).touch()\")\n"
            "print('PROBE ' + __import__('json').dumps(sorted(k for k in ('run', 'sh') "
            "if k in globals())))")
    for store, extra in ((ship(attacker, tmp_path), ()), (attacker, ("--safe",))):
        done = restore(store, *extra, "-c", code)
        assert done.returncode == 0, done.stderr
        assert not marker.exists()
        assert probe(done) == []
        text = done.stderr
        assert "__builtins__: a dunder name is never restored" in text, text
        assert "print: builtins.exec can reach files" in text, text
        assert "run: os.system" in text, text


def test_6_build_never_sets_attributes_on_a_class(sl: Snapline, attacker: Path,
                                                  tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with Forge(attacker) as forge:
        forge.entry("flags", forge.pickle(build_on("pandas", "Flags", "pwned")))
        forge.entry("index", forge.pickle(build_on("pandas", "Index", "pwned")))
        forge.entry("frac", forge.pickle(build_on("fractions", "Fraction", "pwned")))
    done = restore(ship(attacker, tmp_path), "--json", "-c",
                   "import fractions, json, pandas\nprint('PROBE ' + json.dumps(["
                   "hasattr(pandas.Flags, 'pwned'), hasattr(pandas.Index, 'pwned'), "
                   "hasattr(fractions.Fraction, 'pwned')]))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == [False, False, False]
    reasons = withheld(done)
    for name in ("flags", "index"):
        assert "which it did not create" in reasons[name], reasons
    assert "fractions.Fraction" in reasons["frac"], reasons


def test_7_declared_sizes_never_abort(sl: Snapline, attacker: Path, tmp_path: Path) -> None:
    with Forge(attacker) as forge:
        big = forge.chunk(bytes(64 << 20))  # one real 64 MiB chunk, 2 KiB compressed
        forge.entry("blob", forge.record({
            "kind": "pickle", "type": "bytes", "restorable": True, "chunks": [big] * 16384,
            "nbytes": 1 << 40, "extra": {"protocol": 5}}))
        forge.entry("huge", forge.record({
            "kind": "array", "type": "numpy.ndarray", "shape": [1 << 40], "dtype": "uint8",
            "restorable": True, "chunks": [big] * 16384, "nbytes": 1 << 40,
            "extra": {"dtype_str": "|u1", "framework": "numpy", "order": "C"}}))
    victim = ship(attacker, tmp_path)
    assert (tmp_path / "victim.snapline").stat().st_size < 4 << 20
    done = restore(victim, "--trust", "--json", "-c", "print('PROBE ' + str(float(weights.sum())))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == 15.0
    missing = {item["path"]: item["reason"] for item in report(done)["missing"]}
    assert "more than this machine's memory" in missing["blob"], missing
    assert "huge" in missing, missing

    # A catalog whose chunk declares 2^63-1 bytes: fsck, log --verify and
    # restore each answer with an error line, never an abort.
    assert sl.capture(sl.script(ATTACKER)).returncode == 0
    with sqlite3.connect(sl.store / "catalog.sqlite") as db:
        db.execute("UPDATE chunks SET size = ?", ((1 << 63) - 1,))
    for args in (("fsck",), ("log", "last", "--verify"), ("restore", "last", "-c", "pass")):
        done = run([BIN, "--store", sl.store, *args])
        assert done.returncode in (0, 1, 2), (args, done.returncode, done.stderr)
        assert "panicked" not in done.stderr and "memory allocation" not in done.stderr
        assert "9223372036854775807" in done.stdout + done.stderr, (args, done.stdout)


ESC = "\x1b"
NASTY = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


def test_8_escape_sequences_never_reach_the_terminal(sl: Snapline, tmp_path: Path) -> None:
    script = sl.script(f"""
        import snapline
        note = {NASTY!r} + "text"
        snapline.log(step=0, **{{{"loss" + NASTY!r}: 1.0}})
        snapline.log(step=1, **{{{"loss" + NASTY!r}: float("nan")}})
        snapline.checkpoint(label={"label" + NASTY + chr(0x202e)!r})
        value = float("nan")
    """, name=f"train{NASTY}.py")
    assert sl.capture(script).returncode == 0
    with Forge(sl.store) as forge:
        forge.entry("forged", forge.reference("os" + NASTY, "system" + NASTY))
    for args in (("runs",), ("log", "last"), ("show", "last"), ("show", "last", "note"),
                 ("metrics", "last"), ("metrics", "last", "--all"), ("nan", "last"),
                 ("diff", "last@0", "last"), ("fsck",)):
        done = run([BIN, "--store", sl.store, *args])
        assert done.returncode == 0, (args, done.stderr)
        out = done.stdout + done.stderr
        assert ESC not in out and "\x07" not in out and "\u202e" not in out, (args, out)
    shown = run([BIN, "--store", sl.store, "show", "last", "note"]).stdout
    assert "\\x1b" in shown or "\\u{1b}" in shown, shown
    done = restore(sl.store, "--safe", "-c", "pass")
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stderr and "\\x1b" in done.stderr, done.stderr


def test_9_store_walks_never_follow_symlinks_out(sl: Snapline, tmp_path: Path) -> None:
    script = sl.script("""
        import numpy as np
        big = np.arange(40000.0)
        other = np.arange(40000.0) * 2
    """)
    assert sl.capture(script).returncode == 0
    outside = tmp_path / "outside"
    dirs = sorted(d for d in (sl.store / "chunks").iterdir() if d.is_dir())
    assert dirs
    shutil.move(str(dirs[0]), outside)
    dirs[0].symlink_to(outside, target_is_directory=True)
    (outside / ("f" * 32 + ".zst")).write_bytes(b"not the store's")  # an orphan-looking file
    before = listing(outside)
    for args in (("fsck", "--repair"), ("gc", "--keep-last", "1"), ("rm", "last")):
        done = run([BIN, "--store", sl.store, *args])
        assert "panicked" not in done.stderr, done.stderr
        assert listing(outside) == before, args


# -- more attacks of the same classes ----------------------------------------------


def test_a_pickle_that_starts_a_process_is_withheld(sl: Snapline, attacker: Path,
                                                    tmp_path: Path) -> None:
    import subprocess

    marker = tmp_path / "MARKER"
    with Forge(attacker) as forge:
        forge.entry("proc", forge.pickle(calls(subprocess.Popen, ["touch", str(marker)])))
        forge.entry("ev", forge.pickle(calls(eval, f"open({str(marker)!r}, 'w')")))
    done = restore(ship(attacker, tmp_path), "--json", "-c", "pass",
                   env={"SNAPLINE_SANDBOX": "off"})
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert set(withheld(done)) >= {"proc", "ev"}


def test_ndarray_subclasses_are_not_data(sl: Snapline, attacker: Path, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    with Forge(attacker) as forge:
        forge.entry("rec", forge.pickle(pickle.dumps(np.rec.array([(1, 2.0)], names="a,b"))))
        forge.entry("mat", forge.pickle(pickle.dumps(np.asmatrix(np.eye(2)))))
        forge.entry("fine", forge.pickle(pickle.dumps(np.float32(2.5))))
    done = restore(attacker, "--safe", "--json", "-c", "print('PROBE ' + str(float(fine)))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == 2.5
    assert {"rec", "mat"} <= set(withheld(done)), withheld(done)


def test_references_that_reach_files_are_withheld_and_pure_ones_kept(
        sl: Snapline, attacker: Path, tmp_path: Path) -> None:
    with Forge(attacker) as forge:
        for name, (module, qualname) in {
                "save": ("numpy", "save"), "load": ("numpy", "load"),
                "opener": ("builtins", "open"), "getter": ("builtins", "getattr"),
                "imp": ("importlib", "import_module"), "sub": ("subprocess", "run"),
                "sqrt": ("math", "sqrt"), "npmean": ("numpy", "mean"),
                "biggest": ("builtins", "max")}.items():
            forge.entry(name, forge.reference(module, qualname))
        forge.entry("subprocess", forge.reference("subprocess", "", ref="module"))
        forge.entry("linalg", forge.reference("numpy.linalg", "", ref="module"))
    done = restore(ship(attacker, tmp_path), "--json", "-c",
                   "print('PROBE ' + str([sqrt(4.0), float(npmean([1, 3])), biggest(1, 2), "
                   "linalg.__name__]).replace(\"'\", '\"'))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == [2.0, 2.0, 2, "numpy.linalg"]
    assert set(withheld(done)) >= {"save", "load", "opener", "getter", "imp", "sub",
                                   "subprocess"}, withheld(done)


def test_build_on_a_named_function_is_withheld(sl: Snapline, attacker: Path,
                                               tmp_path: Path) -> None:
    with Forge(attacker) as forge:
        forge.entry("enc", forge.pickle(build_on("_codecs", "encode", "pwned")))
        forge.entry("od", forge.pickle(build_on("collections", "OrderedDict", "pwned")))
    done = restore(attacker, "--safe", "--json", "-c", "pass")
    assert done.returncode == 0, done.stderr
    reasons = withheld(done)
    assert "did not create" in reasons["enc"] and "did not create" in reasons["od"], reasons


def test_a_foreign_restore_is_sandboxed_and_says_how_to_leave(sl: Snapline, attacker: Path,
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "written-outside"
    code = (f"import json, os, subprocess, tempfile\nres = {{}}\n"
            f"try:\n    open({str(outside)!r}, 'w')\n    res['write'] = 'ok'\n"
            "except OSError as e:\n    res['write'] = e.errno\n"
            "try:\n    subprocess.run(['true'])\n    res['exec'] = 'ok'\n"
            "except OSError as e:\n    res['exec'] = e.errno\n"
            "with tempfile.NamedTemporaryFile() as f:\n    res['scratch'] = f.name\n"
            "print('PROBE ' + json.dumps(res))")
    victim = ship(attacker, tmp_path)
    done = restore(victim, "-c", code)
    assert done.returncode == 0, done.stderr
    if "no sandbox here" in done.stderr:
        pytest.skip("Landlock is not available on this kernel")
    got = probe(done)
    assert got["write"] == 13 and got["exec"] == 13, got
    assert not outside.exists()
    assert "sandboxed (Landlock ABI" in done.stderr and "--trust" in done.stderr, done.stderr
    assert not Path(got["scratch"]).is_relative_to(tmp_path)
    assert "counts" in done.stderr.split("restored:", 1)[1]  # pickles load in the sandbox
    # --trust leaves it (the user's choice, listed first).
    done = restore(victim, "--trust", "-c", code)
    assert done.returncode == 0, done.stderr
    assert probe(done)["write"] == "ok" and "sandboxed" not in done.stderr


def test_without_the_sandbox_foreign_pickles_are_withheld(sl: Snapline, attacker: Path,
                                                          tmp_path: Path) -> None:
    done = restore(ship(attacker, tmp_path), "--json", "-c",
                   "print('PROBE ' + str(float(weights.sum())))",
                   env={"SNAPLINE_SANDBOX": "off"})
    assert done.returncode == 0, done.stderr
    assert probe(done) == 15.0
    got = report(done)
    assert "only in the sandbox, or with --trust" in withheld(done)["counts"], got
    assert any(note.startswith("not sandboxed") for note in got["notes"]), got["notes"]


def test_gc_refuses_a_linked_chunks_directory(sl: Snapline, tmp_path: Path) -> None:
    assert sl.capture(sl.script("import numpy as np\nx = np.arange(40000.0)\n")).returncode == 0
    outside = tmp_path / "outside-chunks"
    shutil.move(str(sl.store / "chunks"), outside)
    (sl.store / "chunks").symlink_to(outside, target_is_directory=True)
    before = listing(outside)
    done = run([BIN, "--store", sl.store, "gc", "--keep-last", "1"])
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert listing(outside) == before


def test_import_never_writes_through_a_linked_chunk_directory(sl: Snapline,
                                                              tmp_path: Path) -> None:
    source = tmp_path / "source"
    script = sl.script("import numpy as np\nx = np.arange(40000.0)\n")
    assert sl.capture(script, store=source).returncode == 0
    bundle = tmp_path / "b.snapline"
    assert run([BIN, "--store", source, "export", "last", "-o", bundle]).returncode == 0
    victim = tmp_path / "victim"
    assert sl.capture(sl.script("x = 1\n"), store=victim).returncode == 0
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (victim / "chunks").mkdir(exist_ok=True)
    for d in (source / "chunks").iterdir():
        (victim / "chunks" / d.name).symlink_to(outside, target_is_directory=True)
    done = run([BIN, "--store", victim, "import", bundle])
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert list(outside.iterdir()) == []


def test_a_bidi_override_in_a_label_is_shown_escaped(sl: Snapline) -> None:
    script = sl.script("import snapline\nsnapline.checkpoint(label='gnp.\\u202eexe')\n")
    assert sl.capture(script).returncode == 0
    done = run([BIN, "--store", sl.store, "log", "last"])
    assert done.returncode == 0, done.stderr
    assert "\u202e" not in done.stdout and "\\u{202e}" in done.stdout, done.stdout


def test_a_forged_local_dunder_is_not_restored(sl: Snapline, attacker: Path,
                                               tmp_path: Path) -> None:
    with Forge(attacker) as forge:
        forge.entry("__spec__", forge.reference("math", "sqrt"))
        forge.entry("__name__", forge.reference("math", "sqrt"))
    done = restore(attacker, "--json", "-c", "print('PROBE ' + repr(__name__).replace(\"'\", "
                   "'\"'))")
    assert done.returncode == 0, done.stderr
    assert probe(done) == "__main__"
    assert {"__spec__", "__name__"} <= set(withheld(done))


def test_3b_ipython_restore_of_a_foreign_snapshot_runs_none_of_it(
        sl: Snapline, attacker: Path, tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    marker = tmp_path / "MARKER"
    with Forge(attacker) as forge:
        forge.entry("evil", forge.pickle(calls(os.system, f"touch {marker}")))
    victim = ship(attacker, tmp_path)
    here = tmp_path / "session"
    here.mkdir()
    (here / "statistics.py").write_text(f"open({str(marker)!r}, 'w')\n")
    drive = here / "drive.py"
    drive.write_text(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        f"for cell in ['%load_ext snapline', '%snapline restore last --store {victim}',\n"
        "             'print(\"PROBE\", sorted(k for k in (\"evil\", \"weights\", \"mean\") "
        "if k in globals()))']:\n"
        "    shell.run_cell(cell, store_history=True)\n")
    done = run([PYTHON, drive], cwd=here)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert "PROBE ['mean', 'weights']" in done.stdout, done.stdout
    assert "not sandboxed: this restore runs in a live kernel" in done.stdout, done.stdout
    assert "evil: this restore runs in a live kernel" in done.stdout, done.stdout
