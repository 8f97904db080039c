"""Instrument a user script's AST with Snapline hook calls at safe points.

``python -m snapline run train.py`` executes the script unchanged as
``__main__``, except that :func:`instrument` has inserted calls to the hook
object reachable as the global name ``__snapline__`` (the runner places it in
``builtins``).  Between hooks the script runs at full speed: no tracing.

Hooks inserted:

* ``__snapline__.statement(LINENO)`` after every module-level statement,
  where "module level" also includes the bodies of top-level ``if``,
  ``with``, ``try`` (all clauses) and ``match`` cases, recursively.  The
  compound statement itself is followed by a hook as well, once it is done.
  No hook follows ``return``/``raise``/``break``/``continue``, the module
  docstring or ``from __future__`` imports.
* Every ``for``/``while`` loop (except in generator functions, in
  ``async def`` functions and ``async for`` loops) becomes::

      __snapline__.loop_enter(LOOP_ID)
      try:
          for TARGET in ITER:
              __snapline__.iteration(LOOP_ID)
              BODY
          else:
              ORELSE
          __snapline__.loop_done(LOOP_ID)
      finally:
          __snapline__.loop_exit(LOOP_ID)

  An innermost loop (no loop, def, class, yield or await in its body
  or ``else``; see :func:`plain_copy_eligible`) is emitted twice, the
  second form being the instrumented one above::

      if __snapline__.loop_enter(LOOP_ID, True):   # True: run it plain this time
          try:
              LOOP                           # the user's loop, untouched
          finally:
              __snapline__.loop_exit_plain(LOOP_ID)
      else:
          try:
              ...                            # as above
          finally:
              __snapline__.loop_exit(LOOP_ID)

  The agent answers True only for a loop whose earlier runs were short
  (agent.Agent.loop_enter): its per-iteration hook then costs nothing.

Every original node keeps its source position, so tracebacks, ``inspect``
and warnings show the user's own lines.
"""

from __future__ import annotations

import ast
import types
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, Union, cast

# What instrumentation produces, in a module of its own so that a run whose
# code comes from the code cache (code_cache.py) never imports this one.
from .instrumented import HOOK_NAME, RESUME_HOOK_NAME, Instrumented, LoopInfo

if TYPE_CHECKING:
    from .restore.continuation import LoopResume

__all__ = ["HOOK_NAME", "RESUME_HOOK_NAME", "Instrumented", "LoopInfo", "TreeRewriter",
           "instrument", "instrument_module", "instrument_tree", "plain_copy_eligible"]

# CPython refuses more than 20 statically nested blocks per code object
# ("too many statically nested blocks"); every instrumented loop adds one
# (its try/finally).  Loops are only instrumented while the approximate block
# depth of the result stays within this budget, which leaves some margin for
# blocks the approximation does not see.
_MAX_BLOCK_DEPTH = 16

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_TERMINAL = (ast.Return, ast.Raise, ast.Break, ast.Continue)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# ast.TryStar (3.11+) has ast.Try's fields: typed as ast.Try.
_TRY_TYPES: tuple[type[ast.Try], ...] = tuple(
    t for t in (getattr(ast, "Try", None), getattr(ast, "TryStar", None)) if t is not None
)
_MATCH: type | None = getattr(ast, "Match", None)  # 3.10+: not in 3.9's stubs
Loop = Union[ast.For, ast.AsyncFor, ast.While]
Scope = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]


def instrument(source: str | bytes, filename: str, first_loop_id: int = 0) -> Instrumented:
    """Parse, rewrite and compile a script for ``exec(code, main_globals)``.

    A syntax error raises exactly the SyntaxError that
    ``compile(source, filename, "exec")`` raises (same message, filename,
    lineno, offset, text).  The user's own ``from __future__`` imports take
    effect; the caller's do not leak in.

    Should the instrumented tree fail to compile although the source itself
    compiles (only conceivable for pathologically deep nesting), the script
    is instrumented with statement hooks only, and failing that returned
    uninstrumented, so that it always runs.
    """
    tree = _parse(source, filename)
    rewriter = _Rewriter(loops_enabled=True, first_loop_id=first_loop_id)
    rewriter.rewrite_module(tree)
    code = _compile_tree(tree, filename, quiet=False)
    if code is not None:
        return Instrumented(code, tuple(rewriter.loops))

    # Compiler-stage errors ('return' outside function, ...) only surface when
    # the tree is compiled.  Report them exactly as the plain source would.
    plain = _compile_source(source, filename)

    # The source is fine, so the instrumentation broke it: degrade gracefully.
    tree = _parse(source, filename)
    _Rewriter(loops_enabled=False).rewrite_module(tree)
    code = _compile_tree(tree, filename, quiet=True)
    return Instrumented(code if code is not None else plain, ())


def instrument_module(source: str | bytes, filename: str, first_loop_id: int) -> Instrumented:
    """Like :func:`instrument`, for a module of the user's project that the
    script imports (project.py): loop hooks only, numbered from
    ``first_loop_id``. Its top-level statements run once, inside the import
    statement of the module importing it, so they get no statement hooks,
    and neither do the loops that run during the import (top level, class
    bodies). Should the instrumented tree not compile, the plain source is
    returned compiled, without loops."""
    tree = _parse(source, filename)
    rewriter = _Rewriter(loops_enabled=True, statements=False, first_loop_id=first_loop_id,
                         import_time_loops=False)
    rewriter.rewrite_module(tree)
    code = _compile_tree(tree, filename, quiet=False)
    if code is not None:
        return Instrumented(code, tuple(rewriter.loops))
    return Instrumented(_compile_source(source, filename), ())


# --------------------------------------------------------------------------
# Compilation helpers


def _compile_source(source: str | bytes, filename: str) -> types.CodeType:
    """Compile the untouched source; raises its SyntaxError, if any.

    Warnings are recorded and dropped (they were already shown by the first
    attempt); filters still apply, so ``-W error`` behaves like plain Python.
    """
    with warnings.catch_warnings(record=True):
        return compile(source, filename, "exec", dont_inherit=True)


def _parse(source: str | bytes, filename: str) -> ast.Module:
    try:
        return cast(ast.Module,
                    compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True))
    except SyntaxError as exc:
        error = exc
    # Raised outside the except clause, so no chained context is attached.
    _compile_source(source, filename)
    raise error  # pragma: no cover - compile() failed on parsing above


def _compile_tree(tree: ast.Module, filename: str, *, quiet: bool) -> types.CodeType | None:
    """The tree compiled; None if it does not compile. The nodes the
    rewriter makes are located (`_hook`, `ast.copy_location`), so the tree
    is compiled as it is first; only where one is not (compile: "required
    field 'lineno' missing") are the gaps filled, a walk of every node that
    took a third of the rewrite's time."""
    try:
        try:
            return _compile_quietly(tree, filename, quiet)
        except (TypeError, ValueError):
            ast.fix_missing_locations(tree)
            return _compile_quietly(tree, filename, quiet)
    except SyntaxError:
        return None


def _compile_quietly(tree: ast.Module, filename: str, quiet: bool) -> types.CodeType:
    if quiet:
        with warnings.catch_warnings(record=True):
            return compile(tree, filename, "exec", dont_inherit=True)
    return compile(tree, filename, "exec", dont_inherit=True)


# --------------------------------------------------------------------------
# AST helpers


def _hook(method: str, arg: int, where: ast.AST, extra: tuple[ast.expr, ...] = ()) -> ast.stmt:
    """Build ``__snapline__.method(arg, *extra)`` located at ``where``."""
    name = ast.Name(id=HOOK_NAME, ctx=ast.Load())
    func = ast.Attribute(value=name, attr=method, ctx=ast.Load())
    const = ast.Constant(value=arg)
    call = ast.Call(func=func, args=[const, *extra], keywords=[])
    stmt = ast.Expr(value=call)
    for node in (name, func, const, call, stmt):
        ast.copy_location(node, where)
    return stmt


_Node = TypeVar("_Node", bound=ast.AST)


def clone(node: _Node) -> _Node:
    """A deep copy of an AST, as `copy.deepcopy` makes it but about four
    times faster: a tree has no shared or cyclic nodes to remember. (Fields
    hold nodes, lists of nodes, names or immutable constants.)"""
    cls = type(node)
    new = cls.__new__(cls)
    fields = new.__dict__
    for key, value in node.__dict__.items():
        if isinstance(value, ast.AST):
            value = clone(value)
        elif type(value) is list:
            value = [clone(v) if isinstance(v, ast.AST) else v for v in value]
        fields[key] = value
    return new


def first_line(stmt: ast.stmt) -> int:
    """First source line of a statement, decorators included."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno] + [d.lineno for d in decorators])


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _prologue_end(body: list[ast.stmt]) -> int:
    """Index of the first statement after the docstring and __future__ imports."""
    i = 1 if body and _is_docstring(body[0]) else 0
    while i < len(body):
        stmt = body[i]
        if not (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
            break
        i += 1
    return i


def _child_blocks(stmt: ast.stmt) -> Iterator[tuple[ast.AST, str, int]]:
    """Statement lists nested in ``stmt`` within the same scope, in source order.

    Yields ``(owner, field, weight)``: ``getattr(owner, field)`` is the list and
    ``weight`` approximates how many compiler blocks enclose it.
    """
    if isinstance(stmt, _LOOPS):
        yield stmt, "body", 1
        yield stmt, "orelse", 0
    elif isinstance(stmt, ast.If):
        yield stmt, "body", 0
        yield stmt, "orelse", 0
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        yield stmt, "body", len(stmt.items)
    elif isinstance(stmt, _TRY_TYPES):
        yield stmt, "body", 3
        for handler in stmt.handlers:
            yield handler, "body", 3
        yield stmt, "orelse", 3
        yield stmt, "finalbody", 3
    elif _MATCH is not None and isinstance(stmt, _MATCH):
        match: Any = stmt
        for case in match.cases:
            yield case, "body", 1


def _max_depth(stmts: list[ast.stmt]) -> int:
    """Approximate deepest block nesting inside ``stmts`` (same scope only)."""
    best = 0
    for stmt in stmts:
        for owner, field, weight in _child_blocks(stmt):
            best = max(best, weight + _max_depth(getattr(owner, field)))
    return best


def _explicit_globals(body: list[ast.stmt]) -> frozenset[str]:
    """Names declared ``global`` directly in this scope (not nested ones)."""
    names: set[str] = set()
    stack = [body]
    while stack:
        for stmt in stack.pop():
            if isinstance(stmt, ast.Global):
                names.update(stmt.names)
            stack.extend(getattr(owner, field) for owner, field, _ in _child_blocks(stmt))
    return frozenset(names)


def assigned_names(loop: Loop) -> tuple[str, ...]:
    """Plain names a loop's body (nested loops included, nested scopes not)
    assigns, in source order, leaving out the targets of `for` statements
    (counters, batches) and dunder names."""
    found: dict[str, None] = {}
    loop_targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (*_SCOPES, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            loop_targets.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.setdefault(node.id, None)
        for child in ast.iter_child_nodes(node):
            visit(child)

    if isinstance(loop, (ast.For, ast.AsyncFor)):
        loop_targets.update(n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name))
    for stmt in (*loop.body, *loop.orelse):
        visit(stmt)
    return tuple(name for name in found
                 if name not in loop_targets and not name.startswith("__"))


_NOT_IN_PLAIN_COPY = (*_LOOPS, *_SCOPES, ast.Yield, ast.YieldFrom, ast.Await)


def plain_copy_eligible(loop: Loop) -> bool:
    """Whether a loop also gets an uninstrumented copy: an innermost loop
    (no ``for``/``while`` in its body or ``else``) with no def or class
    (their own loops are instrumented), no ``yield`` and no ``await``.
    Lambdas and comprehensions are fine: they are never instrumented."""
    return not any(isinstance(node, _NOT_IN_PLAIN_COPY)
                   for stmt in (*loop.body, *loop.orelse) for node in ast.walk(stmt))


class _YieldFinder(ast.NodeVisitor):
    """Detects ``yield`` in the scope being visited, skipping nested scopes.

    Parts of nested scopes that are evaluated in the enclosing scope
    (decorators, defaults, annotations, bases, a comprehension's first
    iterable) are still searched.
    """

    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: ast.Yield | ast.YieldFrom) -> None:
        self.found = True

    visit_YieldFrom = visit_Yield

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in node.decorator_list:
            self.visit(child)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(child)

    def _visit_comprehension(
            self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        self.visit(node.generators[0].iter)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension


def _is_generator(func: ast.FunctionDef) -> bool:
    finder = _YieldFinder()
    for stmt in func.body:
        finder.visit(stmt)
        if finder.found:
            return True
    return False


class _Scope(NamedTuple):
    qualname: str  # "<module>" for the module
    is_module: bool
    is_function: bool
    instrument_loops: bool
    explicit_globals: frozenset[str]

    def child(self, node: Scope, *, is_function: bool, instrument_loops: bool) -> _Scope:
        """Scope of a def/class statement directly inside this scope."""
        name = node.name
        # Mirrors CPython's compiler_set_qualname.
        if self.is_module or name in self.explicit_globals:
            qualname = name
        elif self.is_function:
            qualname = f"{self.qualname}.<locals>.{name}"
        else:
            qualname = f"{self.qualname}.{name}"
        return _Scope(qualname, False, is_function, instrument_loops, _explicit_globals(node.body))


# --------------------------------------------------------------------------
# The rewriter


class _Rewriter:
    """Mutates a parsed module in place; collects the LoopInfo table."""

    def __init__(self, *, loops_enabled: bool, statements: bool = True,
                 first_loop_id: int = 0, import_time_loops: bool = True) -> None:
        self.loops_enabled = loops_enabled
        self.statements = statements
        # Loop ids continue those of files instrumented before (project.py).
        self.first_loop_id = first_loop_id
        # False for imported modules: loops that run while the module is
        # imported (its top level, its class bodies) get no hooks.
        self.import_time_loops = import_time_loops
        self.loops: list[LoopInfo] = []
        self._depth = 0  # approximate block depth in the current code object

    def rewrite_module(self, tree: ast.Module) -> None:
        scope = _Scope("<module>", True, False, self.import_time_loops, frozenset())
        start = _prologue_end(tree.body)
        tree.body = tree.body[:start] + self._block(tree.body[start:], scope, top=True)

    def _block(self, stmts: list[ast.stmt], scope: _Scope, *, top: bool) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            out.extend(self._stmt(stmt, scope, top=top))
            if top and self.statements and not isinstance(stmt, _TERMINAL):
                out.append(_hook("statement", first_line(stmt), stmt))
        return out

    def _nested(
        self, stmts: list[ast.stmt], scope: _Scope, *, top: bool, weight: int
    ) -> list[ast.stmt]:
        self._depth += weight
        try:
            return self._block(stmts, scope, top=top)
        finally:
            self._depth -= weight

    def _stmt(self, stmt: ast.stmt, scope: _Scope, *, top: bool) -> list[ast.stmt]:
        if isinstance(stmt, (ast.For, ast.While)):
            return self._loop(stmt, scope)
        if isinstance(stmt, _SCOPES):
            self._scope(stmt, scope)
            return [stmt]
        inner_top = top and not isinstance(stmt, _LOOPS)
        for owner, field, weight in _child_blocks(stmt):
            setattr(
                owner,
                field,
                self._nested(getattr(owner, field), scope, top=inner_top, weight=weight),
            )
        return [stmt]

    def _scope(self, node: Scope, parent: _Scope) -> None:
        if isinstance(node, ast.ClassDef):
            # A class body at a module's top level (or in such a class) runs on import.
            at_import = not self.import_time_loops and (parent.is_module or (
                not parent.is_function and not parent.instrument_loops))
            scope = parent.child(node, is_function=False, instrument_loops=not at_import)
        else:
            instrument_loops = isinstance(node, ast.FunctionDef) and not _is_generator(node)
            scope = parent.child(node, is_function=True, instrument_loops=instrument_loops)
        saved, self._depth = self._depth, 0
        try:
            # Never inserts before the first statement: docstrings stay first.
            node.body = self._block(node.body, scope, top=False)
        finally:
            self._depth = saved

    def _loop(self, loop: Loop, scope: _Scope) -> list[ast.stmt]:
        resume = getattr(loop, "_snapline_resume", None)
        needed = self._depth + max(2 + _max_depth(loop.body), 1 + _max_depth(loop.orelse))
        enabled = self.loops_enabled and scope.instrument_loops and needed <= _MAX_BLOCK_DEPTH
        if resume is None and not enabled:
            loop.body = self._nested(loop.body, scope, top=False, weight=1)
            loop.orelse = self._nested(loop.orelse, scope, top=False, weight=0)
            return [loop]

        loop_id = self.first_loop_id + len(self.loops)  # assigned before the body: source order
        kind = "while" if isinstance(loop, ast.While) else "for"
        self.loops.append(LoopInfo(loop_id, loop.lineno, scope.qualname, kind,
                                   assigned_names(loop)))
        if resume is not None:
            return self._resumed_loop(loop, loop_id, resume, scope)

        # Copied before the hooks go in; same depth as the instrumented form
        # (an `if` adds no compiler block, the try/finally and loop one each).
        plain = clone(loop) if plain_copy_eligible(loop) else None
        body = self._nested(loop.body, scope, top=False, weight=2)
        loop.body = [_hook("iteration", loop_id, loop)] + body
        loop.orelse = self._nested(loop.orelse, scope, top=False, weight=1)
        wrapper = ast.Try(
            body=[loop, _hook("loop_done", loop_id, loop)],
            handlers=[],
            orelse=[],
            finalbody=[_hook("loop_exit", loop_id, loop)],
        )
        ast.copy_location(wrapper, loop)
        if plain is None:
            return [_hook("loop_enter", loop_id, loop), wrapper]
        # The second argument: this loop has a plain copy to run.
        enter = _hook("loop_enter", loop_id, loop, (ast.copy_location(ast.Constant(True), loop),))
        plain_wrapper = ast.Try(body=[plain], handlers=[], orelse=[],
                                finalbody=[_hook("loop_exit_plain", loop_id, loop)])
        ast.copy_location(plain_wrapper, loop)
        choice = ast.If(test=cast(ast.Expr, enter).value, body=[plain_wrapper], orelse=[wrapper])
        return [ast.copy_location(choice, loop)]

    def _resumed_loop(self, loop: Loop, loop_id: int, resume: LoopResume,
                      scope: _Scope) -> list[ast.stmt]:
        """A loop continued mid-iteration by ``snapline restore --resume``
        (``resume`` is a continuation.LoopResume)::

            __snapline__.loop_resume(LOOP_ID, COUNT, KEY)
            try:
                for __snapline_once__ in (0,):   # `break`/`continue` keep their meaning
                    REMAINDER                    # the rest of iteration COUNT
                else:
                    __snapline_resume__.enter_loop(KEY)        # for loops only
                    for TARGET in __snapline_resume__.skip(KEY, ITER, COUNT + 1):
                        __snapline__.iteration(LOOP_ID)
                        BODY
                    else:
                        ORELSE
                __snapline__.loop_done(LOOP_ID)
            finally:
                __snapline__.loop_exit(LOOP_ID)
        """
        count, key = resume.count, resume.key
        remainder = self._nested(resume.remainder, scope, top=False, weight=3)
        body = self._nested(loop.body, scope, top=False, weight=3)
        loop.body = [_hook("iteration", loop_id, loop)] + body
        loop.orelse = self._nested(loop.orelse, scope, top=False, weight=2)
        rest: list[ast.stmt] = []
        if isinstance(loop, ast.For):
            rest.append(_resume_call("enter_loop", [key], loop))
            loop.iter = ast.copy_location(_resume_expr("skip", [key], loop, extra=[
                loop.iter, ast.Constant(value=count + 1)]), loop.iter)
        rest.append(loop)
        once = ast.For(
            target=ast.Name(id="__snapline_once__", ctx=ast.Store()),
            iter=ast.Tuple(elts=[ast.Constant(value=0)], ctx=ast.Load()),
            body=remainder or [ast.Pass()], orelse=rest, type_comment=None)
        ast.copy_location(once, loop)
        enter = _hook("loop_resume", loop_id, loop,
                      (ast.Constant(value=count), ast.Constant(value=key)))
        wrapper = ast.Try(body=[once, _hook("loop_done", loop_id, loop)], handlers=[],
                          orelse=[], finalbody=[_hook("loop_exit", loop_id, loop)])
        ast.copy_location(wrapper, loop)
        return [enter, wrapper]


class TreeRewriter:
    """Instruments module ASTs in place, one after another (notebook cells);
    loop ids keep counting across them. Nothing is compiled."""

    def __init__(self, *, statements: bool = True) -> None:
        self._rewriter = _Rewriter(loops_enabled=True, statements=statements)

    @property
    def loops(self) -> list[LoopInfo]:
        return self._rewriter.loops

    def rewrite(self, tree: ast.Module, first_loop_id: int | None = None) -> tuple[LoopInfo, ...]:
        """Instruments `tree`; returns the LoopInfo of the loops it added
        (numbered from `first_loop_id` when given: ids other files took in
        between are skipped)."""
        first = len(self._rewriter.loops)
        if first_loop_id is not None:
            self._rewriter.first_loop_id = first_loop_id - first
        self._rewriter.rewrite_module(tree)
        ast.fix_missing_locations(tree)
        return tuple(self._rewriter.loops[first:])


#: Global name of the resume hooks (snapline.restore.resume.Resumer).
def _resume_expr(method: str, args: list[int], where: ast.AST,
                 extra: list[ast.expr] | None = None) -> ast.expr:
    name = ast.Name(id=RESUME_HOOK_NAME, ctx=ast.Load())
    func = ast.Attribute(value=name, attr=method, ctx=ast.Load())
    call = ast.Call(func=func, args=[ast.Constant(value=a) for a in args] + (extra or []),
                    keywords=[])
    for node in (name, func, call):
        ast.copy_location(node, where)
    return call


def _resume_call(method: str, args: list[int], where: ast.AST) -> ast.stmt:
    return ast.copy_location(ast.Expr(value=_resume_expr(method, args, where)), where)


def instrument_tree(tree: ast.Module, filename: str, first_loop_id: int = 0) -> Instrumented:
    """Instrument an already built module (a resume continuation); unlike
    :func:`instrument` there is no fallback: a failure raises SyntaxError."""
    rewriter = _Rewriter(loops_enabled=True, first_loop_id=first_loop_id)
    rewriter.rewrite_module(tree)
    ast.fix_missing_locations(tree)
    code = compile(tree, filename, "exec", dont_inherit=True)
    return Instrumented(code, tuple(rewriter.loops))
