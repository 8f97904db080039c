"""`snapline restore RUN@SEQ --resume`: the script continues from the
snapshot, bit for bit, as a new run branching from it; where that cannot be
exact it says why and waits for --force."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, line_of


def resume(sl, ref, *extra):
    return sl.cli_raw("restore", ref, "--resume", *extra, json_out=False)


def full_and_snapshots(sl, script, *args, opts=()):
    done = sl.capture(script, *args, opts=opts)
    assert done.returncode == 0, done.stderr
    run = sl.last_run()
    return done.stdout, run["id"], sl.log(run["id"])


def exit_hashes(sl, run_id, names):
    """Content hashes of the variables at the run's end. A pickled object's
    bytes depend on which equal strings happen to be the same object in the
    process (pickle's memo), so for those the arrays it holds are compared."""
    objects = sl.objects(f"{run_id}@last")
    out = {}
    for name in names:
        if objects[name]["kind"] == "pickle":
            view = sl.show(f"{run_id}@last", name)
            out[name] = [(c["path"], c["summary"]) for c in view["children"]]
            assert out[name], f"{name}: a pickle without arrays compares nothing"
        else:
            out[name] = objects[name]["hash"]
    return out


def check_resume(sl, run_id, row, full_stdout, names, lines_left):
    """Resumes at `row`; its output is the original's last `lines_left`
    lines, byte for byte, and the state at exit is identical."""
    ref = f"{run_id}@{row['seq']}"
    done = resume(sl, ref)
    assert done.returncode == 0, done.stderr
    expected = "".join(full_stdout.splitlines(keepends=True)[-lines_left:])
    assert done.stdout == expected, f"resumed from {ref}:\n{done.stdout}\nwanted:\n{expected}"
    branch = sl.last_run()
    assert branch["parent_run"] == run_id and branch["parent_seq"] == row["seq"]
    assert branch["status"] == "finished"
    assert exit_hashes(sl, branch["id"], names) == exit_hashes(sl, run_id, names)
    return branch


def test_numpy_resume_from_outer_and_inner_loop(sl):
    script = EXAMPLES / "numpy_mlp.py"
    full, run_id, rows = full_and_snapshots(sl, script, "--epochs", "6",
                                            opts=("--inner-every", "0"))
    epoch_line = line_of(script, "for epoch in range(args.epochs)")
    inner_line = line_of(script, "for name, g in")
    outer = [r for r in rows if r["trigger"] == "iteration" and r["line"] == epoch_line]
    inner = [r for r in rows if r["trigger"] == "iteration" and r["line"] == inner_line]
    assert outer and inner
    # At the start of epoch 3: epochs 3, 4, 5 and the final line are left.
    at3 = next(r for r in outer if r["loops"] == [3])
    check_resume(sl, run_id, at3, full, ["params", "layers", "history"], 4)
    # Inside train_epoch during epoch 2, between two parameter updates.
    mid = next(r for r in inner if r["loops"][0] == 2)
    branch = check_resume(sl, run_id, mid, full, ["params", "layers", "history"], 5)
    # The branch is captured like any run: its epochs have snapshots too.
    assert any(r["trigger"] == "iteration" for r in sl.log(branch["id"]))
    restored = sl.cli_raw("restore", f"{branch['id']}@last", "-c",
                          "print(params['W1'] is layers[0])", json_out=False)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == "True"


def test_torch_resume_mid_epoch_and_between_epochs(sl, need_torch):
    script = EXAMPLES / "torch_classifier.py"
    full, run_id, rows = full_and_snapshots(
        sl, script, "--epochs", "3", "--samples", "1024",
        opts=("--inner-every", "0", "--no-statements"))
    batch_line = line_of(script, "for xb, yb in loader")
    epoch_line = line_of(script, "for epoch in range(epochs)")
    between = next(r for r in rows if r["line"] == epoch_line and r["loops"] == [1])
    check_resume(sl, run_id, between, full, ["model", "optimizer"], 3)
    # Mid-epoch: the shuffled DataLoader is re-created with the random state
    # its epoch started with and skips the consumed batches.
    mid = next(r for r in rows if r["line"] == batch_line and r["loops"] == [0, 5])
    check_resume(sl, run_id, mid, full, ["model", "optimizer"], 4)


def test_torch_resume_with_dataloader_workers(sl, need_torch):
    script = EXAMPLES / "torch_classifier.py"
    full, run_id, rows = full_and_snapshots(
        sl, script, "--epochs", "2", "--samples", "512", "--workers", "2",
        opts=("--inner-every", "0", "--no-statements"))
    batch_line = line_of(script, "for xb, yb in loader")
    mid = next(r for r in rows if r["line"] == batch_line and r["loops"] == [0, 3])
    check_resume(sl, run_id, mid, full, ["model", "optimizer"], 3)


def test_sklearn_resume(sl, need_sklearn):
    script = EXAMPLES / "sklearn_fit.py"
    full, run_id, rows = full_and_snapshots(sl, script, "--epochs", "5")
    epoch_line = line_of(script, "for epoch in range(args.epochs)")
    at2 = next(r for r in rows if r["line"] == epoch_line and r["loops"] == [2])
    check_resume(sl, run_id, at2, full, ["model", "forest"], 4)
    # After a top-level statement (the forest is fitted again from there).
    fit_line = line_of(script, "forest = RandomForestClassifier")
    after = next(r for r in rows if r["trigger"] == "statement" and r["line"] == fit_line)
    check_resume(sl, run_id, after, full, ["forest"], 1)


RNG = """
import random
import numpy as np

random.seed(1)
np.random.seed(2)
rng = np.random.default_rng(3)
out = []


def step(i):
    for k in range(3):
        out.append(round(random.random() + np.random.rand() + rng.random(), 12))
    return out[-1]


for i in range(4):
    print(i, step(i))
print(len(out), sum(out))
"""


def test_resume_continues_every_random_stream(sl):
    script = sl.script(RNG)
    full, run_id, rows = full_and_snapshots(sl, script, opts=("--inner-every", "0"))
    inner_line = line_of(script, "for k in range(3)")
    mid = next(r for r in rows if r["line"] == inner_line and r["loops"] == [1, 2])
    check_resume(sl, run_id, mid, full, ["out", "rng"], 4)


def test_refuses_inexact_resume_without_force(sl, tmp_path):
    script = sl.script("""
        log = open("train.log", "w")
        total = 0
        for i in range(3):
            total += i
            log.write(f"{i}\\n")
        print("total", total)
    """)
    done = sl.capture(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = sl.last_run()["id"]
    loop = next(r for r in sl.log(run_id) if r["trigger"] == "iteration")
    refused = resume(sl, f"{run_id}@{loop['seq']}")
    assert refused.returncode == 1
    assert "log" in refused.stderr and "open file" in refused.stderr
    assert "--force" in refused.stderr
    assert refused.stdout == ""
    assert len(sl.runs()) == 1, "a refused resume must not start a run"
    forced = resume(sl, f"{run_id}@{loop['seq']}", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "total 3\n"


def test_changed_script_is_refused_then_resumed_with_force(sl):
    script = sl.script("""
        total = 0
        for i in range(4):
            total += i
            print("step", i, total)
        print("done", total)
    """)
    done = sl.capture(script)
    assert done.returncode == 0
    run_id = sl.last_run()["id"]
    at2 = next(r for r in sl.log(run_id) if r["trigger"] == "iteration" and r["loops"] == [2])
    script.write_text(script.read_text().replace('print("done", total)',
                                                 'print("finished", total * 10)'))
    refused = resume(sl, f"{run_id}@{at2['seq']}")
    assert refused.returncode == 1
    assert "changed since the run" in refused.stderr and "line 5" in refused.stderr
    forced = resume(sl, f"{run_id}@{at2['seq']}", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "step 2 3\nstep 3 6\nfinished 60\n"


def test_exception_snapshot_needs_force_and_exit_snapshot_is_refused(sl):
    script = sl.script("""
        import sys
        data = [1, 2, 0, 4]
        acc = 0.0
        for x in data:
            acc += 1 / (x if len(sys.argv) < 2 else x or 1)
        print("acc", acc)
    """)
    failed = sl.capture(script)
    assert failed.returncode == 1
    run_id = sl.last_run()["id"]
    post_mortem = sl.log(run_id)[-1]
    assert post_mortem["trigger"] == "exception"
    refused = resume(sl, f"{run_id}@{post_mortem['seq']}")
    assert refused.returncode == 1
    assert "exception" in refused.stderr and "--force" in refused.stderr

    ok = sl.capture(script, "fixed")
    assert ok.returncode == 0
    last = sl.log()[-1]
    assert last["trigger"] == "exit"
    ended = resume(sl, f"{sl.last_run()['id']}@{last['seq']}")
    assert ended.returncode != 0
    assert "nothing is left to run" in ended.stderr


def test_unknown_snapshot(sl):
    done = sl.capture("x = 1\n")
    assert done.returncode == 0
    bad = resume(sl, "last@999")
    assert bad.returncode != 0
    assert "999" in bad.stderr


@pytest.mark.parametrize("where", ["function_loop", "while_loop"])
def test_resume_inside_functions_and_while_loops(sl, where):
    script = sl.script("""
        def fib_table(n):
            a, b = 0, 1
            table = []
            i = 0
            while i < n:
                table.append(a)
                a, b = b, a + b
                i += 1
            return table


        def main():
            rows = []
            for k in range(3):
                rows.append(sum(fib_table(10 + k)))
                print("row", k, rows[-1])
            return rows


        if __name__ == "__main__":
            result = main()
            print("result", result)
    """)
    full, run_id, rows = full_and_snapshots(sl, script, opts=("--inner-every", "0"))
    line = line_of(script, "while i < n" if where == "while_loop" else "for k in range(3)")
    loops = [1, 4] if where == "while_loop" else [2]
    row = next(r for r in rows if r["line"] == line and r["loops"] == loops)
    left = 3 if where == "while_loop" else 2
    check_resume(sl, run_id, row, full, ["result"], left)


def test_resume_right_after_the_first_import(sl):
    """The snapshot after `import numpy as np` holds no module: the import
    itself is re-run, then the script goes on from the next line."""
    stdout, run_id, log = full_and_snapshots(sl, sl.script("""
        import numpy as np
        x = np.arange(3.0)
        for i in range(3):
            x = x + i
        print(x)
    """))
    first = [row for row in log if row["trigger"] == "statement" and row["line"] == 1]
    assert first, log
    check_resume(sl, run_id, first[0], stdout, ["x"], 1)
