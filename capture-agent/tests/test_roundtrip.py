"""Issue #21's agent pieces: reading objects without changing them, strings
with lone surrogates, the restore check's comparison (records, identity,
pickles compared by what they build), class factories re-run on restore."""

from __future__ import annotations

import ast
import functools
import pickle

import numpy as np
from snapline import attributes, graph, reducers
from snapline.restore import roundtrip
from snapline.restore.rerun import is_definition
from snapline.values import decode, encode, key_suffix


def scale(x, factor=2):
    return x * factor


def test_reading_a_partial_never_gives_it_a_dict() -> None:
    p = functools.partial(scale, 3)
    assert attributes.instance_dict(p) is None
    # The walk of the capture reads it the same way: flattening still works.
    roundtrip.walk([("p", p)])
    p2 = functools.partial(p, 5)
    assert p2.func is scale and p2.args == (3, 5)


def test_an_existing_dict_is_read() -> None:
    p = functools.partial(scale, 3)
    p.note = "kept"
    assert attributes.instance_dict(p) == {"note": "kept"}

    class Plain:
        pass

    obj = Plain()
    obj.a = 1
    assert attributes.instance_dict(obj) == {"a": 1}


def test_lone_surrogates_round_trip_as_tagged_text() -> None:
    text = "bad \udcff byte"
    tagged = encode(text)
    assert isinstance(tagged, dict) and "$str" in tagged
    assert decode(tagged) == text
    assert encode("plain é") == "plain é"
    assert "\\udcff" in key_suffix(text)
    key_suffix(text).encode("utf-8")  # a path is valid UTF-8


def test_a_masked_array_keeps_its_hard_mask_and_is_not_changed() -> None:
    a = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], hard_mask=True)
    before = dict(vars(a))
    rebuilt = pickle.loads(_dumps(a))
    assert rebuilt.hardmask and rebuilt.mask.tolist() == [False, True, False]
    assert "_fill_value" not in before or vars(a)["_fill_value"] is before["_fill_value"]
    assert vars(a).get("_fill_value") is before.get("_fill_value")


def test_a_memoryview_of_a_whole_buffer_stays_a_memoryview() -> None:
    buf = bytearray(b"hello")
    view = pickle.loads(_dumps(memoryview(buf)))
    assert type(view) is memoryview and bytes(view) == b"hello"
    assert reducers.reduce(memoryview(buf)[1:]) is NotImplemented


def _dumps(obj) -> bytes:
    import io

    class Pickler(pickle.Pickler):
        def reducer_override(self, o):
            return reducers.reduce(o)

    out = io.BytesIO()
    Pickler(out, protocol=5).dump(obj)
    return out.getvalue()


def test_pickles_compare_by_what_they_build_not_by_sharing() -> None:
    key = "max_depth"  # one string object, used twice
    other_key = key.encode().decode()  # an equal string, another object
    shared = pickle.dumps([{key: 1}, {key: 2}], protocol=5)
    separate = pickle.dumps([{key.encode().decode(): 1}, {other_key: 2}], protocol=5)
    assert shared != separate
    assert roundtrip.canonical_pickle(shared) == roundtrip.canonical_pickle(separate)
    other = pickle.dumps([{"max_depth": 1}, {"max_depth": 3}], protocol=5)
    assert roundtrip.canonical_pickle(other) != roundtrip.canonical_pickle(separate)


def test_many_reads_of_one_object_do_not_blow_up() -> None:
    inner = list(range(10))
    nested = [inner] * 3
    for _ in range(40):  # 3**40 expansions if each read were copied out
        nested = [nested, nested, nested]
    assert len(roundtrip.canonical_pickle(pickle.dumps(nested, protocol=5))) == 1


def test_the_check_finds_a_changed_value_and_a_lost_sharing() -> None:
    shared = [1, 2]
    before = {"a": shared, "b": shared, "n": [3]}
    entries, records, _ = roundtrip.walk([("x", before)])
    after = {"a": [1, 2], "b": [1, 2], "n": [4]}
    new_entries, new_records, _ = roundtrip.walk([("x", after)])
    found = dict(roundtrip.compare(entries, records.__getitem__, new_entries, new_records,
                                   ["x"]))
    assert 'x["b"]' in found and "same object" in found['x["b"]']
    assert 'x["n"]' in found
    same_entries, same_records, _ = roundtrip.walk([("x", {"a": shared, "b": shared,
                                                          "n": [3]})])
    assert roundtrip.compare(entries, records.__getitem__, same_entries, same_records,
                             ["x"]) == []


class Box:
    """Pickled (its own __getstate__), not walked as a plain instance."""

    def __init__(self, items):
        self.items = items

    def __getstate__(self):
        return dict(self.__dict__)


def test_an_object_held_by_the_script_inside_a_pickle_is_a_member() -> None:
    part = Box([])
    holder = Box([part])
    entries, records, _ = roundtrip.walk([("holder", holder), ("part", part)])
    member = records[entries["part"][1]]
    assert member["extra"]["ref"] == "member"
    assert member["extra"]["steps"] == [["attr", "items"], ["item", 0]]
    assert entries["part"][0] == entries["holder.items[0]"][0]


def test_class_factories_with_literal_arguments_are_definitions() -> None:
    def first(code: str):
        return ast.parse(code).body[0]

    assert is_definition(first("Point = collections.namedtuple('Point', 'x y')"))
    assert is_definition(first("Color = Enum('Color', ['RED', 'GREEN'])"))
    assert not is_definition(first("Point = namedtuple('Point', fields)"))
    assert not is_definition(first("rows = make_rows('a')"))


def test_graph_module_still_exports_what_restore_uses() -> None:
    assert callable(graph.member_steps) and callable(graph.steps_text)
