"""Desktop app benchmark (issue #6), printed as Markdown for bench/RESULTS.md.

    .venv/bin/python bench/app_bench.py            # 10,000 snapshots, 1,000,000 points
    .venv/bin/python bench/app_bench.py --smoke    # tiny sizes

A run of 10,000 snapshots and 1,000,000 metric points is captured by the real
agent, then the real app (release build, under Xvfb, driven by tauri-driver
and WebKitWebDriver) opens it. Timed inside the window (performance.now):

- open: click on the run in the list until the timeline shows a snapshot and
  the loss curve is drawn (every command the screen needs: open_run,
  series_view, snapshot_objects);
- each command alone, through the window's IPC;
- scrub: a Right key on the timeline until the next frame is painted with the
  new cursor, and until the variables of the new snapshot are shown.

Targets: open under 1 s, scrubbing redraws under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))

SCRIPT = """
import numpy as np
import snapline

w = np.zeros(256, dtype=np.float32)
points = {points_per_step}
for step in range({snapshots}):
    w[step % 256] += 1.0
    base = step * points
    for k in range(points):
        snapline.log(step=base + k, loss=1.0 / (1.0 + 0.001 * (base + k)) + 0.01 * (k % 7))
"""

OPEN_JS = """
const [runId, done] = [arguments[0], arguments[arguments.length - 1]];
const t0 = performance.now();
document.querySelector(`#runs [data-run-id="${runId}"]`).click();
const poll = () => {
  const seq = document.querySelector('#timeline')?.getAttribute('data-seq');
  const rows = document.querySelectorAll('#variables [data-path]').length;
  if (seq !== null && seq !== '' && rows > 0) {
    requestAnimationFrame(() => done(performance.now() - t0));
  } else if (performance.now() - t0 > 60000) {
    done(-1);
  } else {
    requestAnimationFrame(poll);
  }
};
poll();
"""

SCRUB_JS = """
const done = arguments[arguments.length - 1];
const tl = document.querySelector('#timeline');
const before = tl.getAttribute('data-seq');
tl.focus();
const t0 = performance.now();
tl.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
let painted = null;
const poll = () => {
  const now = performance.now();
  if (painted === null && tl.getAttribute('data-seq') !== before) {
    requestAnimationFrame(() => { painted = performance.now() - t0; poll(); });
    return;
  }
  if (painted !== null) {
    const seq = tl.getAttribute('data-seq');
    const vars = document.querySelector('#variables');
    const shown = vars && vars.getAttribute('data-seq');
    if (shown === null || shown === seq || now - t0 > 5000) {
      done([painted, now - t0, shown === seq]);
      return;
    }
  }
  if (now - t0 > 5000) { done([-1, -1, false]); return; }
  setTimeout(poll, 1);
};
poll();
"""

INVOKE_JS = """
const [cmd, args, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const t0 = performance.now();
window.__TAURI_INTERNALS__.invoke(cmd, args).then(
  () => done(performance.now() - t0), e => done('error: ' + JSON.stringify(e)));
"""


def summary(values: list) -> str:
    errors = [v for v in values if isinstance(v, str)]
    if errors:
        return f"failed: {errors[0]}"
    return (f"{statistics.median(values):.1f} ms (p95 {sorted(values)[int(len(values) * 0.95) - 1]:.1f}, "
            f"max {max(values):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    snapshots, per_step = (50, 20) if args.smoke else (10_000, 100)
    reps = 1 if args.smoke else args.reps

    import appdriver  # the E2E harness: Xvfb, tauri-driver, one session per window
    if appdriver.missing():
        sys.exit(f"needs {', '.join(appdriver.missing())} (bash scripts/setup.sh installs them)")
    work = Path(tempfile.mkdtemp(prefix="app-bench-"))
    try:
        store = work / "store"
        script = work / "long_run.py"
        script.write_text(SCRIPT.format(snapshots=snapshots, points_per_step=per_step))
        t0 = time.monotonic()
        done = subprocess.run([PYTHON, "-m", "snapline", "run", "--store", store,
                               "--no-statements", script], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            sys.exit(done.stderr)
        captured = time.monotonic() - t0
        runs = subprocess.run([str(REPO / ".venv" / "bin" / "snapline"), "--store", store,
                               "--json", "runs"], capture_output=True, text=True, check=True)
        run = json.loads(runs.stdout)[-1]
        with appdriver.harness(dict(os.environ)) as open_app:
            opens, invokes, painted, shown = [], {}, [], []
            for _ in range(reps):
                app = open_app(store)
                app.wait(lambda a=app: a.all(f'#runs [data-run-id="{run["id"]}"]'))
                opens.append(app.driver.execute_async_script(OPEN_JS, run["id"]))
                for cmd, cargs in [
                    ("open_run", {"run": run["id"]}),
                    ("series_view", {"run": run["id"], "name": "loss", "x": "step", "from": None,
                                     "to": None, "width": 1200, "smooth": 0.6, "logY": False}),
                    # Mid-run (the agent may have throttled snapshots below one per step).
                    ("snapshot_objects", {"run": run["id"], "seq": run["snapshots"] // 2}),
                    # Again at another width and smoothing: the loaded series is reused.
                    ("series_view", {"run": run["id"], "name": "loss", "x": "step", "from": None,
                                     "to": None, "width": 800, "smooth": 0.9, "logY": False}),
                ]:
                    again = cmd == "series_view" and f"`{cmd}` alone" in invokes and \
                        len(invokes[f"`{cmd}` alone"]) > len(opens) - 1
                    label = f"`{cmd}` again (loaded series reused)" if again else f"`{cmd}` alone"
                    invokes.setdefault(label, []).append(
                        app.driver.execute_async_script(INVOKE_JS, cmd, cargs))
                # Opening puts the cursor on the last snapshot: start from the first.
                app.driver.execute_script(
                    "document.querySelector('#timeline').dispatchEvent("
                    "new KeyboardEvent('keydown', {key: 'Home', bubbles: true}))")
                app.wait(lambda a=app: a.seq() == 0 or a.seq() == 1)
                for _ in range(20):
                    p, s, ok = app.driver.execute_async_script(SCRUB_JS)
                    painted.append(p)
                    if ok:
                        shown.append(s)
                app.close()
        print(f"Run: {run['snapshots']:,} snapshots, {snapshots * per_step:,} metric points "
              f"(captured in {captured:.0f} s); app: release build under Xvfb, {os.cpu_count()} CPUs, "
              f"{reps} openings, {len(painted)} scrub steps\n")
        print("| what | time (median, p95, max) | target |")
        print("|---|---|---|")
        print(f"| open the run (click to timeline, curve and variables drawn) | {summary(opens)} | < 1 s |")
        for label, values in invokes.items():
            print(f"| {label} | {summary(values)} | |")
        print(f"| scrub one snapshot: next frame painted | {summary(painted)} | < 100 ms |")
        if shown:
            print(f"| scrub one snapshot: its variables shown | {summary(shown)} | |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
