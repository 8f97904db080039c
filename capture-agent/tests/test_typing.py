"""The type checker's configuration (capture-agent/mypy.ini) keeps up with
the package: every module on the not-yet-strict list exists (a module that
is renamed or removed leaves it), the list only shrinks, at least as many
modules are checked strictly as when the ceilings were set, and the
package's annotations name `Any` no more often than they did.

The ceilings are lowered to what the package reaches: when a module leaves
the list, or annotations lose an `Any`, lower them here."""

from __future__ import annotations

import ast
import configparser
from collections.abc import Iterator
from pathlib import Path

AGENT = Path(__file__).resolve().parents[1]
PACKAGE = AGENT / "python" / "snapline"
STRICT_AT_LEAST = 39
NOT_YET_STRICT_AT_MOST = 0
ANY_AT_MOST = 446


def package_modules() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.add(".".join(parts))
    return names


def not_yet_strict() -> list[str]:
    config = configparser.ConfigParser()
    config.read(AGENT / "mypy.ini")
    for section in config.sections():
        if config[section].get("ignore_errors") == "True":
            return [name.strip() for name in section.removeprefix("mypy-").split(",")]
    return []


def test_the_not_yet_strict_list_names_only_existing_modules() -> None:
    modules = package_modules()
    listed = not_yet_strict()
    gone = [name for name in listed if name not in modules]
    assert not gone, f"capture-agent/mypy.ini lists modules that do not exist: {gone}"


def test_strict_modules_only_grow() -> None:
    strict = package_modules() - set(not_yet_strict())
    assert len(strict) >= STRICT_AT_LEAST, (
        f"only {len(strict)} modules are checked strictly by mypy (was {STRICT_AT_LEAST}): "
        "make the new module pass `mypy` instead of adding it to the list")


def test_the_not_yet_strict_list_only_shrinks() -> None:
    listed = not_yet_strict()
    assert len(listed) <= NOT_YET_STRICT_AT_MOST, (
        f"capture-agent/mypy.ini leaves {len(listed)} modules unchecked (at most "
        f"{NOT_YET_STRICT_AT_MOST}): make the new module pass `mypy` instead")


def annotations(tree: ast.AST) -> Iterator[ast.expr]:
    """Every annotation in a module: parameters, returns, annotated names."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                        args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def any_count(annotation: ast.AST) -> int:
    """How many times an annotation names `Any` (`Any`, `typing.Any`, or
    inside a string annotation)."""
    count = 0
    for node in ast.walk(annotation):
        if ((isinstance(node, ast.Name) and node.id == "Any")
                or (isinstance(node, ast.Attribute) and node.attr == "Any")):
            count += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                count += any_count(ast.parse(node.value, mode="eval"))
            except SyntaxError:
                pass
    return count


def package_any_count() -> int:
    return sum(any_count(annotation)
               for path in PACKAGE.rglob("*.py")
               for annotation in annotations(ast.parse(path.read_text(encoding="utf-8"))))


def test_any_counts_its_forms() -> None:
    tree = ast.parse("def f(a: Any, b: typing.Any, c: 'list[Any]') -> dict[str, Any]:\n"
                     "    x: object = a\n    y: Any = b\n")
    assert sum(any_count(a) for a in annotations(tree)) == 5


def test_annotations_name_any_no_more_often() -> None:
    count = package_any_count()
    assert count <= ANY_AT_MOST, (
        f"the agent package's annotations name `Any` {count} times (at most {ANY_AT_MOST}): "
        "give the new code real types (`object` where anything goes and is only passed on)")
