"""The walk's Rust fast path for plain values (capture-agent/src/plain_values.rs):
the record text and hash it makes are those of the Python path
(GraphBuilder._value + canonical_json), on the same values; what it does not
mirror it leaves to Python (None)."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest
from snapline import _native, graph, values


def _stored_whole(obj: object) -> bool:
    """Whether GraphBuilder._describe stores `obj` as one inline value."""
    return (values.is_plain_value(obj) and not graph._holds_mutable(obj)
            and len(json.dumps(values.encode(obj), separators=(",", ":")))
            <= graph.INLINE_JSON_LIMIT)


def _python_record(obj: object) -> str:
    builder = graph.GraphBuilder(None, set(), _native.hash_bytes)
    record = builder._value(obj)
    record.pop("preview", None)
    return graph.canonical_json(record)


FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 1e-4, 1e-5, 1.5e-5, 123456.789, 1e15, 1e16, 1.5e16,
          9007199254740993.0, 2.0 ** 60, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
          math.pi, -math.e, 1 / 3, 100.0, 1e22, 1e-7, 0.5e-4,
          float("nan"), float("inf"), float("-inf"), -float("nan")]

VALUES = [
    [], (), {},
    FLOATS,
    tuple(FLOATS),
    [0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, -(2 ** 53), 2 ** 63, -(2 ** 64) - 5, 10 ** 40],
    [True, False, None, 1, 0],
    ["", "plain", 'quote " and \\ back', "tab\tnew\nline\rcr\x08\x0c", "\x00\x01\x1f\x7f",
     "héllo wörld", "日本語", "emoji 🎉 and 𝄞", "\u2028\u2029", "a" * 3000],
    {"lr": 0.1, "act": "relu", "layers": (64, 32), "dropout": None},
    {1: "one", 2.5: "two and a half", None: 0, False: 1, -0.5: "minus", float("nan"): 3},
    {(1, 2): "tuple key"},  # a tuple key: not plain (Python's path)
    [(1, (2, 3)), (("deep",),)],
    [(1, (2, (3,)))],  # tuples too deep for one value
    [[1, 2], 3],  # a list inside: mutable, a node of its own
    {"a": [1]},
    [1.5] * 2000,  # JSON over the inline limit: chunks (Python's path)
    ["a" * 4097],  # a string too long to be plain
    ["\ud800 lone surrogate"],
    [b"bytes"], [1j], [frozenset({1})], [{1, 2}],
]


def test_the_rust_record_is_the_python_one_or_none() -> None:
    for value in VALUES:
        rust = _native.plain_value_record(value)
        if rust is None:
            continue
        assert _stored_whole(value), f"Rust made a record of a value Python does not store whole: {value!r}"
        assert rust == _python_record(value), value
        assert _native.plain_value_digest(value) == _native.hash_bytes(rust.encode())


def test_it_covers_the_common_values() -> None:
    for value in (FLOATS, VALUES[5], VALUES[6], VALUES[7], VALUES[8], VALUES[9], VALUES[11]):
        assert _native.plain_value_record(value) is not None, value
    for value in VALUES[10:11] + VALUES[12:]:
        assert _native.plain_value_record(value) is None, value


def test_random_floats_and_strings_match() -> None:
    rng = random.Random(16)
    for _ in range(300):
        floats = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
                  for _ in range(50)]
        floats += [rng.uniform(-1e6, 1e6) for _ in range(20)]
        floats += [rng.random() * 10 ** rng.randint(-30, 30) for _ in range(20)]
        assert _native.plain_value_record(floats) == _python_record(floats)
        text = "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0xd7ff),
                                       rng.randint(0xe000, 0x10ffff)])) for _ in range(30))
        assert _native.plain_value_record([text]) == _python_record([text])
        ints = [rng.randint(-(2 ** 70), 2 ** 70) for _ in range(10)]
        assert _native.plain_value_record(ints) == _python_record(ints)


def test_a_snapshot_has_the_same_entries_with_and_without_it() -> None:
    state = {"cfg": {"lr": 0.1, "layers": [64, 32], "names": ("a", "b")},
             "history": [float(i) / 7 for i in range(50)], "pair": (1.5, "x"),
             "labels": {0: "cat", 1: "dog"}, "flags": [True, None, float("nan")]}

    def entries(fast: bool, committed: set) -> tuple[list, set]:
        builder = graph.GraphBuilder(None, committed, _native.hash_bytes)
        if not fast:
            builder.plain_digest = None
        for name, value in state.items():
            builder.add_root(name, value)
        return builder.entries, builder.new_hashes

    slow, hashes = entries(False, set())
    fast_first, _ = entries(True, set())
    fast_again, new = entries(True, set(hashes))
    assert slow == fast_first == fast_again
    assert not new, "an unchanged state makes no new record"
    json.dumps(slow)


LARGE = [
    [f"text {i} with \"quotes\", tabs\t and é" if i % 7 == 0 else f"w{i} " * 5 for i in range(3000)],
    {f"word{i}": i for i in range(3000)},
    tuple((i, float(i) / 3, None) for i in range(1000)),
    FLOATS * 200,
    [2 ** 70, -(2 ** 53), True, None, "x" * 4096] * 300,
]


def test_the_rust_json_of_a_large_value_is_the_python_one() -> None:
    for value in LARGE + VALUES:
        rust = _native.plain_value_json(value)
        if rust is None:
            assert _native.plain_value_json_bytes(value) is None
            continue
        assert _stored_whole(value) or len(rust) > graph.INLINE_JSON_LIMIT, value
        assert rust == json.dumps(values.encode(value), separators=(",", ":"),
                                  allow_nan=False), value
        # The bytes the walk stores: the same text, ASCII.
        assert _native.plain_value_json_bytes(value) == rust.encode("ascii"), value
    for value in LARGE:
        assert _native.plain_value_json(value) is not None
    # What Python decides: a list inside, a lone surrogate, a set, a string too long.
    for value in ([[1]] * 300, ["\ud800"] * 300, [{1}] * 300, ["a" * 4097] * 300):
        assert _native.plain_value_json(value) is None
        assert _native.plain_value_json_bytes(value) is None


def test_a_large_value_has_the_same_record_with_and_without_it() -> None:
    class Chunks:
        def put_value(self, data: bytes) -> list:
            return [_native.hash_bytes(data)]

        put_blob = put_value

    def records(fast: bool) -> list:
        builder = graph.GraphBuilder(Chunks(), set(), _native.hash_bytes)
        if not fast:
            builder.plain_json = None
        for i, value in enumerate(LARGE):
            builder.add_root(f"v{i}", value)
        return [builder.entries, builder.objects]

    assert graph._native_plain_json() is not None
    assert records(True) == records(False)


def _random_record(rng: random.Random, depth: int = 0) -> object:
    """A JSON-shaped record as graph.py builds them: dicts with string keys,
    lists, tuples, ints of any size, finite floats, strings, bools, None."""
    pick = rng.randrange(9 if depth < 4 else 6)
    if pick == 0:
        return rng.choice([0, 1, -7, 2 ** 53 + 1, -(2 ** 70), 10 ** 30])
    if pick == 1:
        return rng.choice([f for f in FLOATS if math.isfinite(f)] + [rng.uniform(-1e9, 1e9)])
    if pick == 2:
        return "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0xd7ff),
                                       rng.randint(0xe000, 0x10ffff)]))
                       for _ in range(rng.randrange(12)))
    if pick == 3:
        return rng.choice([True, False, None])
    if pick in (4, 5):
        return rng.choice(["array", "torch.Tensor", "a \"quoted\" \\ key", "é"])
    if pick == 6:
        return [_random_record(rng, depth + 1) for _ in range(rng.randrange(5))]
    if pick == 7:
        return tuple(_random_record(rng, depth + 1) for _ in range(rng.randrange(4)))
    return {str(_random_record(rng, 4)): _random_record(rng, depth + 1)
            for _ in range(rng.randrange(6))}


def test_a_record_hashes_the_same_in_rust_and_python() -> None:
    # graph.GraphBuilder.record_digest: record_json.rs writes the canonical
    # JSON Python writes, byte for byte, or leaves it to Python (None).
    rng = random.Random(16)
    for _ in range(3000):
        record = {"kind": "array", "extra": _random_record(rng, 2), "stats": _random_record(rng),
                  rng.choice(["zeta", "Alpha", "éclair", "_x"]): _random_record(rng)}
        text = graph.canonical_json(record)
        assert _native.record_json(record) == text, record
        assert _native.record_digest(record) == _native.hash_bytes(text.encode())
    assert graph.GraphBuilder(None, set(), _native.hash_bytes).native_digest is not None
    deep: object = 1
    for _ in range(40):
        deep = [deep]

    class Text(str):
        pass

    for record in ({"x": float("nan")}, {1: "a key that is not a string"}, {"s": "\ud800"},
                   {"t": Text("a str subclass")}, {"b": b"bytes"}, deep):
        assert _native.record_digest(record) is None, record


def test_every_record_of_a_snapshot_has_the_hash_of_its_json() -> None:
    # The records a walk makes (arrays, instances, containers, values), each
    # hashed as canonical_json(record without its preview) is.
    import numpy as np
    from snapline.restore import roundtrip

    class Config:
        def __init__(self) -> None:
            self.lr, self.name, self.sizes = 0.001, "run ☕", [64, 32]

    roots = [("weights", np.linspace(-1.0, 1.0, 1000).reshape(10, 100)),
             ("counts", np.arange(7, dtype=np.int32)), ("config", Config()),
             ("state", {"step": 3, "moments": [np.ones(3), np.zeros(2)], "best": 1e-7}),
             ("pairs", [(1, "a"), (2, "b")]), ("big", 2 ** 80), ("text", "tab\there")]
    _, records, _ = roundtrip.walk(roots)
    assert {r["kind"] for r in records.values()} >= {"array", "instance", "container", "value"}
    for digest, record in records.items():
        bare = {k: v for k, v in record.items() if k != "preview"}
        assert digest == _native.hash_bytes(graph.canonical_json(bare).encode()), record


def test_a_commit_is_written_in_rust_and_reads_as_json_wrote_it() -> None:
    # agent._commit_json: record_json.rs writes the commit as json.dumps
    # does, byte for byte; json writes what it cannot (NaN, a value only
    # str() writes).
    from snapline import agent

    rng = random.Random(17)
    objects = [{"hash": f"{i:032x}", "kind": "array", "preview": "tensor ☕ [0.1, ...]",
                "extra": _random_record(rng, 1), "stats": {"min": -1.5, "nan": 0}}
               for i in range(50)]
    payload = {"meta": {"seq": 3, "trigger": "iteration", "file": "train.py", "line": 12,
                        "loops": [4], "label": None, "time": 1.7e9, "capture_ms": 0.25,
                        "position": {"at": "iteration", "stack": [[3, 4]]}},
               "objects": objects, "entries": [(f"model.w{i}", i, f"{i:032x}") for i in range(50)],
               "metrics": [{"name": "loss", "step": 3.0, "value": "nan", "seq": 3}]}
    text = agent._commit_json(payload)
    assert text == _native.commit_json(payload) == agent._dumps(payload)
    assert json.loads(text)["entries"][7] == ["model.w7", 7, f"{7:032x}"]

    class Path:
        def __str__(self) -> str:
            return "/data/run"

    payload["meta"]["label"] = Path()
    assert _native.commit_json(payload) is None
    assert agent._commit_json(payload) == agent._dumps(payload)
    payload["meta"]["label"] = float("nan")  # json refuses it, as before
    with pytest.raises(ValueError, match="not JSON compliant"):
        agent._commit_json(payload)
