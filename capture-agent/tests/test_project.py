"""Tests for snapline.project (which files are the user's project) and
rewrite.instrument_module (how its modules are instrumented)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import snapline
from snapline import project, rewrite


def touch(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n")
    return str(path)


def test_project_files_are_under_the_script_dir_or_cwd(tmp_path):
    script_dir, cwd, elsewhere = tmp_path / "proj", tmp_path / "work", tmp_path / "other"
    files = project.ProjectFiles(str(script_dir), str(cwd))
    assert files.contains(touch(script_dir / "engine.py"))
    assert files.contains(touch(script_dir / "pkg" / "sub" / "models.py"))
    assert files.contains(touch(cwd / "helpers" / "data.py"))
    assert not files.contains(touch(elsewhere / "engine.py"))
    assert not files.contains(str(script_dir / "engine.pyc"))
    assert not files.contains(touch(script_dir / "ext.so"))


def test_third_party_code_is_never_the_projects(tmp_path):
    root = tmp_path / "proj"
    files = project.ProjectFiles(str(root))
    # Installed packages, even inside the project's tree.
    assert not files.contains(touch(root / "lib" / "site-packages" / "torch" / "nn.py"))
    assert not files.contains(touch(root / "deb" / "dist-packages" / "numpy" / "core.py"))
    # A virtual environment inside the project (not the running one).
    touch(root / ".venv" / "pyvenv.cfg")
    assert not files.contains(touch(root / ".venv" / "lib" / "tool.py"))
    assert files.contains(touch(root / "venv_utils.py"))


def test_interpreter_stdlib_and_snapline_are_never_the_projects(tmp_path):
    # Even when the project's root holds them all (a working directory of /
    # is no root at all).
    files = project.ProjectFiles(os.sep, sys.prefix, os.path.dirname(os.__file__),
                                 os.path.dirname(snapline.__file__))
    assert files.roots == tuple(os.path.join(os.path.realpath(p), "") for p in (
        sys.prefix, os.path.dirname(os.__file__), os.path.dirname(snapline.__file__)))
    assert not files.contains(os.__file__)
    assert not files.contains(json.__file__)
    assert not files.contains(snapline.__file__)
    assert not files.contains(project.__file__)


def test_symlinked_files_are_judged_by_their_target(tmp_path):
    root = tmp_path / "proj"
    target = touch(tmp_path / "site-packages" / "lib.py")
    (root).mkdir()
    os.symlink(target, root / "lib.py")
    assert not project.ProjectFiles(str(root)).contains(str(root / "lib.py"))


MODULE = textwrap.dedent("""
    TABLE = {}
    for name in ("a", "b"):
        TABLE[name] = len(TABLE)


    class Config:
        sizes = [n for n in range(3)]
        for extra in range(2):
            sizes.append(extra)


    def train_one_epoch(batches):
        total = 0
        for batch in batches:
            total += batch
        while total > 10:
            total -= 10
        return total
""").lstrip()


def test_instrument_module_hooks_function_loops_only():
    out = rewrite.instrument_module(MODULE, "engine.py", first_loop_id=7)
    # Loops that run on import (top level, class bodies) get no hooks, and
    # no statement gets one: only the function's two loops, numbered on.
    assert [(i.loop_id, i.lineno, i.function, i.kind) for i in out.loops] == [
        (7, 14, "train_one_epoch", "for"), (8, 16, "train_one_epoch", "while")]
    events = []

    class Hooks:
        def __getattr__(self, name):
            return lambda *args: events.append((name, *args))

    namespace = {"__snapline__": Hooks()}
    exec(out.code, namespace)  # noqa: S102 - the instrumented module under test
    assert events == [] and namespace["TABLE"] == {"a": 0, "b": 1}
    assert namespace["train_one_epoch"]([4, 9]) == 3
    # (True: both loops have a plain copy, which runs when loop_enter says so.)
    assert events == [("loop_enter", 7, True), ("iteration", 7), ("iteration", 7),
                      ("loop_done", 7), ("loop_exit", 7), ("loop_enter", 8, True), ("iteration", 8),
                      ("loop_done", 8), ("loop_exit", 8)]
    assert namespace["train_one_epoch"].__code__.co_filename == "engine.py"
