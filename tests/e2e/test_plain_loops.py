"""Plain copies of short innermost loops (issue #16): once a loop's last two
instrumented runs were short, it runs an uninstrumented copy of itself (no
per-iteration hook), and goes back to its instrumented form after a plain
run that was long. Output, exit status, tracebacks and the crash snapshot
stay what they were.

Which form ran is seen in the `loops` of a snapshot taken inside the loop
(`snapline.checkpoint()` in a function its body calls): an instrumented loop
is on the agent's loop stack, [outer count, inner count]; a plain one is not,
[outer count].
"""

from __future__ import annotations

from conftest import line_of

# A tokenizer called once per document, as in a data-preparation script: its
# inner loop is short (a dozen words) and entered 2000 times. It assigns no
# plain name (a loop whose scalars make metric points stays instrumented).
TOKENIZE = """
    import random
    import sys

    import snapline

    random.seed(0)
    WORDS = ["the", "model", "loss", "drops", "after", "warmup", "and", "data"]
    LOOK_AT = {0, 1, *range(1000, 2000, 100)}


    def note(step):
        if step in LOOK_AT:
            snapline.checkpoint(f"step {step}")


    def count_tokens(text, counts, step):
        for position, token in enumerate(text.split()):
            counts[token] = counts.get(token, 0) + 1
            if position == 0:
                note(step)


    counts = {}
    for step in range(2000):
        document = " ".join(random.choice(WORDS) for _ in range(12))
        count_tokens(document, counts, step)
    print(sorted(counts.items()))
    sys.exit(3)
"""


def _checkpoints(sl) -> dict:
    return {r["label"]: r["loops"] for r in sl.log() if r["trigger"] == "explicit"}


def test_short_inner_loop_runs_plain_with_output_and_status_unchanged(sl):
    script = sl.script(TOKENIZE)
    plain = sl.plain(script)
    captured = sl.capture(script)
    # (stderr: the budget's note that loops are snapshotted less often)
    assert captured.stdout == plain.stdout and "Traceback" not in captured.stderr
    assert captured.returncode == plain.returncode == 3
    loops = _checkpoints(sl)
    # The first two runs are instrumented: the loop is on the stack.
    assert loops["step 0"] == [0, 0] and loops["step 1"] == [1, 0]
    # Later, mostly plain (a run the machine stalled for 2 ms or more puts
    # the loop back to its instrumented form for two runs).
    late = [loops[f"step {s}"] for s in range(1000, 2000, 100)]
    assert sum(1 for counts in late if len(counts) == 1) >= len(late) // 2, late


# The same tokenizer fed one long document at step 50: that plain run takes
# far more than 2 ms, so the loop is instrumented again from step 51 on.
LONG_AGAIN = """
    import snapline

    LOOK_AT = {*range(30, 50), 50, 51}


    def count_tokens(text, counts, step):
        for position, token in enumerate(text.split()):
            counts[token] = counts.get(token, 0) + 1
            if position == 0 and step in LOOK_AT:
                snapline.checkpoint(f"step {step}")


    counts = {}
    for step in range(60):
        words = 300_000 if step == 50 else 12
        count_tokens(" ".join(["w", "x", "y"] * (words // 3)), counts, step)
    print(counts["w"])
"""


def test_a_plain_loop_that_runs_long_goes_back_to_instrumented(sl):
    script = sl.script(LONG_AGAIN)
    captured = sl.capture(script)
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout.split() == [str(4 * 59 + 100_000)]
    loops = _checkpoints(sl)
    # Plain before (at least once in 20 runs, on the busiest machine)...
    assert any(len(loops[f"step {s}"]) == 1 for s in range(30, 50)), loops
    # ...and instrumented again after the long run (here: a plain run, or
    # an instrumented one that took long: either way instrumented next).
    assert loops["step 51"] == [51, 0]


CRASH = """
    def mean_length(words, step):
        total = 0.0
        for word in words:
            if step == 400 and word == "c":
                raise ValueError(f"bad word at step {step}")
            total += len(word) / len(words)
        return total


    lengths = []
    for step in range(500):
        lengths.append(mean_length(["a", "bb", "c", "dd"], step))
    print(sum(lengths))
"""


def test_exception_inside_a_plain_loop_keeps_traceback_and_crash_snapshot(sl):
    script = sl.script(CRASH)
    plain = sl.plain(script)
    # --no-loop-metrics: `total` is not read at every iteration, so the
    # loop may run plain (a loop with metrics stays instrumented).
    captured = sl.capture(script, opts=("--no-loop-metrics",))
    # (stderr may start with the budget's note on a busy machine)
    assert captured.stdout == plain.stdout and captured.stderr.endswith(plain.stderr)
    assert captured.returncode == plain.returncode == 1
    assert f'line {line_of(script, "raise ValueError")}, in mean_length' in captured.stderr
    crash = sl.log()[-1]
    assert crash["trigger"] == "exception"
    assert crash["line"] == line_of(script, "raise ValueError")
    objects = sl.objects("last")
    assert objects["mean_length:step"]["preview"] == "400"
    assert objects["mean_length:word"]["preview"] == "'c'"
    # A plain copy is not on the loop stack the snapshot records.
    assert crash["loops"] in ([400], [400, 2])
