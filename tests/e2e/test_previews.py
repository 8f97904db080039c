"""Previews are rendered when shown, from the stored data (issue #16):
arrays from their chunks (formatting them at capture was a third of a
snapshot's time), values and containers from their records and their
items' records (an epoch snapshot's optimizer state took a tenth)."""

from __future__ import annotations

import json
import sqlite3

SCRIPT = """
    import numpy as np

    cube = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    counts = np.array([1, 2, 3], dtype=np.int64)
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    mask = np.array([True, False])
    scale = np.array(3.5)
    ramp = np.linspace(0.0, 1.0, 1_000_000)
    ramp[-1] = np.nan
    print(ramp.shape)
"""


def test_array_previews_come_from_the_stored_chunks(sl):
    done = sl.capture(SCRIPT)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        stored = [json.loads(r[0]) for r in conn.execute("SELECT record FROM objects")]
    assert all(not r.get("preview") for r in stored if r["kind"] == "array")
    objects = sl.objects("last@last")
    assert objects["counts"]["preview"] == "[1 2 3]"
    assert objects["mask"]["preview"] == "[True False]"
    assert objects["scale"]["preview"] == "3.5"
    # Rows of an F-order array read in C order, as numpy prints them.
    assert objects["fortran"]["preview"] == "[[0. 1. 2. 3.]\n [4. 5. 6. 7.]\n [8. 9. 10. 11.]]"
    assert objects["cube"]["preview"].startswith("[[[0. 0.1429 0.2857 0.4286]\n  [0.5714")
    # A long array: its edges only (the last chunk read for the tail).
    assert objects["ramp"]["preview"] == "[0. 1.e-06 ... 1. nan]"
    assert sl.show("last@last", "ramp")["preview"] == objects["ramp"]["preview"]


VALUES_SCRIPT = r'''
    import json
    import random
    import sys

    import numpy as np
    from snapline.values import preview

    rng = random.Random(16)
    NUMPY_2 = int(np.__version__.split(".")[0]) >= 2
    TEXTS = ["", "c", "it's", "say \"hi\"", "both ' and \"", "tab\there\nnew", "\x00\x7f\xa0é",
             "naïve café ☕", "\U0001F600 wide", "back\\slash", "x" * 79, "y" * 81,
             "".join(chr(rng.randrange(32, 127)) for _ in range(150)), "\u200b\u2028\ufeff"]
    FLOATS = [0.0, -0.0, 1.0, 11.0, 0.1, -2.5, 1e16, 1.5e16, 1234567890123456.0, 1e-5, 1e-4,
              0.00012345, 3.141592653589793, float("nan"), float("inf"), float("-inf"), 1e300]

    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __repr__(self):
            return f"Point({self.x}, {self.y})"

    class Wordy:
        def __repr__(self):
            return "Wordy(" + ", ".join(f"field{i}={i}" for i in range(20)) + ")"

    def atom():
        pick = rng.randrange(14)
        if pick == 0:
            return rng.randrange(-1000, 1000)
        if pick == 1:
            return rng.choice([2**53 + 1, -(2**60), 10**45, 7])
        if pick == 2:
            return rng.choice(FLOATS)
        if pick == 3:
            return rng.uniform(-1e6, 1e6)
        if pick in (4, 5):
            return rng.choice(TEXTS)
        if pick == 6:
            return rng.choice([b"", b"ab'c", b"\x00\xff\n", bytes(range(40, 140))])
        if pick == 7:
            return rng.choice([None, True, False])
        if pick == 8:
            return rng.choice([1j, complex(1, -0.0), complex(-0.0, 2), complex(1e16, 1e-5)])
        if pick == 9 and NUMPY_2:  # (numpy 1 wrote a scalar's repr without its type)
            return rng.choice([np.float64(0.1), np.float32(0.1), np.float32(2.5e-7),
                               np.int64(-3), np.bool_(True), np.float16(0.1)])
        if pick == 10:
            return rng.choice([np.zeros((3, 4)), np.array(2.5), np.array([7]), np.arange(5)])
        if pick == 11:
            return rng.choice([Point(1, 2), Wordy()])
        return rng.uniform(-1, 1)

    def hashable():
        return rng.choice([rng.randrange(-50, 50), rng.choice(TEXTS), (1, "a"), 2.5, None])

    def make(depth):
        if depth >= 4 or rng.random() < 0.35:
            return atom()
        size = rng.choice([0, 1, 2, 3, 5, 9, 12])
        pick = rng.randrange(5)
        if pick == 0:
            return [make(depth + 1) for _ in range(size)]
        if pick == 1:
            return tuple(make(depth + 1) for _ in range(size))
        if pick == 2:
            return {hashable(): make(depth + 1) for _ in range(size)}
        if pick == 3:
            return {rng.randrange(-99, 99) for _ in range(size)}
        return frozenset(rng.choice(TEXTS) for _ in range(size))

    made = {f"v{i}": make(0) for i in range(400)}
    made["long_text"] = "z" * 5000
    made["long_list"] = list(range(100_000))
    globals().update(made)
    with open(sys.argv[1], "w") as out:
        # (A variable that is an array shows numpy's layout: the test above.)
        json.dump({name: preview(value) for name, value in made.items()
                   if not isinstance(value, np.ndarray)}, out)
'''


def test_values_and_containers_preview_as_python_did(sl, tmp_path):
    """The previews `show` renders from the stored records equal what the
    agent's `values.preview` gives the live objects (it rendered them at
    capture before issue #16), for 400 random nested values: numbers of
    every kind, strings needing escapes and cuts, bytes, numpy scalars,
    arrays and objects inside containers, sets, and 4 levels of nesting."""
    expected_file = tmp_path / "expected.json"
    done = sl.capture(VALUES_SCRIPT, expected_file)
    assert done.returncode == 0, done.stderr
    expected = json.loads(expected_file.read_text())
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        stored = [json.loads(r[0]) for r in conn.execute("SELECT record FROM objects")]
    kinds = {r["kind"] for r in stored}
    assert {"container", "value", "array", "instance"} <= kinds
    # Nothing is formatted at capture but what only Python can render: an
    # object's own repr, a value too long to keep in its record.
    assert all(not r.get("preview") for r in stored
               if r["kind"] == "container" or (r["kind"] == "value" and "value" in r))
    objects = sl.objects("last@last")
    differ = {name: (objects[name]["preview"], text) for name, text in expected.items()
              if objects[name]["preview"] != text}
    assert not differ


def test_an_object_without_a_repr_of_its_own_shows_its_attributes(sl):
    # `<__main__.Config object at 0x7f...>` says nothing once the program is
    # gone: an object whose class keeps object.__repr__ is shown by its
    # class and attributes, rendered when shown; one with a repr of its own
    # keeps the text it gave at capture.
    done = sl.capture("""
        class Config:
            def __init__(self):
                self.lr, self.name, self.sizes = 0.001, "run", [64, 32]
                self.inner = Leaf()
                self.more = {"a": Leaf()}

        class Leaf:
            def __init__(self):
                self.ok = True

        class Empty:
            pass

        class Outer:
            class Inner:
                def __init__(self):
                    self.x = 1

        class Named:
            def __init__(self):
                self.hidden = 1

            def __repr__(self):
                return "Named!"

        cfg = Config()
        holder = {"inner": Outer.Inner(), "named": Named()}
        many = Empty()
        for i in range(12):
            setattr(many, f"field{i}", i)
    """)
    assert done.returncode == 0, done.stderr
    objects = sl.objects("last@last")
    assert objects["cfg"]["preview"] == (
        "Config(lr=0.001, name='run', sizes=[64, 32], inner=Leaf(ok=True), "
        "more={'a': Leaf(ok=True)})")
    assert objects["holder"]["preview"] == "{'inner': Outer.Inner(x=1), 'named': Named!}"
    assert objects["many"]["preview"] == (
        "Empty(field0=0, field1=1, field2=2, field3=3, field4=4, field5=5, field6=6, "
        "field7=7, ...)")
