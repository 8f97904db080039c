"""Bad input gets python's own message or one clear line, never a crash:
missing or broken scripts, unusable stores, unknown names, damaged data."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import PYTHON, assert_same_output, one_line, run

SIMPLE = """
import numpy as np

values = np.arange(6.0)
print("total", values.sum())
"""


def test_missing_script_like_python(sl, tmp_path):
    plain = sl.plain("missing.py", cwd=tmp_path)
    captured = sl.capture("missing.py", cwd=tmp_path)
    assert plain.returncode == 2
    assert "missing.py" in plain.stderr
    assert_same_output(plain, captured)
    assert not sl.store.exists()


def test_missing_script_rust_runner(sl, tmp_path):
    done = sl.cli_raw("run", "--python", PYTHON, "missing.py", json_out=False)
    assert done.returncode != 0
    assert "missing.py" in one_line(done.stderr)
    assert done.stdout == ""


def test_syntax_error_like_python(sl):
    script = sl.script("""
        x = 1
        def broken(:
            pass
    """)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert plain.returncode == 1
    assert "SyntaxError" in plain.stderr
    assert_same_output(plain, captured)


def test_compile_error_like_python(sl):
    # Not a parse error: only the compiler finds it.
    script = sl.script("""
        x = 1
        return x
    """)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert "'return' outside function" in plain.stderr
    assert_same_output(plain, captured)


@pytest.mark.parametrize("where", ["proc", "file"])
def test_unwritable_store_runs_without_capture(sl, tmp_path, where):
    script = sl.script(SIMPLE)
    if where == "proc":
        bad_store = "/proc/snapline-forbidden"
    else:
        bad_store = tmp_path / "a-file"
        bad_store.write_text("not a directory\n")
    plain = sl.plain(script)
    captured = sl.capture(script, store=bad_store)
    assert captured.returncode == 0
    assert captured.stdout == plain.stdout == "total 15.0\n"
    warning = one_line(captured.stderr)
    assert warning.startswith("snapline:")
    assert str(bad_store) in warning
    if where == "file":
        assert (tmp_path / "a-file").read_text() == "not a directory\n"


def _captured_store(sl):
    done = sl.capture(SIMPLE)
    assert done.returncode == 0, done.stderr
    catalog = sl.store / "catalog.sqlite"
    assert catalog.is_file()
    return catalog


def test_newer_schema_is_refused(sl):
    catalog = _captured_store(sl)
    with sqlite3.connect(catalog) as conn:
        conn.execute("PRAGMA user_version=99")
    for args in (("runs",), ("log", "last"), ("show", "last@last")):
        _, err = sl.cli_fail(*args)
        assert "newer" in one_line(err)
    # Refused, never altered.
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_corrupt_catalog(sl):
    catalog = _captured_store(sl)
    for extra in ("-wal", "-shm"):
        sidecar = catalog.with_name(catalog.name + extra)
        if sidecar.exists():
            sidecar.unlink()
    catalog.write_bytes(b"this is not an SQLite database, just garbage bytes\x00\xff" * 200)
    _, err = sl.cli_fail("runs")
    assert "corrupt" in one_line(err)
    _, err = sl.cli_fail("log", "last")
    assert "corrupt" in one_line(err)


def test_no_store(sl):
    _, err = sl.cli_fail("runs")
    assert str(sl.store) in one_line(err)


def test_unknown_names(sl):
    _captured_store(sl)
    run_id = sl.last_run()["id"]
    last_seq = sl.log()[-1]["seq"]

    _, err = sl.cli_fail("log", "zzzz")
    assert "zzzz" in one_line(err) and "no run" in err
    _, err = sl.cli_fail("show", "zzzz@0")
    assert "zzzz" in one_line(err)
    _, err = sl.cli_fail("show", f"{run_id}@{last_seq + 100}")
    line = one_line(err)
    assert str(last_seq + 100) in line and run_id in line
    _, err = sl.cli_fail("show", f"{run_id}@notanumber")
    assert "notanumber" in one_line(err)
    _, err = sl.cli_fail("show", f"{run_id}@last", "no_such_variable")
    assert "no_such_variable" in one_line(err)
    _, err = sl.cli_fail("metrics", run_id, "no_such_series")
    assert "no_such_series" in one_line(err)
    # The known ones still work.
    assert sl.show(f"{run_id}@last", "values")["shape"] == [6]


def test_damaged_chunk_is_named_by_verify(sl):
    script = sl.script("""
        import numpy as np

        x = 1
        big = np.random.default_rng(0).random(100_000)  # 800 KB: a chunk file
        y = 2
    """)
    done = sl.capture(script)
    assert done.returncode == 0, done.stderr
    files = sorted(sl.store.glob("chunks/**/*.zst"))
    assert len(files) == 1, files
    chunk = files[0]
    chunk_hash = chunk.name.removesuffix(".zst")
    data = bytearray(chunk.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 64):
        data[i] ^= 0xFF
    chunk.write_bytes(bytes(data))

    done = sl.cli_raw("log", "last", "--verify")
    assert done.returncode == 1
    rows = json.loads(done.stdout)
    holds_big = {r["seq"] for r in rows if r["line"] in (4, 5) or r["trigger"] == "exit"}
    assert holds_big, rows
    for row in rows:
        if row["seq"] in holds_big:
            assert row["verified"] is False, row
            assert chunk_hash in row["problem"], row
        else:
            assert row["verified"] is True, row
            assert row["problem"] is None
    assert any(r["verified"] for r in rows)
    # The table form says so on stderr.
    table = sl.cli_raw("log", "last", "--verify", json_out=False)
    assert table.returncode != 0
    assert "damaged" in table.stderr
    # Reading other objects still works.
    assert sl.show("last@last", "x")["value"] == "1"


def test_python_forwards_other_commands_to_the_binary(sl):
    _captured_store(sl)
    done = run([PYTHON, "-m", "snapline", "--store", sl.store, "runs", "--json"])
    if "binary is not installed" in done.stderr:
        pytest.skip("no snapline binary beside this Python")
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [sl.last_run()["id"]]
