"""The run's git commit read from the repository's files at start-up (no
`git` process on the program's critical path), as `git rev-parse HEAD`
gives it; `dirty` from `git status` on a background thread."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from snapline import lineage

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    env.pop("GIT_DIR", None)
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "src" / "train.py").write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    return repo


def test_head_is_read_from_loose_and_packed_refs_and_detached(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GIT_DIR", raising=False)
    repo = _repo(tmp_path)
    git_dir = lineage._git_dir(str(repo / "src"))
    assert git_dir is not None
    assert lineage.head_commit(git_dir) == _git(repo, "rev-parse", "HEAD")
    (repo / "src" / "train.py").write_text("x = 2\n")
    _git(repo, "commit", "-q", "-am", "second")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert lineage.head_commit(git_dir) == _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert lineage.head_commit(git_dir) == _git(repo, "rev-parse", "HEAD")


def test_a_worktree_reads_its_own_head(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GIT_DIR", raising=False)
    repo = _repo(tmp_path)
    (repo / "src" / "train.py").write_text("x = 3\n")
    _git(repo, "commit", "-q", "-am", "on main")
    other = tmp_path / "other"
    _git(repo, "worktree", "add", "-q", "-b", "side", str(other), "HEAD~1")
    git_dir = lineage._git_dir(str(other / "src"))
    assert git_dir is not None and lineage.head_commit(git_dir) == _git(other, "rev-parse", "HEAD")
    assert lineage.head_commit(git_dir) != _git(repo, "rev-parse", "HEAD")


def test_collect_records_the_commit_then_dirty_at_the_end(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GIT_DIR", raising=False)
    repo = _repo(tmp_path)
    script = repo / "src" / "train.py"
    found = lineage.collect(str(script), [str(script)], "", {})
    commit = _git(repo, "rev-parse", "HEAD")
    assert found["git"] == {"commit": commit}
    assert lineage.git_check is not None
    assert lineage.git_check.result() == {"commit": commit, "dirty": False}
    script.write_text("x = 5\n")
    lineage.collect(str(script), [str(script)], "", {})
    assert lineage.git_check.result() == {"commit": commit, "dirty": True}


def test_outside_a_repository_no_git_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.setattr(lineage, "_git_dir", lambda start: None)
    monkeypatch.setattr(lineage, "_run_git", lambda *args: pytest.fail("git was run"))
    script = tmp_path / "alone.py"
    script.write_text("x = 1\n")
    found = lineage.collect(str(script), [], "", {})
    assert found["git"] == {}
    assert lineage.git_check is not None and lineage.git_check.result() == {}
    assert found["platform"] and found["host"] == os.uname().nodename
