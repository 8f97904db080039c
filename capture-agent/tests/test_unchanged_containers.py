"""Issue #16: a big container whose items are the same immutable objects as
at the last snapshot is not walked again (unchanged_containers.py and
src/same_items.rs); every change to it is still seen, and the hash it
gets is the one a full walk gives on the same state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from snapline import _native, graph, unchanged_containers

REPO = Path(__file__).resolve().parents[2]
SNAPLINE = Path(os.environ.get("SNAPLINE_TEST_BIN") or REPO / ".venv" / "bin" / "snapline")
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON") or sys.executable


class Snapshots:
    """Snapshots of a few roots into one store, remembering containers from
    one to the next, each checked against a full walk of the same state."""

    def __init__(self, tmp_path: Path) -> None:
        self.recorder = _native.Recorder(str(tmp_path / "store"), json.dumps(
            {"script": "t.py", "started_at": 0.0, "lineage": {}}))
        self.committed: set[str] = set()
        self.containers = unchanged_containers.UnchangedContainers()
        self.found: list[object] = []  # the containers found unchanged
        known = self.containers.digest

        def digest(obj: object) -> str | None:
            answer = known(obj)
            if answer is not None:
                self.found.append(obj)
            return answer

        self.containers.digest = digest  # type: ignore[method-assign]

    def take(self, roots: dict[str, object], check: bool = True) -> dict[str, str]:
        builder = graph.GraphBuilder(self.recorder, self.committed, _native.hash_bytes,
                                     containers=self.containers)
        for path, obj in roots.items():
            builder.add_root(path, obj)
        self.committed |= builder.new_hashes
        hashes = {path: digest for path, _, digest in builder.entries}
        if check:
            assert hashes == self.full_walk(roots), "the skip path and a full walk differ"
        return hashes

    def full_walk(self, roots: dict[str, object]) -> dict[str, str]:
        """The hashes a walk that remembers nothing gives."""
        builder = graph.GraphBuilder(self.recorder, set(), _native.hash_bytes, containers=None)
        for path, obj in roots.items():
            builder.add_root(path, obj)
        return {path: digest for path, _, digest in builder.entries}

    def skipped(self, roots: dict[str, object]) -> tuple[dict[str, str], bool]:
        """(hashes, whether every root was found unchanged, not walked)."""
        self.found.clear()
        hashes = self.take(roots)
        return hashes, {id(o) for o in self.found} == {id(o) for o in roots.values()}


def words(n: int = 300) -> list[str]:
    return [f"word{i}" for i in range(n)]


def test_an_unchanged_list_and_dict_of_strings_are_not_walked_again(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    docs, vocab = words(26000), {w: i for i, w in enumerate(words(5000))}
    first = snaps.take({"docs": docs, "vocab": vocab})
    again, skipped = snaps.skipped({"docs": docs, "vocab": vocab})
    assert skipped and again == first
    assert len(snaps.containers) == 2


def test_an_item_changed_in_place_gives_a_new_hash(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    listed, table = words(), {w: i for i, w in enumerate(words())}
    first = snaps.take({"listed": listed, "table": table})
    listed[150] = "changed"
    table["word7"] = 7.5
    second = snaps.take({"listed": listed, "table": table})
    assert second["listed"] != first["listed"] and second["table"] != first["table"]
    third, skipped = snaps.skipped({"listed": listed, "table": table})
    assert skipped and third == second


@pytest.mark.parametrize("change", ["append_pop", "clear_refill", "refill_same"])
def test_the_same_length_with_other_items_is_walked(tmp_path: Path, change: str) -> None:
    snaps = Snapshots(tmp_path)
    listed = words()
    first = snaps.take({"listed": listed})
    if change == "append_pop":
        listed.append("new")
        listed.pop(0)
    elif change == "clear_refill":
        listed.clear()
        listed.extend(f"other{i}" for i in range(300))
    else:  # equal values, other objects: the same hash, found by walking
        listed[:] = [str(w) + "" for w in words()]
    assert len(listed) == 300
    second, skipped = snaps.skipped({"listed": listed})
    assert not skipped
    assert (second == first) == (change == "refill_same")


def test_a_dict_value_replaced_by_an_equal_or_other_string(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    table = {w: w.upper() for w in words()}
    first = snaps.take({"table": table})
    table["word3"] = "".join(["WORD", str(3)])  # equal, a new object
    assert table["word3"] == "WORD3"
    second, skipped = snaps.skipped({"table": table})
    assert not skipped and second == first
    table["word3"] = "three"
    third, skipped = snaps.skipped({"table": table})
    assert not skipped and third != first
    # A key removed and put back at the end: same items, another order.
    value = table.pop("word0")
    table["word0"] = value
    fourth, skipped = snaps.skipped({"table": table})
    assert not skipped and fourth != third


def test_containers_holding_mutable_items_or_subclasses_are_never_skipped(
        tmp_path: Path) -> None:
    class Words(list):  # type: ignore[type-arg]
        pass

    snaps = Snapshots(tmp_path)
    inner = [1, 2]
    nested = [*words(100), inner]
    sub = Words(words())
    snaps.take({"nested": nested, "sub": sub})
    assert len(snaps.containers) == 0
    inner.append(3)
    sub[0] = "changed"
    _, skipped = snaps.skipped({"nested": nested, "sub": sub})
    assert not skipped


def test_small_containers_and_tuples_of_atoms(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    small = words(unchanged_containers.REMEMBER_FROM - 1)
    pairs = [(i, (f"w{i}", float(i))) for i in range(100)]
    first = snaps.take({"small": small, "pairs": pairs})
    assert len(snaps.containers) == 1  # `pairs` only
    pairs[5] = (5, ("w5", -0.0))
    second, skipped = snaps.skipped({"small": small, "pairs": pairs})
    assert not skipped and second["pairs"] != first["pairs"]


def test_a_container_deleted_and_made_again(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    listed = words()
    snaps.take({"listed": listed})
    del listed
    # (Possibly at the same address: nothing may come from the old one.)
    listed = [f"new{i}" for i in range(300)]
    second = snaps.take({"listed": listed})
    assert second["listed"] == snaps.full_walk({"listed": [f"new{i}" for i in range(300)]})["listed"]
    # Not seen by a snapshot and held by nothing else: let go.
    snaps.take({})
    snaps.take({})
    assert len(snaps.containers) == 0


def test_what_is_remembered_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unchanged_containers, "REMEMBER_AT_MOST", 500)
    snaps = Snapshots(tmp_path)
    a, b = words(), words(400)
    snaps.take({"a": a, "b": b})
    assert len(snaps.containers) == 1


SCRIPT = """\
words = [f"word{i}" for i in range(300)]
table = {w: w.upper() for w in words}
total = 0
words[5] = "changed"
total = 1
table["word0"] = "ZERO"
total = 2
words.append("appended")
words.pop(0)
total = 3
"""


def test_a_run_shows_each_change(tmp_path: Path) -> None:
    """Statement snapshots of a script that changes remembered containers:
    each snapshot shows the values of its time (`snapline show --json`)."""
    if not SNAPLINE.exists():
        pytest.skip(f"no snapline binary at {SNAPLINE}")
    (tmp_path / "t.py").write_text(SCRIPT)
    store = str(tmp_path / ".snapline")

    def cli(*args: str) -> object:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SNAPLINE_") and k != "PYTHONPATH"}
        done = subprocess.run([str(SNAPLINE), *args, "--store", store], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if "--json" in args else None

    cli("run", "--python", PYTHON, "--budget", "0", "t.py")
    log = cli("log", "last", "--json")
    assert isinstance(log, list)
    by_total: dict[int, int] = {}
    for snap in log:
        shown = cli("show", "--json", f"last@{snap['seq']}")
        assert isinstance(shown, list)
        total = next((v for v in shown if v["path"] == "total"), None)
        if total is not None:
            by_total.setdefault(int(json.loads(total["preview"])), snap["seq"])
    assert set(by_total) == {0, 1, 2, 3}

    def value(total: int, path: str) -> str:
        shown = cli("show", "--json", f"last@{by_total[total]}", path)
        assert isinstance(shown, dict)
        return str(shown["value"])

    assert '"word5"' in value(0, "words") and '"changed"' in value(1, "words")
    assert '"word0"' in value(2, "words") and '"word0"' not in value(3, "words")
    assert '"WORD0"' in value(1, "table") and '"ZERO"' in value(2, "table")


def test_a_remembered_row_still_counts_as_unshared(tmp_path: Path) -> None:
    """The cache's own reference to a row does not make the rows of a long
    table look shared (graph.UNSHARED_CONTAINER_OVER): once nothing else
    holds them, the table is one value again, as without the cache."""
    snaps = Snapshots(tmp_path)
    rows = [[float(i + k) for k in range(80)] for i in range(70)]
    first_row = rows[0]
    first = snaps.take({"rows": rows, "first_row": first_row})
    assert "rows[0]" in first  # shared: a node of its own, remembered
    assert len(snaps.containers) >= 1
    del first_row
    # (Checked against a full walk once the cache has let the rows go: its
    # references would make them look shared to a walk without it.)
    second = snaps.take({"rows": rows}, check=False)
    assert list(second) == ["rows"], "one value, no node per row"
    snaps.containers.start_snapshot()
    assert second == snaps.full_walk({"rows": rows})


def test_an_unchanged_table_of_rows_is_not_walked_again(tmp_path: Path) -> None:
    """A list of lists (rows of floats, as a CSV reader makes them) is one
    value while nothing else holds its rows: remembered with its rows'
    structure, it is found unchanged, and every change inside a row, to a
    row's length or to who holds a row is seen (each hash checked against
    a full walk of the same state)."""
    snaps = Snapshots(tmp_path)
    rows = [[float(i * 8 + k) for k in range(8)] for i in range(200)]
    stats = {f"k{i}": [i, {"n": i}] for i in range(70)}  # a dict of lists of dicts
    first = snaps.take({"rows": rows, "stats": stats})
    assert list(first) == ["rows", "stats"], "one value each, no node per row"
    again, skipped = snaps.skipped({"rows": rows, "stats": stats})
    assert skipped and again == first

    rows[120][3] = -1.0  # changed in place
    changed, skipped = snaps.skipped({"rows": rows})
    assert not skipped and changed["rows"] != first["rows"]
    _, skipped = snaps.skipped({"rows": rows})
    assert skipped

    rows[7].append(9.0)  # a row one longer
    longer, skipped = snaps.skipped({"rows": rows})
    assert not skipped and longer["rows"] != changed["rows"]

    rows[7].pop()
    rows[8], rows[9] = rows[9], rows[8]  # the same atoms, moved
    moved, skipped = snaps.skipped({"rows": rows})
    assert not skipped and moved["rows"] != changed["rows"]

    stats["k5"][1]["n"] = -5  # two levels down
    deeper, skipped = snaps.skipped({"stats": stats})
    assert not skipped and deeper["stats"] != first["stats"]

    # A row the program now also holds must come back as one object with
    # it: the table is walked again, the row a node of its own.
    row = rows[3]
    shared, skipped = snaps.skipped({"rows": rows, "row": row})
    assert not skipped and "rows[3]" in shared
    assert shared["rows[3]"] == shared["row"]

    # An equal copy of a row in its place: the same record, remembered anew.
    del row
    snaps.take({"rows": rows}, check=False)
    rows[10] = list(rows[10])
    _, skipped = snaps.skipped({"rows": rows})
    assert skipped


def test_rows_of_numpy_numbers_are_remembered_too(tmp_path: Path) -> None:
    """numpy's scalars never change in place (`values.is_atomic` takes them
    as atoms): a table of them is found unchanged, and a changed one seen."""
    np = pytest.importorskip("numpy")
    snaps = Snapshots(tmp_path)
    rows = [list(np.arange(8, dtype=np.float64) + i) for i in range(100)]
    rows += [[np.int32(i), np.float32(i), np.bool_(i % 2), np.complex64(i)] for i in range(30)]
    first = snaps.take({"rows": rows})
    assert list(first) == ["rows"]
    again, skipped = snaps.skipped({"rows": rows})
    assert skipped and again == first
    rows[120][1] = np.float32(-1.0)
    changed, skipped = snaps.skipped({"rows": rows})
    assert not skipped and changed != first
    # Other numpy objects are not atoms: an array in a row is walked.
    rows[3] = [np.zeros(2)]
    _, skipped = snaps.skipped({"rows": rows})
    assert not skipped
    _, skipped = snaps.skipped({"rows": rows})
    assert not skipped
