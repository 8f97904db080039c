"""Whose numbers an object holds: the user's, or a library's own.

`snapline nan` reports the first snapshot where the *user's* state is NaN or
Inf. Libraries hold non-finite values by design (matplotlib's transforms and
data limits, `-inf` masks, `best = inf` sentinels of early-stopping and
scheduler objects); those must not become the "first NaN".

The walker (graph.py) asks `owner_of` for each object it describes:

- "user": an instance of a class the user's code defines (`__main__`, or a
  module whose file is not installed: the script's directory, the project,
  `PYTHONPATH`), and the objects that hold the user's numbers whatever
  library defines them: torch modules, optimizers and datasets, scikit-learn
  estimators, pandas objects.
- "library": an instance of any other class of an installed package
  (site-packages / dist-packages, the interpreter's prefixes) or of snapline.
- None: no owner of its own; what it holds belongs to whoever holds it
  (containers, arrays, functions, modules, the standard library's classes
  such as OrderedDict or argparse.Namespace, builtin types).

A value is library-internal when the nearest owning object above it is a
library's; reached by any path through user state, it is the user's.
"""

from __future__ import annotations

import os
import sys
from typing import Any

USER = "user"
LIBRARY = "library"

# Library base classes whose instances hold the user's numbers: (module, class).
_STATE_HOLDERS = (
    ("torch.nn", "Module"),
    ("torch.optim", "Optimizer"),
    ("torch.utils.data", "Dataset"),
    ("sklearn.base", "BaseEstimator"),
    ("pandas", "DataFrame"),
    ("pandas", "Series"),
    ("pandas", "Index"),
)
_INSTALLED_DIRS = ("site-packages", "dist-packages")

_by_type: dict[type, str | None] = {}


def owner_of(obj: Any) -> str | None:
    """"user", "library" or None (see the module's doc) for `obj`'s class."""
    cls = type(obj)
    try:
        return _by_type[cls]
    except KeyError:
        pass
    except TypeError:  # an unhashable metaclass instance: decide each time
        return _owner_of_class(cls)
    # (A subclass of a holder base exists only once its module is imported.)
    owner = _by_type[cls] = _owner_of_class(cls)
    return owner


def _owner_of_class(cls: type) -> str | None:
    module = getattr(cls, "__module__", None) or ""
    if module == "__main__":
        return USER
    top = module.partition(".")[0]
    if top in ("", "builtins") or top in _stdlib_names():
        return None
    if top == "snapline":
        return LIBRARY
    if _holds_user_state(cls):
        return USER
    return _owner_of_module(module, top)


def _holds_user_state(cls: type) -> bool:
    for module, name in _STATE_HOLDERS:
        loaded = sys.modules.get(module)
        base = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(base, type):
            try:
                if issubclass(cls, base):
                    return True
            except TypeError:
                continue
    return False


def _owner_of_module(module: str, top: str) -> str | None:
    loaded = sys.modules.get(module) or sys.modules.get(top)
    filename = getattr(loaded, "__file__", None) if loaded is not None else None
    if not isinstance(filename, str):
        # A builtin or extension module without a file, or one not imported
        # any more: an installed package's unless it is the standard library's.
        return LIBRARY
    real = os.path.realpath(filename)
    if any(part in _INSTALLED_DIRS for part in real.split(os.sep)):
        return LIBRARY
    stdlib, prefixes = _install_trees()
    if real.startswith(stdlib):
        return None
    if real.startswith(prefixes):
        return LIBRARY
    return USER


_trees: list[tuple[str, ...]] = []


def _install_trees() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(standard library directories, interpreter prefixes), each ending in a separator."""
    if not _trees:
        import sysconfig  # (imported here: not needed by every run)

        stdlib = set()
        for name in ("stdlib", "platstdlib"):
            try:
                stdlib.add(sysconfig.get_path(name))
            except KeyError:
                continue
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        _trees.append(tuple(os.path.join(os.path.realpath(p), "") for p in stdlib if p))
        _trees.append(tuple(os.path.join(os.path.realpath(p), "") for p in prefixes if p))
    return _trees[0], _trees[1]


def _stdlib_names() -> frozenset[str]:
    names: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    return names
