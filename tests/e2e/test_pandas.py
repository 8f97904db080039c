"""pandas DataFrames and Series are stored as their columns, not pickled:
`show` lists each numeric column as an array with its stats, the frame's
preview holds its first rows, an unchanged frame is stored once and a
changed cell changes only its column; `snapline restore` rebuilds every
frame exactly (values, dtypes, labels, index, name), and the kinds of
frame that cannot be stored as columns still come back through pickle."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import BIN, PYTHON, Snapline, assert_same_output, line_of, python_has
from conftest import run as run_command

MiB = 1 << 20
MARK = "RESTORED "


@pytest.fixture(scope="module", autouse=True)
def need_pandas() -> None:
    if not python_has("pandas"):
        pytest.skip(f"pandas is not installed for {PYTHON}")


def restore(sl: Snapline, ref: str, code: str) -> dict:
    """Runs CODE (which sets `out`, a JSON-able dict) in the restored
    snapshot with the capture interpreter and returns `out`."""
    probe = f"{code}\nimport json as _json\nprint({MARK!r} + _json.dumps(out))\n"
    done: subprocess.CompletedProcess = run_command(
        [BIN, "--store", sl.store, "restore", ref, "--python", PYTHON, "-c", probe])
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    assert len(lines) == 1, done.stdout + done.stderr
    return json.loads(lines[0][len(MARK):])


# Built the same way by the captured script and by the restore check.
CASES = """
import numpy as np
import pandas as pd


def build():
    rng = np.random.default_rng(3)
    n = 50
    mixed = pd.DataFrame({
        "i64": rng.integers(-1000, 1000, n),
        "i8": rng.integers(-100, 100, n).astype(np.int8),
        "u16": rng.integers(0, 60000, n).astype(np.uint16),
        "f32": rng.standard_normal(n).astype(np.float32),
        "f64": rng.standard_normal(n),
        "c128": rng.standard_normal(n) + 1j,
        "flag": rng.random(n) > 0.5,
        "word": [f"w{i}" for i in range(n)],
        "obj": pd.Series([1, "a", None, 2.5, True, 2**70, b"x", float("nan"), -0.0, "é"] * 5,
                         dtype=object),
        "when": pd.date_range("2024-01-01", periods=n, freq="h").to_numpy(),
        "gap": pd.to_timedelta(np.arange(n), unit="s"),
    })
    mixed.loc[[2, 7, 11], "f64"] = np.nan
    mixed.loc[5, "when"] = pd.NaT
    mixed.loc[4, "word"] = None
    cases = {
        "mixed": mixed,
        "by_int": pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([30, 10, 20], name="id")),
        "by_label": pd.DataFrame({"v": [1, 2, 3], "w": ["p", "q", "r"]},
                                 index=pd.Index(["a", "b", "c"], name="key")),
        "by_float": pd.DataFrame({"v": [1, 2]}, index=[0.5, float("nan")]),
        "by_object": pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index([1, "a", None], dtype=object)),
        "stepped": pd.DataFrame({"v": np.arange(4)}, index=pd.RangeIndex(5, 25, 5, name="r")),
        "matrix": pd.DataFrame(rng.standard_normal((6, 3))),
        "fortran": pd.DataFrame(np.asfortranarray(rng.standard_normal((5, 4))),
                                columns=pd.Index([3, 1, 2, 0], name="c")),
        "odd_labels": pd.DataFrame([[1, 2, 3]], columns=pd.Index([None, 1.5, "x"], dtype=object)),
        "empty": pd.DataFrame(),
        "no_rows": pd.DataFrame({"a": pd.Series([], dtype="float64"),
                                 "b": pd.Series([], dtype=object)}),
        "no_cols": pd.DataFrame(index=[1, 2, 3]),
        "loss": pd.Series(rng.standard_normal(20), name="loss"),
        "tags": pd.Series(["x", "y", None], index=["a", "b", "c"], name="tags"),
        "anything": pd.Series([1, "two", 3.0, None], dtype=object),
        "strings": pd.DataFrame({"s": pd.Series(["a", None, "b"], dtype=object), "v": [1, 2, 3]},
                                index=[4, 4, 2]),
        "str_objects": pd.Series(["a", None, "b"], dtype=object, index=[1, 1, 1]),
        "nothing": pd.Series([], dtype="int64"),
        "stamps": pd.Series(pd.to_datetime(["2024-01-01", None]).to_numpy(), name=7),
        # Pickled as before: not storable as columns.
        "cat": pd.DataFrame({"c": pd.Categorical(["a", "b", "a"]), "v": [1, 2, 3]}),
        "multi": pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [0.5, 1.5, 2.5]}
                              ).set_index(["a", "b"]),
        "multi_cols": pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])),
        "nullable": pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
        "dup": pd.DataFrame([[1, 2]], columns=["a", "a"]),
        "dated": pd.DataFrame({"v": [1, 2, 3]}, index=pd.date_range("2024-01-01", periods=3)),
        "tz": pd.DataFrame({"t": pd.date_range("2024-01-01", periods=2, tz="UTC")}),
        "lists": pd.DataFrame({"l": [[1], [2, 3]]}),
        "ser_cat": pd.Series(pd.Categorical(["a", "b"]), name="c"),
    }
    cases["attrs"] = pd.DataFrame({"v": [1]})
    cases["attrs"].attrs["source"] = "x"
    return cases
"""

AS_COLUMNS = ("mixed", "by_int", "by_label", "by_float", "by_object", "stepped", "matrix",
              "fortran", "odd_labels", "empty", "no_rows", "no_cols", "loss", "tags",
              "anything", "strings", "str_objects", "nothing", "stamps")
PICKLED = ("cat", "multi", "multi_cols", "nullable", "dup", "dated", "tz", "lists", "ser_cat",
           "attrs")

FRAMES = """
from frame_cases import build

globals().update(build())
same = mixed
print(len(mixed), mixed["f64"].isna().sum())
"""

CHECK = """
import pandas as pd
from frame_cases import build

out = {"same": same is mixed}
for name, want in build().items():
    got = globals().get(name)
    try:
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True, check_index_type=True,
                                          check_column_type=True, check_frame_type=True,
                                          check_flags=True, check_freq=True)
            assert list(map(str, got.dtypes)) == list(map(str, want.dtypes))
        else:
            pd.testing.assert_series_equal(got, want, check_exact=True, check_index_type=True,
                                           check_series_type=True, check_flags=True)
            assert str(got.dtype) == str(want.dtype)
        assert type(got.index) is type(want.index) and got.index.name == want.index.name
        # None stays None in object columns (assert_*_equal takes it for NaN).
        columns = [want] if isinstance(want, pd.Series) else [want.iloc[:, i] for i in range(want.shape[1])]
        got_columns = [got] if isinstance(got, pd.Series) else [got.iloc[:, i] for i in range(got.shape[1])]
        for g, w in zip(got_columns, columns):
            if w.dtype == object:
                assert [type(x) for x in g] == [type(x) for x in w], w.name
        out[name] = "equal"
    except AssertionError as err:
        out[name] = str(err)
obj = list(mixed["obj"])
out["obj_types"] = [type(x).__name__ for x in obj[:10]]
"""


@pytest.fixture
def frames(sl: Snapline) -> Snapline:
    """The CASES captured (their module beside the script)."""
    sl.script(CASES, name="frame_cases.py")
    script = sl.script(FRAMES, name="capture_frames.py")
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert_same_output(plain, captured)
    assert captured.stdout == "50 3\n"
    return sl


def test_columns_are_arrays_with_stats(frames):
    objects = frames.objects("last@last")
    mixed = objects["mixed"]
    assert mixed["kind"] == "instance"
    assert mixed["shape"] == [50, 11]
    assert mixed["aliases"] == ["same"]
    expected = {"i64": "int64", "i8": "int8", "u16": "uint16", "f32": "float32", "f64": "float64",
                "c128": "complex128", "flag": "bool", "when": "datetime64[us]",
                "gap": "timedelta64[us]"}
    for column, dtype in expected.items():
        array = objects[f'mixed["{column}"]']
        assert array["kind"] == "array", column
        assert array["shape"] == [50], column
        assert array["dtype"].split("[")[0] == dtype.split("[")[0], column
    # NaN in a float column is counted (and in the snapshot's non-finite count).
    stats = objects['mixed["f64"]']["stats"]
    assert (stats["count"], stats["nan"], stats["posinf"]) == (50, 3, 0)
    assert objects['mixed["i64"]']["stats"]["nan"] == 0
    assert frames.log()[-1]["nonfinite"] >= 3
    # String and object columns are plain values, listed with --all.
    assert 'mixed["word"]' not in objects
    everything = frames.objects("last@last", all_=True)
    for column in ("word", "obj"):
        value = everything[f'mixed["{column}"]']
        assert value["kind"] == "value" and value["shape"] == [50], column
    # A non-range index is a child; a Series' values too.
    assert objects["by_int.index"]["dtype"] == "int64"
    assert objects["loss.values"]["stats"]["count"] == 20
    assert objects["loss"]["shape"] == [20]
    # Numbers inside frames make no metric series.
    names = json.dumps(frames.cli("metrics", "last"))
    assert "mixed" not in names and "loss" not in names


def test_record_and_preview(frames):
    mixed = frames.show("last@last", "mixed")
    extra = mixed["extra"]
    assert extra["pandas"] == "DataFrame"
    assert extra["columns"] == ["i64", "i8", "u16", "f32", "f64", "c128", "flag", "word",
                                "obj", "when", "gap"]
    assert extra["dtypes"][:7] == ["int64", "int8", "uint16", "float32", "float64",
                                   "complex128", "bool"]
    assert extra["dtypes"][7] in ("object", "str")  # pandas 2 / pandas 3
    assert extra["dtypes"][8] == "object"
    assert extra["index"] == {"range": [0, 50, 1]}
    assert extra["class"] == {"module": "pandas", "qualname": "DataFrame"} or \
        extra["class"]["qualname"] == "DataFrame"
    preview = mixed["preview"]
    assert "i64" in preview and "w0" in preview and "[50 rows x 11 columns]" in preview
    assert len(preview.splitlines()) < 20 and len(preview) < 2100
    by_int = frames.show("last@last", "by_int")["extra"]["index"]
    assert by_int == {"dtype": "int64", "name": "id"}
    series = frames.show("last@last", "tags")
    assert series["extra"]["pandas"] == "Series"
    assert series["extra"]["name"] == "tags"
    assert series["extra"]["index"]["name"] is None
    assert "Name: tags" in series["preview"]
    assert frames.show("last@last", "stamps")["extra"]["name"] == 7


def test_every_frame_restores_exactly(frames):
    objects = frames.objects("last@last")
    for name in AS_COLUMNS:
        assert objects[name]["kind"] == "instance", name
    for name in PICKLED:
        assert objects[name]["kind"] == "pickle", name
    got = restore(frames, "last@last", CHECK)
    assert got.pop("same") is True
    assert got.pop("obj_types") == ["int", "str", "NoneType", "float", "bool", "int", "bytes",
                                    "float", "float", "str"]
    assert got == {name: "equal" for name in AS_COLUMNS + PICKLED}


CHANGES = """
import numpy as np
import pandas as pd

df = pd.DataFrame({c: np.random.default_rng(i).standard_normal(400_000) for i, c in enumerate("abcd")})
marker = 1
df.loc[123, "b"] = 7.0
marker = 2
print(df.shape)
"""


def test_unchanged_frame_dedupes_and_a_cell_changes_one_column(sl):
    script = sl.script(CHANGES)
    done = sl.capture(script)
    assert done.returncode == 0, done.stderr
    rows = sl.log()

    def at(text: str) -> dict:
        line = line_of(script, text)
        return next(r for r in rows if r["trigger"] == "statement" and r["line"] == line)

    stored, same, changed = at("df = pd"), at("marker = 1"), at("df.loc")
    # Four columns of float64 (12.8 MB raw; bytes_new counts them compressed).
    assert stored["bytes_new"] >= 0.75 * 4 * 400_000 * 8
    assert same["bytes_new"] < 64 * 1024, same
    assert changed["bytes_new"] <= 1.1 * MiB, changed  # one chunk of one column
    before = sl.objects(f"last@{same['seq']}")
    after = sl.objects(f"last@{changed['seq']}")
    for column in "acd":
        path = f'df["{column}"]'
        assert before[path]["hash"] == after[path]["hash"], column
    assert before['df["b"]']["hash"] != after['df["b"]']["hash"]
    assert before["df"]["hash"] != after["df"]["hash"]
    assert after['df["b"]']["stats"]["max"] == 7.0
    check = """
import numpy as np
import pandas as pd

want = pd.DataFrame({c: np.random.default_rng(i).standard_normal(400_000) for i, c in enumerate("abcd")})
want.loc[123, "b"] = 7.0
pd.testing.assert_frame_equal(df, want, check_exact=True, check_index_type=True, check_column_type=True)
out = {"b": float(df.loc[123, "b"]), "shape": list(df.shape)}
"""
    assert restore(sl, f"last@{changed['seq']}", check) == {"b": 7.0, "shape": [400_000, 4]}
