"""The code cache (capture-agent/python/snapline/code_cache.py): a second
run of an unchanged script or project module takes its instrumented code
from the cache; any change to the source is a miss; a damaged entry or an
unusable directory never changes what the program does."""

from __future__ import annotations

import marshal
import textwrap
from pathlib import Path

from conftest import PYTHON, Snapline, assert_same_output, line_of, run

ENGINE = """
def train(epochs):
    total = 0
    for epoch in range(epochs):
        total += epoch
    return total
"""

SCRIPT = """
import engine

losses = []
for step in range(3):
    losses.append(step * 0.5)
print("losses", losses, "total", engine.train(4))
"""


def project(sl: Snapline) -> Path:
    sl.script(ENGINE, name="proj/engine.py")
    return sl.script(SCRIPT, name="proj/train.py")


def entries(cache: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(cache.glob("*.code"))} if cache.exists() else {}


def in_target(source: str, *args: object) -> str:
    """Runs `source` in the interpreter under test (its marshal format and
    bytecode, which may not be this one's) and returns its stdout."""
    done = run([PYTHON, "-c", textwrap.dedent(source), *args])
    assert done.returncode == 0, done.stderr
    return done.stdout


def entry_for(cache: Path, path: Path) -> Path:
    """The one entry whose code was compiled from `path`."""
    found = in_target("""
        import marshal, pathlib, sys
        for p in sorted(pathlib.Path(sys.argv[1]).glob("*.code")):
            if marshal.loads(p.read_bytes())[2].co_filename == sys.argv[2]:
                print(p)
    """, cache, path).split()
    assert len(found) == 1, f"{len(found)} entries for {path}"
    return Path(found[0])


def same_entry(a: bytes, b: bytes) -> bool:
    """Same key, code and loops (marshal's bytes may differ from run to
    run in their reference flags, as 3.13's do)."""
    return in_target("""
        import marshal, sys
        a, b = (marshal.loads(bytes.fromhex(h)) for h in sys.argv[1:])
        print(a == b)
    """, a.hex(), b.hex()).strip() == "True"


def test_a_second_run_takes_script_and_modules_from_the_cache(sl, tmp_path):
    cache = tmp_path / "cache"
    env = {"SNAPLINE_CODE_CACHE": str(cache)}
    script = project(sl)
    plain = sl.plain(script)
    first = sl.capture(script, env=env)
    assert_same_output(plain, first)
    written = entries(cache)
    assert len(written) == 2, written.keys()  # the script and engine.py
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in written)
    assert oct(cache.stat().st_mode)[-3:] == "700"

    second = sl.capture(script, env=env)
    assert_same_output(plain, second)
    assert entries(cache) == written  # read, not written again
    # The cached code's loops are the agent's: its iterations were snapshotted.
    loop_line = line_of(script, "for step in")
    assert [r for r in sl.log() if r["trigger"] == "iteration" and r["line"] == loop_line]

    # What runs is the cached code: an entry holding other code (same key)
    # is what the next run executes.
    entry = entry_for(cache, script)
    in_target("""
        import marshal, sys
        with open(sys.argv[1], "rb") as f:
            fmt, key, code, loops = marshal.load(f)
        planted = compile('print("from the cache")', code.co_filename, "exec")
        with open(sys.argv[1], "wb") as f:
            marshal.dump((fmt, key, planted, loops), f)
    """, entry)
    done = sl.capture(script, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from the cache\n"


def test_a_changed_script_or_module_is_instrumented_again(sl, tmp_path):
    cache = tmp_path / "cache"
    env = {"SNAPLINE_CODE_CACHE": str(cache)}
    script = project(sl)
    assert sl.capture(script, env=env).returncode == 0
    before = entries(cache)

    engine = script.parent / "engine.py"
    engine.write_text(ENGINE.replace("total += epoch", "total += 10 * epoch"))
    done = sl.capture(script, env=env)
    assert_same_output(sl.plain(script), done)
    assert "total 60" in done.stdout
    after = entries(cache)
    assert len(after) == 3 and set(before) < set(after)

    script.write_text(SCRIPT.replace("step * 0.5", "step * 2"))
    done = sl.capture(script, env=env)
    assert "losses [0, 2, 4]" in done.stdout
    assert len(entries(cache)) == 4


def test_a_damaged_entry_is_a_miss_and_is_written_again(sl, tmp_path):
    cache = tmp_path / "cache"
    env = {"SNAPLINE_CODE_CACHE": str(cache)}
    script = project(sl)
    assert sl.capture(script, env=env).returncode == 0
    entry = entry_for(cache, script)
    good = entry.read_bytes()
    for damaged in (b"", good[: len(good) // 2], b"\x00" * 64, marshal.dumps(("other", 1))):
        entry.write_bytes(damaged)
        done = sl.capture(script, env=env)
        assert_same_output(sl.plain(script), done)
        assert same_entry(entry.read_bytes(), good)  # written again


def test_compile_warnings_show_at_every_run_and_are_not_cached(sl, tmp_path):
    cache = tmp_path / "cache"
    env = {"SNAPLINE_CODE_CACHE": str(cache)}
    script = sl.script("""
        x = 1
        if x is 1:
            print("one")
    """)
    plain = sl.plain(script)
    assert "SyntaxWarning" in plain.stderr
    for _ in range(2):
        done = sl.capture(script, env=env)
        assert done.stdout == plain.stdout
        assert done.stderr == plain.stderr
    assert entries(cache) == {}

    # `-W error` still turns the warning into the plain run's SyntaxError.
    strict = run([PYTHON, "-W", "error", script])
    captured = run([PYTHON, "-W", "error", "-m", "snapline", "run", "--store", sl.store,
                    script], env=env)
    assert strict.returncode == captured.returncode == 1
    assert strict.stderr.splitlines()[-1] == captured.stderr.splitlines()[-1]


def test_an_unusable_cache_changes_nothing(sl, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache's parent should be")
    script = project(sl)
    plain = sl.plain(script)
    for setting in (str(blocker / "code"), "0"):
        done = sl.capture(script, env={"SNAPLINE_CODE_CACHE": setting,
                                       "XDG_CACHE_HOME": str(tmp_path / "xdg")})
        assert_same_output(plain, done)
        assert sl.last_run()["status"] == "finished"
    assert blocker.read_text().startswith("a file")
    assert not (tmp_path / "xdg").exists()  # `0`: nothing written anywhere
