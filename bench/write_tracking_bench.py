"""Issue #16: re-snapshot of an unchanged 1 GiB array, with the kernel's
written-page tracking (userfaultfd + PAGEMAP_SCAN) against hashing it all,
and what one changed element stores.

1. A captured loop (`--outer-every 0 --no-statements`) over a 1 GiB float32
   array left unchanged, then one element changed: capture_ms and
   bytes_new of each iteration snapshot (the array is tracked from its
   third snapshot on: tracking starts before the second, kept if steady).
2. The scan alone (`Recorder.scan_array` on the same buffer), tracked
   against full hashing, median of `--reps`.

    .venv/bin/python bench/write_tracking_bench.py      # about 1 minute, 2 GiB of memory
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")

SCRIPT = """
import numpy as np

big = (np.arange(1 << 28, dtype=np.float32) % 1000.0)  # 1 GiB
total = 0
for step in range(12):
    total += step
    if step == 9:
        big[123_456_789] = -1.0
"""


def scan_times(reps: int) -> dict:
    import numpy as np
    from snapline import _native
    with tempfile.TemporaryDirectory() as tmp:
        recorder = _native.Recorder(tmp + "/store", json.dumps(
            {"script": "b.py", "started_at": 0.0, "lineage": {}}))
        a = np.arange(1 << 28, dtype=np.float32) % 1000.0
        address = a.__array_interface__["data"][0]
        for _ in range(3):
            recorder.scan_array(address, a.nbytes, "float32", None, True)
        out = {"tracked": recorder.written_pages_tracked(address)}
        for name, args in (("tracked", (None, True)), ("hashed", ())):
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                recorder.scan_array(address, a.nbytes, "float32", *args)
                times.append(time.perf_counter() - start)
            out[f"{name}_ms"] = statistics.median(times) * 1e3
        recorder.finish("finished", time.time())
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "big.py"
        script.write_text(SCRIPT)
        store = Path(tmp) / "store"
        subprocess.run([PYTHON, "-m", "snapline", "run", "--store", str(store),
                        "--outer-every", "0", "--no-statements", str(script)],
                       check=True, capture_output=True)
        log = json.loads(subprocess.run(
            [str(REPO / ".venv" / "bin" / "snapline"), "--store", str(store), "log", "last",
             "--json"], check=True, capture_output=True, text=True).stdout)
    print("| snapshot | loop | capture_ms | bytes_new |")
    print("| ---: | --- | ---: | ---: |")
    for s in log:
        if s["trigger"] == "iteration":
            print(f"| {s['seq']} | {s['loops']} | {s['capture_ms']:.1f} | "
                  f"{s['bytes_new']:,} |")
    print()
    print("scan alone:", json.dumps(scan_times(args.reps)))


if __name__ == "__main__":
    sys.exit(main())
