"""Build the code that continues a script from a snapshot's position.

A snapshot's position is the chain of the script's frames (module first)
with the line each was at, and the enclosing loops with their counts. The
continuation is the script's own source, reshaped so that execution starts
where the snapshot was taken:

* module level: the re-run statements before the position (rerun.py: imports,
  defs and classes, then, once the variables are back, settings), then the
  statement the program was in, then the rest of the script;
* every function frame on the way: the function's body gets a first branch,
  taken by the one call that re-enters it, which binds the frame's locals
  from the snapshot and continues from the statement the frame was at
  (a call into the next frame is run again; its arguments are re-evaluated);
* an interrupted loop continues mid-iteration: the rest of the current
  iteration runs, then the loop goes on from the next item (rewrite.py turns
  the marked loop into that; resume.py re-creates its iterator with the
  random state it started with and skips the items already consumed).

Statements that already ran are not run again, except the re-run ones; their
results are the snapshot's variables.
"""

from __future__ import annotations

import ast
import copy
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union, cast

from ..rewrite import first_line
from ..values import JsonObject
from . import rerun
from .snapshot import RestoreError, frame_prefixes

#: Name of the resume hooks in builtins (the capture hooks are `__snapline__`).
RESUME_HOOK = "__snapline_resume__"
#: The attribute of a loop node that holds its LoopResume (rewrite.py reads it).
RESUME_ATTR = "_snapline_resume"

Block = list[ast.stmt]
#: Which statement list of a statement: "body", "orelse", "finalbody",
#: ("handler", i), ("case", i); None: the statement itself.
Where = Union[str, tuple[str, int], None]
#: From a scope's body to a statement: (block, index in it, where inside it).
Path = list[tuple[Block, int, Where]]
Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]

# Context managers that are safe to enter again (they hold no resource).
_SAFE_CONTEXTS = frozenset({
    "torch.no_grad", "torch.enable_grad", "torch.inference_mode", "torch.set_grad_enabled",
    "torch.autocast", "torch.cuda.amp.autocast", "torch.cpu.amp.autocast",
    "torch.autograd.set_detect_anomaly", "torch.autograd.detect_anomaly",
    "numpy.errstate", "warnings.catch_warnings", "contextlib.suppress",
    "contextlib.nullcontext", "torch.random.fork_rng",
})


@dataclass
class LoopResume:
    """Attached to a loop node (`_snapline_resume`): continue it mid-iteration."""

    count: int  # the iteration the snapshot was in (items consumed - 1)
    remainder: list[ast.stmt]  # statements left of that iteration
    key: int  # index of the loop in the snapshot's position (its entry RNG)


@dataclass
class FramePlan:
    key: int  # index in the position's frames (module is 0)
    prefix: str  # the snapshot's name for the frame's locals ("train", "f#2")
    name: str
    def_line: int
    local_names: list[str] = field(default_factory=list)


@dataclass
class Plan:
    module: ast.Module  # the continuation, before instrumentation
    frames: list[FramePlan]  # for each function frame, outermost first
    inexact: list[str]  # reasons the continuation may not match the original run
    statement: str  # what the innermost frame does first, for the message


def build(source: str | bytes, filename: str, position: JsonObject, trigger: str,
          line: int | None = None, rebind: dict[int, set[str]] | None = None) -> Plan:
    """The continuation from `position` (a snapshot's); `line` is the
    snapshot's own line (the first line of the statement a `statement`
    snapshot follows). `rebind` maps a frame's index to names the snapshot
    could not restore: assignments to them before the position are run
    again (with --force: `log = open(...)` opens the file again)."""
    tree = ast.parse(source, filename)
    aliases = rerun.module_aliases(tree)
    frames = position.get("frames") or []
    loops = position.get("loops") or []
    at = position.get("at") or "line"
    if not frames or frames[0].get("name") != "<module>":
        raise RestoreError("the snapshot does not say where the script was")
    inexact: list[str] = []
    if at == "line":
        what = {"exception": "an uncaught exception", "signal": "a signal"}.get(
            trigger, f"a {trigger} snapshot")
        inexact.append(f"the snapshot was taken by {what} in the middle of line "
                       f"{frames[-1].get('line')}; resuming runs that statement again")

    codes = _code_objects(source, filename)
    # (frame, scope node or tree, body)
    scopes: list[tuple[JsonObject, ast.Module | Function, Block]] = []
    seen: set[tuple[object, object]] = set()
    for index, frame in enumerate(frames):
        if index == 0:
            scopes.append((frame, tree, tree.body))
            continue
        key = (frame.get("name"), frame.get("def_line"))
        if key in seen:
            raise RestoreError(f"cannot resume inside the recursive calls of {key[0]}(); "
                               "resume from a snapshot outside them")
        seen.add(key)
        found = _find_def(tree.body, key[0], key[1])
        if found is None:
            raise RestoreError(f"cannot resume inside {key[0]}() (line {key[1]}): only "
                               "functions defined at the top level of the script or in its "
                               "top-level classes can be re-entered")
        scopes.append((frame, found, found.body))

    # Which loops belong to which frame: consecutive, and in that scope.
    per_frame: list[list[tuple[int, JsonObject]]] = []
    cursor = 0
    for frame, _node, body in scopes:
        lines = _scope_loop_lines(body)
        mine: list[tuple[int, JsonObject]] = []
        while cursor < len(loops) and loops[cursor].get("line") in lines and (
                loops[cursor].get("def_line") == frame.get("def_line") or frame is scopes[0][0]):
            mine.append((cursor, loops[cursor]))
            cursor += 1
        per_frame.append(mine)
    if cursor != len(loops):
        raise RestoreError("the script's loops do not match the snapshot's position "
                           "(was the script changed?)")

    plans: list[FramePlan] = []
    prefixes = frame_prefixes(frames)
    module_head: list[ast.stmt] = []
    path: Path | None
    last = len(scopes) - 1
    for index, ((frame, node, body), mine) in enumerate(zip(scopes, per_frame)):
        innermost = index == last
        if innermost and at == "iteration":
            if not mine:
                raise RestoreError("the snapshot's loop is not in its innermost frame")
            path = _path_to_loop(body, cast(int, mine[-1][1].get("line")))
            final = "iteration"
        elif innermost and at == "loop_done":
            path = _path_to_loop(body, cast(int, mine[-1][1].get("line"))) if mine else None
            final = "after"
        elif innermost and at == "statement":
            path = _path_to_first_line(body, line if line is not None else frame.get("line"))
            final = "after"
        else:
            path = _path_to_line(body, frame.get("line"))
            final = "again"
        if path is None:
            raise RestoreError(f"line {frame.get('line')} of {frame.get('name')} is not where "
                               "the snapshot says (was the script changed?)")
        builder = _Builder(aliases, mine, inexact, (rebind or {}).get(index, set()))
        if index == 0:
            head = builder.build(path, 0, final, top=True)
            module_head = builder.defines + [_call("restore_globals")] + builder.settings
            if innermost:
                module_head.append(_call("ready"))
            module_head.extend(head)
        else:
            plan = FramePlan(index, prefixes[index - 1], frame.get("name"), frame.get("def_line"))
            code = codes.get((plan.name, plan.def_line))
            if code is None:
                raise RestoreError(f"cannot find the code of {plan.name}() at line "
                                   f"{plan.def_line}")
            plan.local_names = sorted(set(code.co_varnames) | set(code.co_cellvars))
            original = node.body
            start = 1 if original and _is_docstring(original[0]) else 0
            continuing = copy.deepcopy(original)
            # The builder works on the copy: find the same path in it.
            path = _same_path(path, original, continuing)
            head = builder.build(path, 0, final, top=False)
            branch = _prologue(plan) + builder.defines + builder.settings
            if innermost:
                branch.append(_call("ready"))
            branch.extend(head)
            test = _call_expr("frame", ast.Constant(plan.key))
            switch = ast.If(test=test, body=branch, orelse=original[start:] or [ast.Pass()])
            node.body = original[:start] + [switch]
            plans.append(plan)
        if innermost:
            statement = ast.get_source_segment(
                source if isinstance(source, str) else source.decode("utf-8", "replace"),
                path[-1][0][path[-1][1]]) or ""
    module = ast.Module(body=module_head, type_ignores=[])
    _locate(module, tree)
    return Plan(module, plans, inexact, statement.splitlines()[0] if statement else "")


class _Builder:
    """Continuation of one frame's body from a path of (block, index, where)."""

    def __init__(self, aliases: dict[str, str], loops: list[tuple[int, JsonObject]],
                 inexact: list[str], rebind: set[str]) -> None:
        self.aliases = aliases
        self.rebind = rebind
        self.loops = list(loops)  # (key, loop position) of this frame, outermost first
        self.inexact = inexact
        self.defines: list[ast.stmt] = []
        self.settings: list[ast.stmt] = []

    def build(self, path: Path, k: int, final: str, *, top: bool) -> list[ast.stmt]:
        block, index, where = path[k]
        stmt = block[index]
        # A snapshot right after a statement: that statement is done, and is
        # re-run like those before it when it defines or sets something (an
        # import the snapshot cannot hold, a def...).
        done = block[:index + 1] if where is None and final == "after" else block[:index]
        for before in done:
            kind = rerun.rerun_kind(before, self.aliases)
            if kind is None and self.rebind and _binds(before) & self.rebind:
                kind = "setting"
            if kind == "define":
                self.defines.append(before)
            elif kind == "setting":
                (self.settings if top else self.defines).append(before)
        if where is None:
            head = self._final(stmt, final)
        else:
            entry = None
            if isinstance(stmt, (ast.For, ast.While)) and where == "body":
                entry = self._next_loop(stmt)  # outer loops first
            inner = self.build(path, k + 1, final, top=top)
            head = self._wrap(stmt, where, inner, entry)
        return head + block[index + 1:]

    def _next_loop(self, stmt: ast.stmt) -> tuple[int, JsonObject]:
        if not self.loops or self.loops[0][1].get("line") != stmt.lineno:
            raise RestoreError(f"the loop at line {stmt.lineno} is not on the snapshot's "
                               "loop stack (was the script changed?)")
        return self.loops.pop(0)

    def _final(self, stmt: ast.stmt, final: str) -> list[ast.stmt]:
        if final == "after":
            if isinstance(stmt, (ast.For, ast.While)) and self.loops:
                self.loops.pop(0)
            return []
        if final == "again":
            return [stmt]
        key, loop = self._next_loop(stmt)  # "iteration"
        self._check_entry(stmt, loop)
        # Marked on a copy: the original may still run as an ordinary loop
        # (in the next iterations of an enclosing loop).
        node = copy.deepcopy(stmt)
        body = cast(Union[ast.For, ast.While], stmt).body  # the snapshot's loop
        setattr(node, RESUME_ATTR, LoopResume(int(loop.get("count", 0)),
                                              copy.deepcopy(body), key))
        return [node]

    def _check_entry(self, stmt: ast.stmt, loop: JsonObject) -> None:
        if isinstance(stmt, ast.For) and not loop.get("entry_rng", False):
            self.inexact.append(f"the random state at the start of the loop at line "
                                f"{stmt.lineno} was not recorded: a shuffled iterator may "
                                "yield other items")

    def _wrap(self, stmt: ast.stmt, where: Where, inner: list[ast.stmt],
              entry: tuple[int, JsonObject] | None) -> list[ast.stmt]:
        if isinstance(stmt, (ast.For, ast.While)):
            if entry is not None:
                key, loop = entry
                self._check_entry(stmt, loop)
                node = copy.deepcopy(stmt)
                setattr(node, RESUME_ATTR, LoopResume(int(loop.get("count", 0)),
                                                      copy.deepcopy(inner), key))
                return [node]
            return inner  # its else clause: the loop itself is over
        if isinstance(stmt, ast.If):
            return inner
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                expr = item.context_expr
                name = rerun.dotted(expr.func if isinstance(expr, ast.Call) else expr,
                                    self.aliases)
                if name not in _SAFE_CONTEXTS:
                    self.inexact.append(f"line {stmt.lineno}: the `with` statement is entered "
                                        "again (its context manager is re-created)")
            return [ast.copy_location(type(stmt)(items=stmt.items, body=inner), stmt)]
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            tried = cast(ast.Try, stmt)  # ast.TryStar (3.11+) has ast.Try's fields
            if where == "body":
                return [ast.copy_location(type(tried)(
                    body=inner, handlers=tried.handlers, orelse=tried.orelse,
                    finalbody=tried.finalbody), stmt)]
            if where == "finalbody" or not tried.finalbody:
                return inner
            return [ast.copy_location(ast.Try(body=inner, handlers=[], orelse=[],
                                              finalbody=tried.finalbody), stmt)]
        return inner  # a match case


def _binds(stmt: ast.stmt) -> set[str]:
    """Names a plain assignment (or `with ... as name`) binds."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
        targets = [stmt.target]
    names: set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


# -- finding places ---------------------------------------------------------


def _children(stmt: ast.stmt) -> list[tuple[Where, Block]]:
    """(where, block) of the statement lists directly inside `stmt`."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.If)):
        return [("body", stmt.body), ("orelse", stmt.orelse)]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [("body", stmt.body)]
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        tried = cast(ast.Try, stmt)  # ast.TryStar (3.11+) has ast.Try's fields
        out: list[tuple[Where, Block]] = [("body", tried.body)]
        out.extend((("handler", i), h.body) for i, h in enumerate(tried.handlers))
        return out + [("orelse", tried.orelse), ("finalbody", tried.finalbody)]
    if type(stmt).__name__ == "Match":
        match: Any = stmt  # ast.Match (3.10+) is not in 3.9's stubs
        return [(("case", i), c.body) for i, c in enumerate(match.cases)]
    return []


def _search(block: Block, match: Callable[..., str | None]) -> Path | None:
    for index, stmt in enumerate(block):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if match(stmt) == "here":
                return [(block, index, None)]
            continue
        verdict = match(stmt)
        if verdict == "here":
            return [(block, index, None)]
        if verdict == "inside":
            for where, inner in _children(stmt):
                found = _search(inner, match)
                if found is not None:
                    return [(block, index, where)] + found
            return [(block, index, None)] if match(stmt, header=True) else None
    return None


def _path_to_loop(body: Block, line: int) -> Path | None:
    def match(stmt: ast.stmt, header: bool = False) -> str | None:
        if isinstance(stmt, (ast.For, ast.While)) and stmt.lineno == line:
            return "here"
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return None if header else "inside"
        return None
    return _search(body, match)


def _path_to_first_line(body: Block, line: int) -> Path | None:
    def match(stmt: ast.stmt, header: bool = False) -> str | None:
        if first_line(stmt) == line and not header:
            return "here"
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return None if header else "inside"
        return None
    return _search(body, match)


def _path_to_line(body: Block, line: int) -> Path | None:
    """The innermost statement whose own text (not its nested blocks) holds `line`."""
    def match(stmt: ast.stmt, header: bool = False) -> str | None:
        if not first_line(stmt) <= line <= (stmt.end_lineno or stmt.lineno):
            return None
        if header:
            return "here"
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return "here"
        return "inside" if _children(stmt) else "here"
    return _search(body, match)


def _same_path(path: Path, original: Block, copied: Block) -> Path:
    """The path through `copied` that `path` takes through `original`."""
    out: Path = []
    block_copy = copied
    for block, index, where in path:
        out.append((block_copy, index, where))
        if where is None:
            break
        stmt = block_copy[index]
        block_copy = dict(_children(stmt))[where]
    return out


def _scope_loop_lines(body: Block) -> set[int]:
    lines: set[int] = set()
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(stmt, (ast.For, ast.While)):
            lines.add(stmt.lineno)
        for _, block in _children(stmt):
            lines |= _scope_loop_lines(block)
    return lines


def _find_def(body: Block, name: str, def_line: int) -> Function | None:
    for stmt in body:
        if (isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name
                and def_line in (first_line(stmt), stmt.lineno)):
            return stmt
        if isinstance(stmt, ast.ClassDef):
            found = _find_def(stmt.body, name, def_line)
            if found is not None:
                return found
        if isinstance(stmt, (ast.If, ast.Try)) and not isinstance(stmt, ast.ClassDef):
            for _, block in _children(stmt):
                found = _find_def(block, name, def_line)
                if found is not None:
                    return found
    return None


def _code_objects(source: str | bytes, filename: str) -> dict[tuple[str, int], types.CodeType]:
    """(co_name, co_firstlineno) -> code, for every function in the source."""
    out: dict[tuple[str, int], types.CodeType] = {}
    stack = [compile(source, filename, "exec", dont_inherit=True)]
    while stack:
        code = stack.pop()
        out[(code.co_name, code.co_firstlineno)] = code
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return out


# -- building code ------------------------------------------------------------


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _call_expr(method: str, *args: ast.expr) -> ast.Call:
    func = ast.Attribute(value=ast.Name(id=RESUME_HOOK, ctx=ast.Load()), attr=method,
                         ctx=ast.Load())
    return ast.Call(func=func, args=list(args), keywords=[])


def _call(method: str, *args: ast.expr) -> ast.stmt:
    return ast.Expr(value=_call_expr(method, *args))


def _prologue(plan: FramePlan) -> list[ast.stmt]:
    """`if __snapline_resume__.has(K, "x"): x = __snapline_resume__.local(K, "x")`
    for each local variable of the function (unbound ones stay unbound)."""
    out: list[ast.stmt] = []
    for name in plan.local_names:
        if name.startswith("__") and name.endswith("__"):
            continue
        key, text = ast.Constant(plan.key), ast.Constant(name)
        assign = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                            value=_call_expr("local", key, text))
        out.append(ast.If(test=_call_expr("has", ast.Constant(plan.key), ast.Constant(name)),
                          body=[assign], orelse=[]))
    return out


def _locate(module: ast.Module, tree: ast.Module) -> None:
    """New nodes get the position of the nearest located node before them
    (tracebacks still point into the user's lines)."""
    last = {"lineno": 1, "col_offset": 0, "end_lineno": 1, "end_col_offset": 0}

    def visit(node: ast.AST) -> None:
        nonlocal last
        if "lineno" in node._attributes:
            if getattr(node, "lineno", None) is None:
                for attr, value in last.items():
                    setattr(node, attr, value)
            else:
                located: Any = node  # an expr or stmt: it has a position
                last = {"lineno": located.lineno, "col_offset": located.col_offset,
                        "end_lineno": getattr(node, "end_lineno", located.lineno),
                        "end_col_offset": getattr(node, "end_col_offset", located.col_offset)}
        for child in ast.iter_child_nodes(node):
            visit(child)
        resume = getattr(node, "_snapline_resume", None)
        if resume is not None:
            for stmt in resume.remainder:
                visit(stmt)

    visit(module)
