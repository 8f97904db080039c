"""Unit tests for snapline.code_cache: what a hit returns, what makes a
miss, and how the directory is kept bounded (tests/e2e/test_code_cache.py
runs it through `snapline run`)."""

from __future__ import annotations

import os

import pytest
from snapline import code_cache, rewrite

SOURCE = b"""\
vocab = {}
for word in ["a", "b", "a"]:
    count = vocab.get(word, 0)
    vocab[word] = count + 1
while len(vocab) < 3:
    vocab[str(len(vocab))] = 0
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "code"
    monkeypatch.setenv("SNAPLINE_CODE_CACHE", str(folder))
    return folder


def test_a_hit_returns_what_the_rewriter_made(cache):
    made = rewrite.instrument(SOURCE, "/p/train.py", 3)
    first = code_cache.instrument_script(SOURCE, "/p/train.py", 3)
    assert len(list(cache.glob("*.code"))) == 1
    hit = code_cache.instrument_script(SOURCE, "/p/train.py", 3)
    for got in (first, hit):
        assert got.code.co_code == made.code.co_code
        assert got.code.co_filename == "/p/train.py"
        assert got.loops == made.loops
        # Equality ignores `assigned`; the agent reads it for metric points.
        assert [loop.assigned for loop in got.loops] == [loop.assigned for loop in made.loops]
        assert [tuple(loop) for loop in got.loops] == [tuple(loop) for loop in made.loops]
    assert [loop.loop_id for loop in hit.loops] == [3, 4]


def test_every_part_of_the_key_matters(cache, monkeypatch):
    code_cache.instrument_script(SOURCE, "/p/train.py", 0)
    variants = [
        ("script", SOURCE + b"x = 1\n", "/p/train.py", 0),  # the source
        ("script", SOURCE, "/q/train.py", 0),  # the file name
        ("script", SOURCE, "/p/train.py", 5),  # the first loop id
        ("module", SOURCE, "/p/train.py", 0),  # script or module
    ]
    for count, (kind, source, path, first) in enumerate(variants, start=2):
        make = code_cache.instrument_script if kind == "script" else code_cache.instrument_module
        make(source, path, first)
        assert len(list(cache.glob("*.code"))) == count
    # A new rewriter (its files' size or time): every entry is stale.
    monkeypatch.setattr(code_cache, "_stamp_value", ((1, 2), (3, 4), (5, 6)))
    code_cache.instrument_script(SOURCE, "/p/train.py", 0)
    assert len(list(cache.glob("*.code"))) == len(variants) + 2


def test_the_directory_keeps_the_newest_entries(cache, monkeypatch):
    monkeypatch.setattr(code_cache, "MAX_ENTRIES", 8)
    for n in range(9):
        code_cache.instrument_module(SOURCE + f"n = {n}\n".encode(), "/p/m.py", 0)
        newest = max(cache.glob("*.code"), key=lambda p: p.stat().st_mtime_ns)
        os.utime(newest, ns=(n * 10**9, n * 10**9))  # distinct ages
    kept = list(cache.glob("*.code"))
    assert len(kept) == 6  # 9 > 8: pruned to three quarters
    assert min(p.stat().st_mtime_ns for p in kept) == 3 * 10**9


def test_a_syntax_error_is_raised_and_nothing_is_cached(cache):
    with pytest.raises(SyntaxError) as raised:
        code_cache.instrument_script(b"for x in:\n    pass\n", "/p/bad.py", 0)
    assert raised.value.filename == "/p/bad.py"
    assert not cache.exists() or not list(cache.glob("*.code"))


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("SNAPLINE_CODE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert code_cache.directory() == str(tmp_path / "xdg" / "snapline" / "code")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert code_cache.directory() == str(tmp_path / "home" / ".cache" / "snapline" / "code")
    # No home at all: no cache, rather than a folder named `~` in the cwd.
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    assert code_cache.directory() is None
    monkeypatch.setenv("SNAPLINE_CODE_CACHE", "0")
    assert code_cache.directory() is None
