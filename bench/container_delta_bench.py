"""Issue #16: bytes per snapshot of a large dict and list changed in one place.

A dict of N counters and a list of N floats, each changed in one place per
iteration (20 iterations, `--outer-every 0`), captured by this tree's agent
and by git HEAD's (`capture_cost_bench.head_agent`), side by side in one
run: the median `bytes_new` of the iteration snapshots (catalog rows
included) and the run's STORED, for N = 10,000, 50,000 and 200,000.

    .venv/bin/python bench/container_delta_bench.py [--sizes 10000,50000,200000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capture_cost_bench as cost

SCRIPT = """
    import sys

    n = int(sys.argv[1])
    counts = {f"user{i:06d}": i for i in range(n)}
    scores = [i * 0.5 for i in range(n)]
    for step in range(20):
        counts[f"user{(step * 7919) % n:06d}"] += 1
        scores[(step * 104729) % n] = -1.0
    print(len(counts))
"""


def measure(tmp: Path, script: Path, size: int, name: str, agent: Path | None) -> dict:
    store = tmp / f"{name}-{size}"
    cost.timed([cost.PYTHON, "-m", "snapline", "run", "--store", store, "--outer-every", "0",
                script, str(size)], agent)
    log = json.loads(subprocess.run([cost.BIN, "--store", store, "log", "last", "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    per = [r["bytes_new"] for r in log if r["trigger"] == "iteration"][1:]
    facts = cost.store_facts(store)
    return {"median_bytes_new": statistics.median(per), "max_bytes_new": max(per),
            "stored": facts["stored"], "disk": facts["disk"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    ns = parser.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        script = tmp / "one_place.py"
        script.write_text(textwrap.dedent(SCRIPT).lstrip())
        before = cost.head_agent(tmp)
        for size in (int(s) for s in ns.sizes.split(",")):
            result[size] = {"tree": measure(tmp, script, size, "tree", None),
                            "head": measure(tmp, script, size, "head", before)}
            print(size, json.dumps(result[size]), flush=True)


if __name__ == "__main__":
    main()
