"""`snapline run`'s start-up (issue #16): the store opens on a thread while
the agent imports, with the cyclic collector off until the program runs.
What the program sees and what the store keeps are as before; the cost
itself is a figure (bench/capture_cost_bench.py --only startup), not a test."""

from __future__ import annotations

from conftest import assert_same_output

SEES_THE_COLLECTOR = """
    import gc
    import sys

    print("collector", gc.isenabled(), gc.get_threshold())
    print("argv", sys.argv[1:])
"""


def test_the_program_finds_the_collector_as_python_leaves_it(sl):
    script = sl.script(SEES_THE_COLLECTOR)
    plain = sl.plain(script, "--lr", "0.1")
    captured = sl.capture(script, "--lr", "0.1")
    assert "collector True" in plain.stdout
    assert_same_output(plain, captured)
    run = sl.last_run()
    assert run["status"] == "finished"
    assert run["snapshots"] >= 1


def test_a_syntax_error_leaves_no_run(sl):
    script = sl.script("""
        print("never")
        def broken(:
            pass
    """)
    captured = sl.capture(script)
    assert captured.returncode == 1
    assert "SyntaxError" in captured.stderr and "never" not in captured.stdout
    # The store was opened while the agent imported; the run it began is gone.
    assert sl.runs() == []
    # The next run of a fixed script is the store's only one.
    script.write_text('print("fixed")\n')
    assert sl.capture(script).stdout == "fixed\n"
    assert [r["status"] for r in sl.runs()] == ["finished"]


def test_an_unusable_store_is_said_once_and_the_program_runs(sl, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    script = sl.script('print("ran")\n')
    captured = sl.capture(script, store=blocker / "store")
    assert captured.returncode == 0
    assert captured.stdout == "ran\n"
    notes = [line for line in captured.stderr.splitlines() if line.startswith("snapline:")]
    assert len(notes) == 1 and "cannot capture into" in notes[0], captured.stderr
