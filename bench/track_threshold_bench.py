"""Issue #16: what scanning an unchanged buffer costs with its written pages
tracked by the kernel (capture-agent/src/written_pages.rs) against hashing
it in full, by size, in a process with torch loaded (its ~550 mappings:
the mapping check is per mapping, not a read of /proc/self/maps). The size
where tracking wins is the agent's threshold (TRACK_MIN_BYTES).

    .venv/bin/python bench/track_threshold_bench.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time

import numpy as np

try:
    import torch  # noqa: F401 - the mappings of a torch process, as the workloads have
except ImportError:  # pragma: no cover - numpy alone
    pass
from snapline import _native

MIB = 1 << 20
SIZES = [256 << 10, MIB, 2 * MIB, 4 * MIB, 8 * MIB, 32 * MIB]


def median_ms(recorder, a, tracked: bool, reps: int = 15) -> float:
    address = a.__array_interface__["data"][0]
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        recorder.scan_array(address, a.nbytes, "float32", None, tracked)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        recorder = _native.Recorder(tmp + "/store", json.dumps(
            {"script": "t.py", "started_at": 0.0, "lineage": {}}))
        print("size      hashed ms  tracked ms  tracked")
        for size in SIZES:
            a = np.random.default_rng(0).random(size // 4, dtype=np.float32)
            address = a.__array_interface__["data"][0]
            for _ in range(3):  # stored, then steady: tracked where it may be
                recorder.scan_array(address, a.nbytes, "float32", None, True)
            tracked = median_ms(recorder, a, True)
            hashed = median_ms(recorder, a, False)
            print(f"{size >> 10:6d} KiB {hashed:10.3f} {tracked:11.3f}  "
                  f"{recorder.written_pages_tracked(address)}")
        recorder.finish("finished", 1.0)


if __name__ == "__main__":
    main()
