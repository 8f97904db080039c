"""Which of a script's statements are run again when a state is restored.

Everything a statement computed comes back from the snapshot, except what
lives outside the interpreter's objects: imported modules, the functions and
classes the script defines (they are code, rebuilt from its source), and
process settings that no variable holds (seeds, thread counts, print and
warning options, backend flags, environment variables). Exactly these are
re-run:

* ``import`` and ``from ... import`` statements;
* ``def`` and ``class`` statements (with their decorators);
* calls to the process-setting functions in :data:`SETTINGS_CALLS`, e.g.
  ``torch.manual_seed(0)``, ``torch.set_num_threads(1)``,
  ``np.random.seed(0)``, ``warnings.filterwarnings(...)`` (module aliases
  are followed: ``np`` is ``numpy`` after ``import numpy as np``);
* assignments to an attribute or item of an imported module, e.g.
  ``torch.backends.cudnn.deterministic = True``, ``os.environ["X"] = "1"``;
* an ``if``/``try``/``with`` made only of the statements above (plus
  ``pass`` and assignments of constants), e.g. ``try: import x`` /
  ``except ImportError: x = None``.

Seeds are re-run and then overridden: the random states come back from the
snapshot afterwards, so the next draw is the one the original run made.
"""

from __future__ import annotations

import ast
from typing import cast

#: Functions that change process state held by no variable.
SETTINGS_CALLS = frozenset({
    "torch.manual_seed", "torch.seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all",
    "torch.set_num_threads", "torch.set_num_interop_threads",
    "torch.use_deterministic_algorithms", "torch.set_default_dtype",
    "torch.set_default_device", "torch.set_default_tensor_type",
    "torch.set_float32_matmul_precision", "torch.set_grad_enabled", "torch.set_printoptions",
    "torch.autograd.set_detect_anomaly", "torch.set_anomaly_enabled",
    # A DDP rank's process group (a resumed run group joins its new job's).
    "torch.distributed.init_process_group",
    "numpy.random.seed", "numpy.seterr", "numpy.set_printoptions", "numpy.seterrcall",
    "random.seed",
    "warnings.filterwarnings", "warnings.simplefilter", "warnings.resetwarnings",
    "logging.basicConfig", "logging.disable",
    "sys.setrecursionlimit", "sys.path.insert", "sys.path.append",
    "os.environ.setdefault", "os.environ.update", "os.putenv",
    "matplotlib.use", "sklearn.set_config", "pandas.set_option",
    "tensorflow.random.set_seed", "jax.config.update",
})


def module_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> module it names, from every import in the source."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                # `from torch import nn` names a module; `from x import f` a
                # function: both resolve to a dotted name, which is what matters.
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """`np.random.seed` -> "numpy.random.seed" (None unless rooted at an import)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    parts.append(aliases[node.id])
    return ".".join(reversed(parts))


def _target_root(target: ast.AST) -> ast.AST:
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target


# Functions that make a class from literal arguments: `Point =
# namedtuple("Point", "x y")` defines a class as a `class` statement does.
CLASS_FACTORIES = {"namedtuple", "NamedTuple", "Enum", "IntEnum", "Flag", "IntFlag",
                   "StrEnum", "TypedDict", "NewType", "TypeVar", "make_dataclass"}


def is_definition(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.ClassDef)) or _class_factory(stmt)


def _class_factory(stmt: ast.stmt) -> bool:
    """`Name = factory(literals...)` with a factory of CLASS_FACTORIES."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in CLASS_FACTORIES:
        return False
    try:
        for arg in [*stmt.value.args, *(k.value for k in stmt.value.keywords)]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False  # it reads variables: not a pure definition
    return True


def is_setting(stmt: ast.stmt, aliases: dict[str, str]) -> bool:
    """A call of a settings function, or an assignment into a module."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return dotted(stmt.value.func, aliases) in SETTINGS_CALLS
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            if not isinstance(target, (ast.Attribute, ast.Subscript)):
                return False
            root = _target_root(target)
            if not (isinstance(root, ast.Name) and root.id in aliases):
                return False
        return bool(targets)
    return False


def _harmless(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return (isinstance(stmt, ast.Assign)
            and all(isinstance(t, ast.Name) for t in stmt.targets)
            and isinstance(stmt.value, ast.Constant))


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.If):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        # ast.TryStar (3.11+) has ast.Try's fields
        tried = cast(ast.Try, stmt)
        return [tried.body, *(h.body for h in tried.handlers), tried.orelse, tried.finalbody]
    return []


#: Settings the variables themselves need when they are rebuilt (a
#: DistributedDataParallel model unpickles onto the default process group):
#: with literal arguments they run with the definitions, before the variables.
BEFORE_VARIABLES_CALLS = frozenset({"torch.distributed.init_process_group"})


def _joins_process_group(stmt: ast.stmt, aliases: dict[str, str]) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and dotted(stmt.value.func, aliases) in BEFORE_VARIABLES_CALLS):
        return False
    try:
        for arg in [*stmt.value.args, *(k.value for k in stmt.value.keywords)]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False  # it reads variables: a setting, after them
    return True


def rerun_kind(stmt: ast.stmt, aliases: dict[str, str]) -> str | None:
    """"define" (imports, defs, classes: before the variables come back),
    "setting" (after them: they may read variables), or None."""
    if is_definition(stmt) or _joins_process_group(stmt, aliases):
        return "define"
    if is_setting(stmt, aliases):
        return "setting"
    blocks = _blocks(stmt)
    if not blocks:
        return None
    kinds = set()
    for block in blocks:
        for inner in block:
            kind = rerun_kind(inner, aliases)
            if kind is None and not _harmless(inner):
                return None
            kinds.add(kind)
    kinds.discard(None)
    if not kinds:
        return None
    return "setting" if "setting" in kinds else "define"
