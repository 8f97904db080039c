"""Bundles (issue #5): `snapline export` of a snapshot and of a whole run,
`snapline import` into another store, where runs, log, show, diff and
metrics read the same; importing twice does nothing; a truncated or
corrupted bundle is refused with one line and exit status 2, the store
unchanged; `snapline restore` works on an imported snapshot."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, PYTHON, Snapline, one_line
from conftest import run as run_command


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapline, dict, Path]:
    """examples/numpy_mlp.py captured into one store; its run exported whole
    and its snapshot at epoch 3 exported alone."""
    root = tmp_path_factory.mktemp("bundle")
    sl = Snapline(root / "store", root / "scripts")
    # No budget: a snapshot at every epoch of this short run (test_budget.py).
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "6", opts=("--budget", "0"))
    assert done.returncode == 0, done.stderr
    run = sl.last_run()
    return sl, run, root


def listing(store: Path) -> dict:
    """Every file of a store (SQLite's -wal/-shm aside) with its content hash."""
    out = {}
    for path in sorted(store.rglob("*")):
        if path.name.endswith(("-wal", "-shm")):
            continue
        rel = str(path.relative_to(store))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def middle_seq(sl: Snapline) -> int:
    """An epoch boundary in the middle of training (params exist there)."""
    rows = [r for r in sl.log() if r["trigger"] == "iteration"]
    return rows[len(rows) // 2]["seq"]


def test_a_whole_run_reads_the_same_after_import(source: tuple) -> None:
    sl, run, root = source
    bundle = root / "whole-run.snapline"
    exported = sl.cli("export", run["id"], "-o", bundle)
    assert exported["scope"] == "run" and exported["run"] == run["id"]
    assert exported["snapshots"] == run["snapshots"] and bundle.stat().st_size == exported["bytes"]

    other = root / "second"
    imported = sl.cli("import", bundle, store=other)
    assert imported["outcome"] == "imported" and imported["run"] == run["id"]
    assert len(imported["seqs"]) == run["snapshots"]

    theirs = sl.last_run(store=other)
    for field in ("id", "script", "status", "snapshots", "started_at", "ended_at",
                  "lineage", "exit_code", "bytes_stored"):
        assert theirs[field] == run[field], field
    origin = theirs["origin"]
    assert origin["bundle"] == "whole-run.snapline"
    assert origin["host"] and origin["exporter"] and origin["imported_at"] >= origin["exported_at"]
    assert run.get("origin") is None

    assert sl.log(run["id"], store=other) == sl.log(run["id"])
    seq = middle_seq(sl)
    ref = f"{run['id']}@{seq}"
    assert sl.show(ref, "--all", store=other) == sl.show(ref, "--all")
    assert sl.show(ref, 'params["W1"]', store=other) == sl.show(ref, 'params["W1"]')
    first, last = f"{run['id']}@first", f"{run['id']}@last"
    assert sl.cli("diff", first, last, store=other) == sl.cli("diff", first, last)
    assert sl.cli("metrics", run["id"], store=other) == sl.cli("metrics", run["id"])
    verified = sl.cli_raw("log", run["id"], "--verify", store=other)
    assert verified.returncode == 0, verified.stderr

    table = sl.cli_raw("runs", store=other, json_out=False)
    assert "imported from " + origin["host"] in table.stdout

    # Twice: a no-op, exit 0, the store unchanged.
    before = listing(other)
    again = sl.cli("import", bundle, store=other)
    assert again["outcome"] == "already imported"
    assert listing(other) == before
    text = sl.cli_raw("import", bundle, store=other, json_out=False)
    assert text.returncode == 0 and "already imported" in text.stdout


def test_one_snapshot_travels_with_its_lineage_and_metrics(source: tuple) -> None:
    sl, run, root = source
    seq = middle_seq(sl)
    ref = f"{run['id']}@{seq}"
    bundle = root / "one.snapline"
    exported = sl.cli("export", ref, "-o", bundle)
    assert exported["scope"] == "snapshot" and exported["seqs"] == [seq]
    whole = (root / "whole-for-size.snapline")
    sl.cli("export", run["id"], "-o", whole)
    assert bundle.stat().st_size < whole.stat().st_size

    other = root / "third"
    imported = sl.cli("import", bundle, store=other)
    assert imported["seqs"] == [seq]
    assert [r["seq"] for r in sl.log(run["id"], store=other)] == [seq]
    assert sl.show(ref, "--all", store=other) == sl.show(ref, "--all")
    assert sl.cli("metrics", run["id"], store=other) == sl.cli("metrics", run["id"])
    theirs = sl.last_run(store=other)
    assert theirs["lineage"] == run["lineage"] and theirs["origin"]["bundle"] == "one.snapline"

    # The state comes back in Python from the imported store.
    code = ("import json; print('W1 ' + json.dumps([list(params['W1'].shape), "
            "float(params['W1'].sum())]))")
    mine = run_command([BIN, "--store", sl.store, "restore", ref, "--python", PYTHON,
                        "-c", code])
    theirs_done = run_command([BIN, "--store", other, "restore", ref, "--python", PYTHON,
                               "-c", code])
    assert mine.returncode == 0, mine.stderr
    assert theirs_done.returncode == 0, theirs_done.stderr
    pick = [ln for ln in mine.stdout.splitlines() if ln.startswith("W1 ")]
    assert pick and pick == [ln for ln in theirs_done.stdout.splitlines()
                             if ln.startswith("W1 ")]

    # The whole run afterwards adds the other snapshots.
    added = sl.cli("import", whole, store=other)
    assert added["outcome"] == "added snapshots"
    assert sl.log(run["id"], store=other) == sl.log(run["id"])
    assert sl.cli("metrics", run["id"], store=other) == sl.cli("metrics", run["id"])


def test_damaged_bundles_are_refused_and_change_nothing(source: tuple) -> None:
    sl, run, root = source
    bundle = root / "to-damage.snapline"
    sl.cli("export", run["id"], "-o", bundle)
    data = bundle.read_bytes()
    other = root / "fourth"
    sl.cli("import", root / "one.snapline" if (root / "one.snapline").exists() else bundle,
           store=other)
    before = listing(other)
    runs_before = sl.runs(store=other)

    cases = {
        "truncated": data[: len(data) * 2 // 3],
        "flipped": data[:1000] + bytes([data[1000] ^ 0x10]) + data[1001:],
        "flipped-catalog": data[:-600] + bytes([data[-600] ^ 0x01]) + data[-599:],
        "empty": b"",
    }
    for name, damaged in cases.items():
        path = root / f"{name}.snapline"
        path.write_bytes(damaged)
        code, err = sl.cli_fail("import", path, store=other, json_out=False)
        assert code == 2, (name, err)
        line = one_line(err)
        assert line.startswith("snapline: error: "), line
        assert any(part in line for part in ("chunk", "catalog", "manifest", "footer",
                                             "not a Snapline bundle")), line
        assert listing(other) == before, name
        assert sl.runs(store=other) == runs_before

    # A missing file: one line too.
    code, err = sl.cli_fail("import", root / "absent.snapline", store=other, json_out=False)
    assert code == 2 and "absent.snapline" in one_line(err)


def test_an_unwritable_store_gives_one_clear_line(source: tuple) -> None:
    sl, run, root = source
    bundle = root / "for-unwritable.snapline"
    sl.cli("export", run["id"], "-o", bundle)
    blocker = root / "a-file"
    blocker.write_text("not a directory")
    code, err = sl.cli_fail("import", bundle, store=blocker / "store", json_out=False)
    assert code == 2
    line = one_line(err)
    assert "cannot create the store" in line and "--store" in line
    if os.geteuid() != 0:  # root writes anywhere
        locked = root / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        try:
            code, err = sl.cli_fail("import", bundle, store=locked / "store", json_out=False)
            assert code == 2 and "store" in one_line(err)
        finally:
            locked.chmod(0o755)


def test_export_refuses_bad_names_and_unwritable_outputs(source: tuple) -> None:
    sl, run, root = source
    code, err = sl.cli_fail("export", "nosuchrun", "-o", root / "x.snapline", json_out=False)
    assert code == 2 and "nosuchrun" in one_line(err)
    code, err = sl.cli_fail("export", run["id"], "-o", root / "no" / "dir" / "x.snapline",
                            json_out=False)
    assert code == 2 and "cannot write" in one_line(err)
    assert not list(root.glob(".x.snapline.partial-*"))
    done = sl.cli_raw("export", run["id"], "-o", root / "quiet.snapline")
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["format"] == "snapline"
