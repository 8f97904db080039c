"""Unit tests of the agent's pieces that need no subprocess."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from snapline import _native, arrays, values


def test_plain_values_encode_to_tagged_json() -> None:
    value = {"lr": 0.1, "sizes": (1, 2), "tags": {"a"}, 3: float("nan"), "big": 2**70,
             "raw": b"\x00\x01", "none": None}
    encoded = values.encode(value)
    text = json.dumps(encoded, allow_nan=False)  # strict JSON: no NaN leaks through
    pairs = {json.dumps(k): v for k, v in encoded["$dict"]}
    assert pairs['"sizes"'] == {"$tuple": [1, 2]}
    assert pairs['"tags"'] == {"$set": ["a"]}
    assert pairs["3"] == {"$float": "nan"}
    assert pairs['"big"'] == {"$int": str(2**70)}
    assert pairs['"raw"'] == {"$bytes": "AAE="}
    assert "NaN" not in text


def test_plain_value_detection_stops_at_objects() -> None:
    assert values.is_plain_value([1, 2.5, "x", (None, True)])
    assert not values.is_plain_value([1, object()])
    assert values.is_atomic("x" * values.INLINE_TEXT_LIMIT)
    assert not values.is_atomic("x" * (values.INLINE_TEXT_LIMIT + 1))


def test_paths_quote_keys_like_json() -> None:
    assert values.key_suffix("W1") == '["W1"]'
    assert values.key_suffix(3) == "[3]"
    assert values.key_suffix((1, 2)) == "[(1, 2)]"


def test_previews_show_the_first_items_without_sorting_them() -> None:
    # A dict in insertion order, as repr() shows it (reprlib sorted all its
    # keys to show eight: a fifth of a snapshot of a 3,000-word vocabulary).
    assert values.preview({"b": 1, "a": 2}) == "{'b': 1, 'a': 2}"
    vocab = {f"w{i}": i for i in range(3000, 0, -1)}
    assert values.preview(vocab) == ("{'w3000': 3000, 'w2999': 2999, 'w2998': 2998, "
                                     "'w2997': 2997, 'w2996': 2996, 'w2995': 2995, "
                                     "'w2994': 2994, 'w2993': 2993, ...}")
    assert values.preview({1: {"z": 0, "y": 1}}) == "{1: {'z': 0, 'y': 1}}"
    # A small set sorted (its order is otherwise arbitrary), a large one its
    # first items in iteration order, with the "..." of the ones left out.
    assert values.preview({3, 1, 2}) == "{1, 2, 3}"
    assert values.preview(frozenset({"b", "a"})) == "frozenset({'a', 'b'})"
    assert values.preview({"a", 1}) in ("{'a', 1}", "{1, 'a'}")  # (unorderable)
    big = {f"w{i}" for i in range(5000)}
    text = values.preview(big)
    shown = text[1:-len(", ...}")].split(", ")
    assert text.endswith(", ...}") and len(shown) == 8
    assert all(item.strip("'") in big for item in shown)
    assert values.preview(frozenset(range(100))).startswith("frozenset({")
    assert values.preview(set()) == "set()" and values.preview({}) == "{}"


def test_previews_render_only_the_items_that_are_shown() -> None:
    # `preview` keeps 200 characters: items past them are not rendered (an
    # Adam optimizer's state rendered eight dicts of tensors to show one and
    # a half), and the text is the one rendering them all and cutting gives.
    rendered: list[int] = []

    class Item:
        def __init__(self, i: int) -> None:
            self.i = i

        def __repr__(self) -> str:
            rendered.append(self.i)
            return f"Item({self.i}, {'x' * 60})"  # 69 characters

    def whole(items: list[str], left: str, right: str) -> str:
        text = left + ", ".join(items) + right
        return text[:197] + "..."

    texts = [repr(Item(i)) for i in range(8)]
    cases = [(list, whole(texts, "[", "]")), (tuple, whole(texts, "(", ")")),
             (lambda items: dict(enumerate(items)),
              whole([f"{i}: {t}" for i, t in enumerate(texts)], "{", "}"))]
    for make, expected in cases:
        value = make([Item(i) for i in range(8)])
        rendered.clear()
        assert values.preview(value) == expected
        assert rendered == [0, 1, 2]  # 3 x (69 + 2) passes 200
    # Short ones are whole; a one-tuple keeps its comma.
    assert values.preview((1,)) == "(1,)" and values.preview(((1,),)) == "((1,),)"
    assert values.preview([[[[1]]]]) == "[[[[...]]]]"
    assert values.preview(tuple(range(20))) == "(0, 1, 2, 3, 4, 5, 6, 7, ...)"


def test_one_element_arrays_and_tensors_show_their_value() -> None:
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    assert values.preview([torch.tensor(10.0), torch.ones(1)]) == "[tensor(10.0), tensor(1.0)]"
    assert values.preview((np.array([2.5]),)) == "(array(2.5),)"
    # An object array's element is not rendered (it may be as large as it likes).
    held = np.empty(1, dtype=object)
    held[0] = list(range(100_000))
    assert values.preview([held]) == "[array(...)]"


def test_preview_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    text = values.preview(Broken())
    assert "Broken" in text and len(text) <= 200


def test_hash_is_xxh3_128_hex() -> None:
    digest = _native.hash_bytes(b"snapline")
    assert len(digest) == 32 and int(digest, 16) >= 0
    assert digest == _native.hash_bytes(b"snapline")
    assert digest != _native.hash_bytes(b"snapline!")


def test_device_path_stats_and_fingerprint_on_cpu() -> None:
    """The accelerator path (stats where the tensor lives, copy only when the
    fingerprint changes) runs on any device; exercised here on the CPU."""
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, float("nan"), 3.0, float("inf"), -2.0, float("-inf")])
    stats, fingerprint = arrays.device_stats_and_fingerprint(torch, t)
    assert (stats["count"], stats["nan"], stats["posinf"], stats["neginf"]) == (6, 1, 1, 1)
    assert stats["min"] == -2.0 and stats["max"] == 3.0
    assert math.isclose(stats["mean"], 2.0 / 3.0)
    assert math.isclose(stats["l2"], math.sqrt(14.0))
    same = arrays.device_stats_and_fingerprint(torch, t.clone())[1]
    assert same == fingerprint
    changed = t.clone()
    changed[0] = 1.5
    assert arrays.device_stats_and_fingerprint(torch, changed)[1] != fingerprint
    ints = arrays.device_stats_and_fingerprint(torch, torch.arange(10))[0]
    assert ints["mean"] == 4.5 and ints["nan"] == 0


def test_device_path_copies_only_changed_tensors(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    recorder = _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))
    t = torch.ones(1000)
    calls = []
    real_scan = recorder.scan_array

    class Spy:
        def scan_array(self, *args):
            calls.append(args)
            return real_scan(*args)

    first = arrays._describe_on_device(torch, t, "torch.Tensor", "float32", {}, Spy())
    again = arrays._describe_on_device(torch, t, "torch.Tensor", "float32", {}, Spy())
    assert len(calls) == 1, "an unchanged tensor is not copied or scanned again"
    assert again == first
    t[3] = 2.0
    third = arrays._describe_on_device(torch, t, "torch.Tensor", "float32", {}, Spy())
    assert len(calls) == 2 and third["stats"]["max"] == 2.0
    recorder.finish("finished", 1.0)


def test_numpy_numbers_are_atoms_once_the_program_imports_numpy() -> None:
    # A snapshot before `import numpy` once left "no numpy" remembered:
    # numpy's numbers were then walked as objects for the rest of the run.
    pytest.importorskip("numpy")
    script = ("from snapline import values\n"
              "assert not values.is_atomic(object())\n"
              "import numpy as np\n"
              "assert values.is_atomic(np.float64(1.5)) and values.is_atomic(np.int32(2))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
