"""The workloads' one hook: `safe_point()` at the end of each loop iteration.

Without a contender (the baseline, and every Snapline run: Snapline finds
loop boundaries itself) it does nothing. With `BENCH_CONTENDER` set it runs
that contender's save when it is due (bench/workloads/contenders.py):

    BENCH_CONTENDER=dill-var|dump-session   BENCH_EVERY=10 (seconds)
    BENCH_SAVE_DIR=DIR                      where the contender writes
    BENCH_STATS=FILE.json                   what the run reports at exit

`saved(path, started)` is for the workloads' own manual checkpoints
(torch.save each epoch): it notes the save's time and size the same way.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time

_START = time.perf_counter()
_saves: list = []
_contender = None
_every = float(os.environ.get("BENCH_EVERY", "10"))
_due = _START + _every


def _load_contender():
    name = os.environ.get("BENCH_CONTENDER")
    if not name:
        return None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import contenders

    return contenders.make(name, os.environ["BENCH_SAVE_DIR"])


def safe_point() -> None:
    """End of a loop iteration: save when a contender is due."""
    global _due
    if _contender is None:
        return
    now = time.perf_counter()
    if now >= _due:
        nbytes = _contender.save(sys.modules["__main__"].__dict__)
        done = time.perf_counter()
        _saves.append({"t": done - _START, "seconds": done - now, "bytes": nbytes or 0,
                       "index": len(_saves), "failed": nbytes is None})
        _due = done + _every


def saved(path: str, started: float) -> None:
    """A manual checkpoint written to `path`, begun at `started` (perf_counter)."""
    done = time.perf_counter()
    _saves.append({"t": done - _START, "seconds": done - started,
                   "bytes": os.path.getsize(path), "index": len(_saves), "failed": False})


def _report() -> None:
    out = os.environ.get("BENCH_STATS")
    if not out:
        return
    report = {"saves": _saves, "seconds": time.perf_counter() - _START}
    if _contender is not None:
        report["skipped"] = sorted(_contender.skipped)
    with open(out, "w") as f:
        json.dump(report, f)


_contender = _load_contender()
atexit.register(_report)
