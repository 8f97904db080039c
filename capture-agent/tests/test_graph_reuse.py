"""GraphBuilder pieces of issue #16: RNG states walked only when the
generator advanced, long containers of unshared rows as one value."""

from __future__ import annotations

import json
import random

import numpy as np
from snapline import _native, graph
from snapline.agent import _rng_fingerprint


def _recorder(tmp_path):
    return _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))


def _snapshot(recorder, committed, before, states):
    builder = graph.GraphBuilder(recorder, committed, _native.hash_bytes)
    builder.add_root("x", [1, 2])
    for path, state in states:
        builder.add_root_as_before(path, state, _rng_fingerprint(state), before)
    committed |= builder.new_hashes
    return builder


def test_an_rng_state_that_did_not_advance_is_not_walked_again(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    committed: set = set()
    before: dict = {}
    rng = np.random.RandomState(0)
    states = [("$rng.random", random.getstate()), ("$rng.numpy", rng.get_state())]
    first = _snapshot(recorder, committed, before, states)
    assert first.objects, "walked the first time"
    same = _snapshot(recorder, committed, before,
                     [("$rng.random", random.getstate()), ("$rng.numpy", rng.get_state())])
    assert not same.objects and len(same.nodes) == len(first.nodes)
    # The same entries (paths, hashes, node numbering) as a walk gives.
    assert same.entries == first.entries
    rng.random()
    moved = _snapshot(recorder, committed, before,
                      [("$rng.random", random.getstate()), ("$rng.numpy", rng.get_state())])
    hashes = {p: h for p, _, h in moved.entries}
    assert hashes["$rng.random"] == {p: h for p, _, h in first.entries}["$rng.random"]
    assert hashes["$rng.numpy"] != {p: h for p, _, h in first.entries}["$rng.numpy"]
    recorder.finish("finished", 1.0)


def test_long_containers_of_unshared_rows_are_one_value(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    history = [{"step": s, "loss": 1.0 / (s + 1)} for s in range(200)]
    builder = graph.GraphBuilder(recorder, set(), _native.hash_bytes)
    builder.add_root("history", history)
    assert [p for p, _, _ in builder.entries] == ["history"]
    (_, record), = builder.objects
    assert record["kind"] == "value" and record["extra"]["encoding"] == "json"
    assert record["shape"] == [200] and len(record["chunks"]) > 1
    # A row the script also holds keeps a node (and its identity).
    last = history[-1]
    builder = graph.GraphBuilder(recorder, set(), _native.hash_bytes)
    builder.add_root("history", history)
    builder.add_root("last", last)
    nodes = {p: n for p, n, _ in builder.entries}
    assert nodes["history[199]"] == nodes["last"]
    recorder.finish("finished", 1.0)


def test_remembered_number_records_keep_exact_values(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    values = [0.0, -0.0, 1, 1.0, True, "1", None, float("nan"), 2**70]
    digests = []
    for _ in range(2):  # described the first time, remembered the second
        builder = graph.GraphBuilder(recorder, set(), _native.hash_bytes)
        for n, value in enumerate(values):
            builder.add_root(f"v{n}", value)
        digests.append([h for _, _, h in builder.entries])
        assert len(builder.objects) == len(values)  # (nothing committed: all new)
    assert digests[0] == digests[1]
    assert len(set(digests[0])) == len(values), "each value its own record"
    recorder.finish("finished", 1.0)
