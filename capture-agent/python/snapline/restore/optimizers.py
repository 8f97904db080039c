"""Rebuild a torch optimizer from what it points at (graph.py's
`_optimizer`): its param groups (holding the restored model's own
parameters), its per-parameter state keyed by those same parameters, its
defaults and data attributes (LBFGS's `_params`). The class's own
`__setstate__` then makes what unpickling would (hooks, the patched step),
so `optimizer.step()` continues exactly."""

from __future__ import annotations

import collections
from typing import Any

from .missing import Missing, Withheld


def rebuild(rebuilder: Any, path: str, node: int, record: dict[str, Any]) -> Any:
    extra = record.get("extra") or {}
    cls = rebuilder._class(extra.get("class") or {})
    if rebuilder.policy is not None:
        reason = rebuilder.policy.built_class_reason(cls)
        if reason is not None:
            raise Withheld(reason)
    obj = object.__new__(cls)
    rebuilder._done(node, obj)
    children = record.get("children") or []
    by_key = {child["key"]: child for child in children}
    for needed in (".defaults", ".param_groups"):
        if needed not in by_key:
            raise Missing(f"the optimizer's record has no {needed[1:]}")
    defaults = rebuilder._child(path, by_key[".defaults"], ".defaults")
    groups = rebuilder._child(path, by_key[".param_groups"], ".param_groups")
    state: Any = collections.defaultdict(dict)
    stated = [child for child in children if child["key"].startswith(".state[")]
    keys = extra.get("state_keys") or []
    if len(stated) != len(keys):
        raise Missing("the optimizer's state does not match its parameters")
    for child, (g, i) in zip(stated, keys):
        try:
            param = groups[g]["params"][i]
        except (IndexError, KeyError, TypeError):
            raise Missing(f"the optimizer's state refers to parameter {i} of group {g}, "
                          "which its param groups do not hold") from None
        state[param] = rebuilder._child_or_none(path, child, child["key"])
    had = set(defaults) if isinstance(defaults, dict) else None
    cls.__setstate__(obj, {"defaults": defaults, "state": state, "param_groups": groups})
    if had is not None and obj.defaults is defaults:
        # (__setstate__ fills in defaults a newer torch has, `differentiable`:
        # the optimizer had none of them, so it gets none.)
        for name in [n for n in defaults if n not in had]:
            del defaults[name]
    for name in extra.get("attributes") or []:
        child = by_key.get(f".{name}")
        if child is not None:
            obj.__dict__[name] = rebuilder._child_or_none(path, child, child["key"])
    return obj
