"""An object's `__dict__`, read without creating it.

Reading `obj.__dict__` (or `vars(obj)`, `hasattr(obj, "__dict__")`) makes
an empty dict on objects of C types that create theirs on first use, and
some of them behave differently once they have one: `functools.partial(p,
5)` of a partial `p` flattens `p` only while `p` has no `__dict__`. The
capture agent must never change what it reads, so it asks here.
"""

from __future__ import annotations

from typing import Any


def has_dict(cls: type) -> bool:
    """Whether instances of `cls` can hold a `__dict__`."""
    return getattr(cls, "__dictoffset__", 0) != 0


def instance_dict(obj: Any) -> dict[str, Any] | None:
    """`obj.__dict__` when it exists; None when it has none (or none yet)."""
    offset = getattr(type(obj), "__dictoffset__", 0)
    if not isinstance(offset, int) or offset == 0:
        # No dict slot (a class may still answer `__dict__` with a property).
        state = _read(obj)
        return state if type(state) is dict else None
    if offset > 0:
        import ctypes  # (imported here: rare, and 1 ms of `snapline run`'s start-up)

        if not ctypes.c_void_p.from_address(id(obj) + offset).value:
            return None  # a C type's dict slot at a fixed offset: NULL until first used
    # (A negative offset: a Python class's managed dict, or one at the end
    # of a variable-size object; creating it there changes no behavior.)
    state = _read(obj)
    return state if isinstance(state, dict) else None


def _read(obj: Any) -> Any:
    try:
        return obj.__dict__
    except Exception:  # noqa: BLE001 - a __getattr__ that raises anything
        return None
