"""Tests for snapline.rewrite (AST instrumentation of user scripts)."""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import io
import sys
import textwrap
import traceback
import types
from pathlib import Path
from typing import cast

import pytest
from snapline import rewrite

instrument = rewrite.instrument
LoopInfo = rewrite.LoopInfo
Instrumented = rewrite.Instrumented


class Recorder:
    """Fake hook object recording (event, arg) tuples."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def statement(self, lineno: int) -> None:
        self.events.append(("statement", lineno))

    def loop_enter(self, loop_id: int, plain_copy: bool = False) -> None:
        self.events.append(("loop_enter", loop_id))

    def iteration(self, loop_id: int) -> None:
        self.events.append(("iteration", loop_id))

    def loop_done(self, loop_id: int) -> None:
        self.events.append(("loop_done", loop_id))

    def loop_exit(self, loop_id: int) -> None:
        self.events.append(("loop_exit", loop_id))


@pytest.fixture
def rec(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(builtins, "__snapline__", recorder, raising=False)
    return recorder


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def exec_script(code: types.CodeType, ns: dict | None = None) -> dict:
    """Run compiled script code as ``__main__`` (executing it is the point here)."""
    if ns is None:
        ns = {"__name__": "__main__"}
    exec(code, ns)  # noqa: S102
    return ns


def run(source: str, filename: str = "<script>") -> tuple[Instrumented, dict]:
    inst = instrument(source, filename)
    return inst, exec_script(inst.code)


def rewritten(source: str) -> str:
    """The instrumented tree as source text (for structural assertions)."""
    tree = rewrite._parse(source, "<script>")
    rewrite._Rewriter(loops_enabled=True).rewrite_module(tree)
    return ast.unparse(tree)


def loop_events(loop_id: int, iterations: int, *, done: bool = True) -> list[tuple[str, int]]:
    events = [("loop_enter", loop_id)] + [("iteration", loop_id)] * iterations
    if done:
        events.append(("loop_done", loop_id))
    return events + [("loop_exit", loop_id)]


def all_code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from all_code_objects(const)


# ---------------------------------------------------------------------------
# Event sequences


def test_top_level_loop_three_iterations(rec: Recorder) -> None:
    _, ns = run(
        src("""
        total = 0
        for i in range(3):
            total += i
        result = total
    """)
    )
    assert ns["result"] == 3
    assert rec.events == [
        ("statement", 1),
        ("loop_enter", 0),
        ("iteration", 0),
        ("iteration", 0),
        ("iteration", 0),
        ("loop_done", 0),
        ("loop_exit", 0),
        ("statement", 2),
        ("statement", 4),
    ]


def test_nested_loops_in_function(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        def grid(rows, cols):
            cells = []
            for r in range(rows):
                for c in range(cols):
                    cells.append((r, c))
            return cells
        result = grid(2, 2)
    """)
    )
    assert ns["result"] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    inner = loop_events(1, 2)
    assert rec.events == (
        [("statement", 1), ("loop_enter", 0)]
        + [("iteration", 0)]
        + inner
        + [("iteration", 0)]
        + inner
        + [("loop_done", 0), ("loop_exit", 0), ("statement", 7)]
    )
    assert inst.loops == (
        LoopInfo(0, 3, "grid", "for"),
        LoopInfo(1, 4, "grid", "for"),
    )


def test_break_reaches_loop_done_then_exit(rec: Recorder) -> None:
    _, ns = run(
        src("""
        for i in range(10):
            if i == 2:
                break
        else:
            i = -1
        last = i
    """)
    )
    assert ns["last"] == 2
    assert rec.events == loop_events(0, 3) + [("statement", 1), ("statement", 6)]


def test_return_inside_loop_skips_loop_done(rec: Recorder) -> None:
    _, ns = run(
        src("""
        def find(xs, target):
            for i, x in enumerate(xs):
                if x == target:
                    return i
            return -1
        found = find([5, 6, 7], 6)
        missing = find([], 1)
    """)
    )
    assert (ns["found"], ns["missing"]) == (1, -1)
    assert rec.events == (
        [("statement", 1)]
        + loop_events(0, 2, done=False)
        + [("statement", 6)]
        + loop_events(0, 0)
        + [("statement", 7)]
    )


def test_exception_escaping_loop(rec: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "boom.py"
    path.write_text(
        src("""
        def boom(n):
            for i in range(n):
                if i == 1:
                    raise KeyError(i)
        boom(3)
    """)
    )
    inst = instrument(path.read_text(), str(path))
    with pytest.raises(KeyError) as excinfo:
        exec_script(inst.code)
    assert rec.events == [("statement", 1)] + loop_events(0, 2, done=False)
    frames = traceback.extract_tb(excinfo.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno, frames[-1].name) == (str(path), 4, "boom")
    assert frames[-1].line == "raise KeyError(i)"
    assert (frames[-2].lineno, frames[-2].line) == (5, "boom(3)")


def test_continue_passes_iteration_hook(rec: Recorder) -> None:
    _, ns = run(
        src("""
        odd = []
        for i in range(4):
            if i % 2 == 0:
                continue
            odd.append(i)
    """)
    )
    assert ns["odd"] == [1, 3]
    assert rec.events == [("statement", 1)] + loop_events(0, 4) + [("statement", 2)]


def test_while_loops_with_else(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        n = 0
        while n < 2:
            n += 1
        else:
            completed = True
        k = 0
        while True:
            k += 1
            if k == 2:
                break
        else:
            completed_too = True
    """)
    )
    assert ns["completed"] is True
    assert "completed_too" not in ns
    assert rec.events == (
        [("statement", 1)]
        + loop_events(0, 2)
        + [("statement", 2), ("statement", 6)]
        + loop_events(1, 2)
        + [("statement", 7)]
    )
    assert [loop.kind for loop in inst.loops] == ["while", "while"]


def test_loop_iterable_raising_calls_loop_exit(rec: Recorder) -> None:
    with pytest.raises(TypeError):
        run("for x in None:\n    pass\n")
    assert rec.events == [("loop_enter", 0), ("loop_exit", 0)]


# ---------------------------------------------------------------------------
# What is and is not instrumented


def test_generator_loops_not_instrumented(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        def gen(n):
            for i in range(n):
                yield i * 2
        def delegating():
            while True:
                yield from gen(2)
                return
        def lambda_yield_is_not_mine():
            f = lambda: (yield)
            for i in range(2):
                pass
            return f
        def outer_gen():
            def helper():
                for i in range(2):
                    pass
                return 1
            yield helper()
        values = list(gen(3))
        more = list(delegating())
        lambda_yield_is_not_mine()
        helped = list(outer_gen())
    """)
    )
    assert inspect.isgeneratorfunction(ns["gen"])
    assert not inspect.isgeneratorfunction(ns["lambda_yield_is_not_mine"])
    assert ns["values"] == [0, 2, 4]
    assert ns["more"] == [0, 2]
    assert ns["helped"] == [1]
    assert inst.loops == (
        LoopInfo(0, 10, "lambda_yield_is_not_mine", "for"),
        LoopInfo(1, 15, "outer_gen.<locals>.helper", "for"),
    )
    assert rec.events == [
        ("statement", 1),
        ("statement", 4),
        ("statement", 8),
        ("statement", 13),
        ("statement", 19),
        ("statement", 20),
        *loop_events(0, 2),
        ("statement", 21),
        *loop_events(1, 2),
        ("statement", 22),
    ]


def test_async_code_not_instrumented(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        async def agen():
            for i in range(2):
                yield i
        async def main():
            out = []
            for i in range(2):
                out.append(i)
            async for j in agen():
                out.append(j)
            return out
        coro = main()
        try:
            coro.send(None)
        except StopIteration as stop:
            result = stop.value
    """)
    )
    assert ns["result"] == [0, 1, 0, 1]
    assert inst.loops == ()
    assert not any(event.startswith("loop") or event == "iteration" for event, _ in rec.events)


def test_lambdas_and_comprehensions_untouched(rec: Recorder) -> None:
    source = src("""
        square = lambda x: x * x
        squares = [square(i) for i in range(5)]
        evens = {i for i in range(5) if i % 2 == 0}
        table = {i: [j for j in range(i)] for i in range(3)}
        total = sum(i for i in range(4))
    """)
    inst, ns = run(source)
    assert ns["squares"] == [0, 1, 4, 9, 16]
    assert ns["evens"] == {0, 2, 4}
    assert ns["table"] == {0: [], 1: [0], 2: [0, 1]}
    assert ns["total"] == 6
    assert inst.loops == ()
    assert rec.events == [("statement", line) for line in range(1, 6)]
    for code in all_code_objects(inst.code):
        if code is not inst.code:
            assert rewrite.HOOK_NAME not in code.co_names, code.co_name
    # Structurally: only the five statement hooks were added.
    assert rewritten(source).count(rewrite.HOOK_NAME) == 5


def test_class_body_loop(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        class Table:
            '''Rows.'''
            rows = []
            for i in range(2):
                rows.append(i)
    """)
    )
    assert ns["Table"].rows == [0, 1]
    assert ns["Table"].__doc__ == "Rows."
    assert inst.loops == (LoopInfo(0, 4, "Table", "for"),)
    assert rec.events == loop_events(0, 2) + [("statement", 1)]


def test_method_loops_and_qualnames(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        class Trainer:
            def __init__(self, epochs):
                self.epochs = epochs
                self.seen = []

            def fit(self):
                for epoch in range(self.epochs):
                    self.step(epoch)
                return super().__repr__() is not None

            def step(self, epoch):
                def inner():
                    k = 0
                    while k < 1:
                        k += 1
                    return k
                self.seen.append((epoch, inner()))
                return inner

            class Nested:
                def go(self):
                    for _ in range(1):
                        pass

        trainer = Trainer(2)
        ok = trainer.fit()
    """)
    )
    assert ns["ok"] is True
    assert ns["trainer"].seen == [(0, 1), (1, 1)]
    trainer_cls = ns["Trainer"]
    inner = ns["trainer"].step(5)
    assert inst.loops == (
        LoopInfo(0, 7, trainer_cls.fit.__qualname__, "for"),
        LoopInfo(1, 14, inner.__qualname__, "while"),
        LoopInfo(2, 22, trainer_cls.Nested.go.__qualname__, "for"),
    )
    assert [loop.function for loop in inst.loops] == [
        "Trainer.fit",
        "Trainer.step.<locals>.inner",
        "Trainer.Nested.go",
    ]
    epoch_events = [("iteration", 0)] + loop_events(1, 1)
    assert rec.events == (
        [("statement", 1), ("statement", 25), ("loop_enter", 0)]
        + epoch_events * 2
        + [("loop_done", 0), ("loop_exit", 0), ("statement", 26)]
        + loop_events(1, 1)
    )


def test_loop_info_table(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        import functools
        for a in range(1):
            while False:
                pass
        def main():
            def inner():
                for b in range(1):
                    pass
            class Local:
                for c in range(1):
                    pass
                def meth(self):
                    while False:
                        pass
            inner()
            return Local
        if __name__ == "__main__":
            with open(__file__ if "__file__" in globals() else "/dev/null"):
                for d in range(1):
                    pass
            Local = main()
        def outer():
            global moved
            def moved():
                for e in range(1):
                    pass
        @functools.lru_cache(maxsize=None)
        def cached():
            while False:
                pass
    """)
    )
    assert inst.loops == (
        LoopInfo(0, 2, "<module>", "for"),
        LoopInfo(1, 3, "<module>", "while"),
        LoopInfo(2, 7, "main.<locals>.inner", "for"),
        LoopInfo(3, 10, "main.<locals>.Local", "for"),
        LoopInfo(4, 13, "main.<locals>.Local.meth", "while"),
        LoopInfo(5, 19, "<module>", "for"),
        LoopInfo(6, 25, "moved", "for"),
        LoopInfo(7, 29, "cached", "while"),
    )
    assert ns["Local"].meth.__qualname__ == "main.<locals>.Local.meth"
    ns["outer"]()
    assert ns["moved"].__qualname__ == "moved"
    assert all(loop.loop_id == i for i, loop in enumerate(inst.loops))


# ---------------------------------------------------------------------------
# Statement hooks


def test_main_guard_body_gets_statement_hooks(rec: Recorder) -> None:
    _, ns = run(
        src("""
        def main():
            return 42
        if __name__ == "__main__":
            answer = main()
            doubled = answer * 2
        else:
            answer = None
    """)
    )
    assert ns["doubled"] == 84
    assert rec.events == [
        ("statement", 1),
        ("statement", 4),
        ("statement", 5),
        ("statement", 3),
    ]


def test_try_with_and_nested_blocks_at_top_level(rec: Recorder) -> None:
    _, ns = run(
        src("""
        import contextlib
        try:
            a = 1
            raise ValueError(a)
        except ValueError:
            b = 2
        else:
            c = 3
        finally:
            d = 4
        with contextlib.nullcontext():
            if True:
                e = 5
    """)
    )
    assert (ns["a"], ns["b"], ns["d"], ns["e"]) == (1, 2, 4, 5)
    assert rec.events == [
        ("statement", 1),
        ("statement", 3),
        ("statement", 6),
        ("statement", 10),
        ("statement", 2),
        ("statement", 13),
        ("statement", 12),
        ("statement", 11),
    ]


def test_no_hook_after_terminal_statements() -> None:
    text = rewritten(
        src("""
        if True:
            x = 1
            raise SystemExit(0)
        for i in range(3):
            if i:
                continue
            break
    """)
    )
    assert "raise SystemExit(0)\n    __snapline__" not in text
    assert text.count("__snapline__.statement(") == 3  # x = 1, the if, the for
    assert "continue\n        __snapline__" not in text


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs 3.10")
def test_match_cases_are_top_level(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        command = "go"
        match command:
            case "go":
                x = 1
                for i in range(1):
                    pass
            case _:
                x = 2
    """)
    )
    assert ns["x"] == 1
    assert inst.loops == (LoopInfo(0, 5, "<module>", "for"),)
    assert rec.events == (
        [("statement", 1), ("statement", 4)]
        + loop_events(0, 1)
        + [("statement", 5), ("statement", 2)]
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* needs 3.11")
def test_try_star_blocks_are_top_level(rec: Recorder) -> None:
    _, ns = run(
        src("""
        try:
            raise ExceptionGroup("g", [ValueError(1)])
        except* ValueError:
            handled = True
    """)
    )
    assert ns["handled"] is True
    assert rec.events == [("statement", 4), ("statement", 1)]


def test_decorated_statement_reports_first_decorator_line(rec: Recorder) -> None:
    run(
        src("""
        import functools
        @functools.lru_cache(maxsize=None)
        @(lambda fn: fn)
        def f():
            return 1
        class_marker = 1
    """)
    )
    assert rec.events == [("statement", 1), ("statement", 2), ("statement", 6)]


def test_hook_not_in_script_globals(rec: Recorder) -> None:
    _, ns = run("x = 1\n")
    assert "__snapline__" not in ns
    assert rec.events == [("statement", 1)]


# ---------------------------------------------------------------------------
# Preserving the script's semantics


def test_future_import_and_module_docstring(rec: Recorder) -> None:
    source = src('''
        """Module doc."""
        from __future__ import annotations
        from __future__ import division

        def f(x: Undefined) -> int:
            return x
        y = f(1)
    ''')
    _, ns = run(source)
    assert ns["__doc__"] == "Module doc."
    assert ns["f"].__annotations__ == {"x": "Undefined", "return": "int"}
    assert rec.events == [("statement", 5), ("statement", 7)]
    head = ast.parse(rewritten(source)).body[:4]
    assert [type(node) for node in head] == [
        ast.Expr,
        ast.ImportFrom,
        ast.ImportFrom,
        ast.FunctionDef,
    ]


def test_caller_future_flags_do_not_leak(rec: Recorder) -> None:
    # This test module and rewrite.py both use `from __future__ import annotations`.
    _, ns = run("def f(x: int) -> str:\n    return str(x)\n")
    assert ns["f"].__annotations__ == {"x": int, "return": str}
    assert ns.get("__doc__") is None


def test_function_docstrings_signatures_and_closures(rec: Recorder) -> None:
    _, ns = run(
        src('''
        import functools
        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs)
            return wrapper
        @deco
        def f(a, b=2, *args, c, d=4, **kw):
            """F doc."""
            for i in range(1):
                pass
            return a + b + c
        class C:
            """C doc."""
            def m(self):
                """M doc."""
                while False:
                    pass
        async def coro():
            """Async doc."""
        def make():
            total = 0
            def add(n):
                """Add doc."""
                nonlocal total
                for i in range(n):
                    total += i
                return total
            return add
        adder = make()
        adder(3)
        after = adder(3)
    ''')
    )
    f = ns["f"]
    assert f.__doc__ == "F doc."
    assert f.__name__ == "f"
    assert str(inspect.signature(f)) == "(a, b=2, *args, c, d=4, **kw)"
    assert f(1, c=3) == 6
    assert ns["C"].__doc__ == "C doc."
    assert ns["C"].m.__doc__ == "M doc."
    assert ns["coro"].__doc__ == "Async doc."
    assert ns["adder"].__doc__ == "Add doc."
    assert ns["adder"].__qualname__ == "make.<locals>.add"
    assert ns["adder"].__code__.co_freevars == ("total",)
    assert ns["after"] == 6


def test_global_statement_in_function_with_loop(rec: Recorder) -> None:
    inst, ns = run(
        src("""
        counter = 0
        def bump(n):
            global counter
            for _ in range(n):
                counter += 1
            return counter
        bump(3)
    """)
    )
    assert ns["counter"] == 3
    assert inst.loops == (LoopInfo(0, 4, "bump", "for"),)
    assert rec.events == [("statement", 1), ("statement", 2)] + loop_events(0, 3) + [
        ("statement", 7)
    ]


def test_stdout_identical_with_and_without_instrumentation(rec: Recorder) -> None:
    source = src('''
        """A small training-like script."""
        import sys
        history = []

        class Model:
            def __init__(self):
                self.w = 0.0

            def step(self, x):
                self.w += 0.5 * x
                return self.w

        def train(epochs, data):
            model = Model()
            for epoch in range(epochs):
                loss = 0.0
                for i, x in enumerate(data):
                    if i == 2:
                        continue
                    loss += model.step(x)
                print(f"epoch {epoch}: loss={loss:.2f}")
                history.append(loss)
            return model

        def countdown(n):
            while n:
                yield n
                n -= 1

        if __name__ == "__main__":
            model = train(3, [1, 2, 3, 4])
            print("w =", model.w, file=sys.stdout)
            print(list(countdown(3)), [k * k for k in range(4)])
            try:
                for k in range(5):
                    if k == 3:
                        raise RuntimeError(k)
            except RuntimeError as exc:
                print("caught", exc)
            print(__doc__, __name__)
    ''')

    def capture(code: types.CodeType) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec_script(code)
        return out.getvalue()

    plain = capture(compile(source, "<script>", "exec", dont_inherit=True))
    instrumented = capture(instrument(source, "<script>").code)
    assert instrumented == plain
    assert "epoch 2" in plain
    assert rec.events  # hooks did run


def test_traceback_lines_match_uninstrumented(rec: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(
        src("""
        import math


        def outer(values):
            def scale(v):
                # a comment to shift things around
                return math.sqrt(
                    v
                )
            out = []
            for v in values:
                out.append(scale(v))
            return out


        if __name__ == "__main__":
            result = outer([4, 1, -1])
    """)
    )
    source = path.read_text()

    def failing_frames(code: types.CodeType) -> list[tuple]:
        with pytest.raises(ValueError) as excinfo:
            exec_script(code, {"__name__": "__main__", "__file__": str(path)})
        frames = [
            f for f in traceback.extract_tb(excinfo.value.__traceback__) if f.filename == str(path)
        ]
        return [
            (
                f.name,
                f.lineno,
                f.line,
                getattr(f, "end_lineno", None),
                getattr(f, "colno", None),
                getattr(f, "end_colno", None),
            )
            for f in frames
        ]

    plain = failing_frames(compile(source, str(path), "exec", dont_inherit=True))
    instrumented = failing_frames(instrument(source, str(path)).code)
    assert instrumented == plain
    assert [frame[:2] for frame in plain] == [("<module>", 17), ("outer", 12), ("scale", 7)]


def test_bytes_source_with_encoding_cookie(rec: Recorder) -> None:
    inst = instrument(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n", "<bytes>")
    ns = exec_script(inst.code)
    assert ns["s"] == "\xe9"
    assert rec.events == [("statement", 2)]


# ---------------------------------------------------------------------------
# Syntax errors


SYNTAX_ERRORS = [
    "x = (1,\n",
    "def f(:\n    pass\n",
    "for x in range(3):\nprint(x)\n",
    "if True:\n        x = 1\n    y = 2\n",
    "x = 1 +\n",
    "print 'hello'\n",
    "return 1\n",
    "x = 1\nbreak\n",
    "x = 1\nfor i in range(2):\n    pass\ncontinue\n",
    "def f():\n    x = 1\n    global x\n",
    "nonlocal x\n",
    "class C:\n    yield 1\n",
    "x = 1\nfrom __future__ import annotations\n",
    '"""doc"""\nfrom __future__ import braces\n',
    "def f():\n    for i in range(2):\n        pass\n    await g()\n",
    "def f(a, a):\n    pass\n",
    "f(**k, *a)\n",
    "x = 1\n\tif x:\n",
    b"x = '\xff'\n",
]


@pytest.mark.parametrize("source", SYNTAX_ERRORS, ids=range(len(SYNTAX_ERRORS)))
def test_syntax_error_matches_compile(source: str | bytes) -> None:
    filename = "/some/where/script.py"
    with pytest.raises(SyntaxError) as expected:
        compile(source, filename, "exec", dont_inherit=True)
    with pytest.raises(SyntaxError) as actual:
        instrument(source, filename)
    want, got = expected.value, actual.value
    assert type(got) is type(want)
    for attr in ("msg", "lineno", "offset", "filename", "text", "end_lineno", "end_offset", "args"):
        assert getattr(got, attr, None) == getattr(want, attr, None), attr
    assert got.__context__ is None
    assert got.__cause__ is None


# ---------------------------------------------------------------------------
# Robustness


def test_deep_nesting_still_compiles(rec: Recorder) -> None:
    depth = 15
    lines = ["def deep():", "    count = 0"]
    for level in range(depth):
        lines.append("    " * (level + 1) + f"for i{level} in range(1):")
    lines.append("    " * (depth + 1) + "count += 1")
    lines += ["    return count", "result = deep()", ""]
    inst, ns = run("\n".join(lines))
    assert ns["result"] == 1
    assert 1 <= len(inst.loops) < depth
    # The outermost loops are the ones kept.
    assert [loop.lineno for loop in inst.loops] == list(range(3, 3 + len(inst.loops)))


def test_fallback_when_instrumented_tree_does_not_compile(
    rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rewrite, "_MAX_BLOCK_DEPTH", 1000)
    depth = 15
    lines = ["def deep():", "    count = 0"]
    for level in range(depth):
        lines.append("    " * (level + 1) + f"for i{level} in range(1):")
    lines.append("    " * (depth + 1) + "count += 1")
    lines += ["    return count", "result = deep()", ""]
    inst, ns = run("\n".join(lines))
    assert ns["result"] == 1
    assert inst.loops == ()
    assert rec.events == [("statement", 1), ("statement", depth + 5)]


def test_instrumented_code_has_no_deprecated_ast_usage() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        instrument("for i in range(2):\n    pass\nx = 1\n", "<script>")


def test_loops_list_the_names_their_bodies_assign():
    from snapline.rewrite import instrument

    source = textwrap.dedent("""
        def train(loader, epochs):
            best = None
            for epoch in range(epochs):
                running = 0.0
                for i, (x, y) in enumerate(loader):
                    loss = x * y
                    running += loss
                    (acc := loss / 2)
                    def closure():
                        inner_only = 1
                        return inner_only
                    squares = [z * z for z in range(3)]
                val_loss, val_acc = running, acc
                __private__ = 1
            return best
    """)
    loops = instrument(source, "<t>").loops
    outer, inner = loops
    # Loop targets, nested scopes (and the names of defs) and dunder names
    # are left out.
    assert outer.assigned == ("running", "loss", "acc", "squares", "val_loss", "val_acc")
    assert inner.assigned == ("loss", "running", "acc", "squares")


# ---------------------------------------------------------------------------
# Plain copies of innermost loops (issue #16)


def _loop(source: str) -> rewrite.Loop:
    """The first loop statement of `source`."""
    found = next(node for node in ast.walk(ast.parse(src(source)))
                 if isinstance(node, (ast.For, ast.While)))
    return cast(rewrite.Loop, found)


@pytest.mark.parametrize(("source", "eligible"), [
    ("for x in xs:\n    total += x\n", True),
    ("while n > 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n", True),
    (("for x in xs:\n    if x:\n        try:\n            f(x)\n        except KeyError:\n"
      "            break\nelse:\n    done()\n"), True),
    ("for x in xs:\n    ys = [y * 2 for y in x]\n    key = sorted(ys, key=lambda v: -v)\n", True),
    ("for x in xs:\n    for y in x:\n        pass\n", False),
    ("for x in xs:\n    if x:\n        while x:\n            x -= 1\n", False),
    ("for x in xs:\n    pass\nelse:\n    for y in ys:\n        pass\n", False),
    ("for x in xs:\n    def f():\n        return x\n", False),
    ("for x in xs:\n    class C:\n        pass\n", False),
    ("for x in xs:\n    yield x\n", False),
    ("for x in xs:\n    await x\n", False),
])
def test_plain_copy_eligibility(source: str, eligible: bool) -> None:
    assert rewrite.plain_copy_eligible(_loop(source)) is eligible


def test_only_innermost_loops_get_a_plain_copy() -> None:
    text = rewritten(src("""
        def train(batches):
            for batch in batches:
                for x in batch:
                    print(x)
    """))
    # The outer loop encloses one: instrumented only, as before.
    assert "__snapline__.loop_enter(0)\n" in text
    assert "if __snapline__.loop_enter(1, True):" in text
    assert text.count("__snapline__.loop_exit_plain(1)") == 1
    assert text.count("print(x)") == 2  # the plain copy and the instrumented form


class PlainRecorder(Recorder):
    """Runs every loop that has a plain copy plainly."""

    def loop_enter(self, loop_id: int, plain_copy: bool = False) -> bool:  # type: ignore[override]
        self.events.append(("loop_enter", loop_id))
        return plain_copy

    def loop_exit_plain(self, loop_id: int) -> None:
        self.events.append(("loop_exit_plain", loop_id))


SHORT_LOOPS = """
    def collatz(n):
        steps = 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        else:
            steps += 100
        return steps


    def first_even(xs):
        for x in xs:
            if x % 2 == 0:
                return x
        return None


    results = []
    for n in (6, 7, 27):
        results.append((collatz(n), first_even([n, n + 1])))
"""


def test_plain_copies_run_the_same_program(monkeypatch: pytest.MonkeyPatch) -> None:
    instrumented = Recorder()
    monkeypatch.setattr(builtins, "__snapline__", instrumented, raising=False)
    _, ns = run(src(SHORT_LOOPS))
    plain = PlainRecorder()
    monkeypatch.setattr(builtins, "__snapline__", plain, raising=False)
    _, plain_ns = run(src(SHORT_LOOPS))
    assert plain_ns["results"] == ns["results"] == [(108, 6), (116, 8), (211, 28)]
    assert ("iteration", 0) in instrumented.events
    # Plain: no iteration hooks in the copies; every plain entry is paired
    # with loop_exit_plain (also when left by return); the top-level loop
    # encloses calls, not loops, so it has a copy too.
    inner = [e for e in plain.events if e[1] in (0, 1)]
    assert ("iteration", 0) not in inner and ("iteration", 1) not in inner
    assert inner.count(("loop_enter", 0)) == inner.count(("loop_exit_plain", 0)) == 3
    assert inner.count(("loop_enter", 1)) == inner.count(("loop_exit_plain", 1)) == 3


def test_exception_in_a_plain_copy_shows_the_users_line(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prep.py"
    path.write_text(src("""
        def ratios(pairs):
            out = []
            for a, b in pairs:
                out.append(a / b)
            return out


        ratios([(1, 2), (3, 0)])
    """))
    recorder = PlainRecorder()
    monkeypatch.setattr(builtins, "__snapline__", recorder, raising=False)
    with pytest.raises(ZeroDivisionError) as excinfo:
        exec_script(instrument(path.read_text(), str(path)).code,
                    {"__name__": "__main__", "__file__": str(path)})
    frames = [(f.name, f.lineno, f.line) for f in traceback.extract_tb(excinfo.value.__traceback__)
              if f.filename == str(path)]
    assert frames == [("<module>", 8, "ratios([(1, 2), (3, 0)])"),
                      ("ratios", 4, "out.append(a / b)")]
    assert recorder.events[-1] == ("loop_exit_plain", 0)


def test_plain_copy_within_the_block_depth_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # 13 nested `with` blocks, the try/finally and the loop: 15 blocks of
    # CPython's 20, in both forms (the `if` choosing between them adds none).
    depth = 13
    lines = ["import contextlib", "def deep(xs):", "    total = 0"]
    for level in range(depth):
        lines.append("    " * (level + 1) + "with contextlib.nullcontext():")
    lines += ["    " * (depth + 1) + "for x in xs:", "    " * (depth + 2) + "total += x",
              "    return total", "result = deep([1, 2, 3])", ""]
    for recorder in (Recorder(), PlainRecorder()):
        monkeypatch.setattr(builtins, "__snapline__", recorder, raising=False)
        inst, ns = run("\n".join(lines))
        assert ns["result"] == 6
        assert [loop.lineno for loop in inst.loops] == [depth + 4]
    assert "if __snapline__.loop_enter(0, True):" in rewritten("\n".join(lines))


def test_clone_copies_a_tree_as_deepcopy_does() -> None:
    import copy

    source = textwrap.dedent("""
        import numpy as np
        for i, (a, *b) in enumerate(zip(x, y)):
            if a is not None and a > 0.5 or not b:
                d = {k: v ** 2 for k, v in b if k}
                s[1:2, ...] = f"{a!r:>{w}}" + b"\\x00".decode()
            global g
            del d[0]
        else:
            lambda *args, z=3, **kw: (yield from args)
    """)
    if sys.version_info >= (3, 10):
        source += textwrap.dedent("""
            match a:
                case {"k": [1, *rest]} | Point(x=0, y=[*rest]) as p if p:
                    pass
        """)
    tree = ast.parse(source)
    copied = rewrite.clone(tree)
    assert ast.dump(copied, include_attributes=True) == \
        ast.dump(copy.deepcopy(tree), include_attributes=True)
    originals = {id(n) for n in ast.walk(tree)}
    assert not originals & {id(n) for n in ast.walk(copied)
                            if not isinstance(n, (ast.expr_context, ast.operator, ast.boolop,
                                                  ast.cmpop, ast.unaryop))}
    compile(copied, "<clone>", "exec")
