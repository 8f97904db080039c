"""Issue #16: objects whose pickle a cheap fingerprint decides (an empty
OrderedDict, a plain function) are not pickled again at every snapshot
(pickle_memo.py); anything the pickle depends on that changes is pickled
again, and the memo keeps no object of the program alive."""

from __future__ import annotations

import argparse
import collections
import gc
import json
import types

from snapline import _native, graph, pickle_memo

LIMIT = 3


def _recorder(tmp_path):
    return _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))


def _hash_of(recorder, committed, path, obj):
    builder = graph.GraphBuilder(recorder, committed, _native.hash_bytes)
    builder.add_root(path, obj)
    committed |= builder.new_hashes
    return {p: h for p, _, h in builder.entries}[path]


def _reads_table():
    return TABLE["a"]  # noqa: F821 - run with other globals


def _nested():
    # A function made in a function (argparse's `identity`): cloudpickle
    # pickles it by value.
    def clip(x):
        return min(x, LIMIT)
    return clip


def test_a_plain_function_is_pickled_once_and_again_when_a_global_changes(tmp_path,
                                                                          monkeypatch) -> None:
    global LIMIT
    recorder = _recorder(tmp_path)
    committed: set = set()
    fn = _nested()
    calls = []
    real = graph._picklers

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(graph, "_picklers", counting)
    first = _hash_of(recorder, committed, "fn", fn)
    assert len(calls) == 1
    assert _hash_of(recorder, committed, "fn", fn) == first
    assert len(calls) == 1, "not pickled again"
    LIMIT = 4  # a global it names: its pickle differs
    try:
        changed = _hash_of(recorder, committed, "fn", fn)
        assert len(calls) == 2 and changed != first
        fn.__defaults__ = (1,)
        _hash_of(recorder, committed, "fn", fn)
        assert len(calls) == 3
        fn.note = "x"  # an attribute: not fingerprinted, pickled every time
        _hash_of(recorder, committed, "fn", fn)
        _hash_of(recorder, committed, "fn", fn)
        assert len(calls) == 5
    finally:
        LIMIT = 3


def test_the_remembered_record_is_the_pickle_made_again(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    objects = [argparse.ArgumentParser()._registries["type"][None],
               collections.OrderedDict(), _nested()]
    for obj in objects:
        key = pickle_memo.fingerprint(obj)
        assert key is not None
        made = graph.GraphBuilder(recorder, set(), _native.hash_bytes)._pickle(obj, "x", 0)
        again = pickle_memo.lookup(recorder, key, obj, set(), {})
        assert again == made
        again["extra"]["owner"] = "library"  # a copy: the memo is unchanged
        assert pickle_memo.lookup(recorder, key, obj, set(), {}) == made
        # Another recorder (another store): nothing remembered.
        assert pickle_memo.lookup(object(), key, obj, set(), {}) is None


def test_what_is_not_fingerprinted_is_pickled(tmp_path) -> None:
    assert pickle_memo.fingerprint(collections.OrderedDict(a=1)) is None
    assert pickle_memo.fingerprint({"a": 1}) is None
    table = {"a": 1}

    def reads_a_dict():
        return table["a"]

    def closure():
        return reads_a_dict
    assert pickle_memo.fingerprint(closure) is None  # (a closure cell)
    assert pickle_memo.fingerprint(lambda x=[]: x) is None  # a mutable default

    g: dict = {"TABLE": table, "__name__": "m"}
    reads = types.FunctionType(_reads_table.__code__, g)
    assert pickle_memo.fingerprint(reads) is None  # names a dict global
    g["TABLE"] = 5
    assert pickle_memo.fingerprint(reads) is not None  # a constant


def test_the_memo_keeps_no_function_alive(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    fn = _nested()
    key = pickle_memo.fingerprint(fn)
    graph.GraphBuilder(recorder, set(), _native.hash_bytes)._pickle(fn, "fn", 0)
    assert pickle_memo.lookup(recorder, key, fn, set(), {}) is not None
    del fn
    gc.collect()
    other = _nested()
    assert pickle_memo.lookup(recorder, key, other, set(), {}) is None
