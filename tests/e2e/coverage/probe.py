"""What a coverage case looks like from the program's side, as JSON, so the
plain run and the restored snapshot can be compared.

Each case script ends with `CASES = {name: (roots, expression)}`: the
variables the case declared and an expression over them (evaluated in the
script's namespace, with `sig` at hand) that says what the program would
see: values, types, identities, what the next call or step returns.
`sig(obj)` is a deep, address-free description of an object: arrays and
tensors by dtype, shape, strides, values, base, grad; instances by type and
attributes; anything else by its type and repr.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import traceback
from typing import Any

MARK = "COVERAGE "
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


def sig(obj: Any, depth: int = 0, seen: Any = None) -> Any:
    seen = set() if seen is None else seen
    t = type(obj)
    if obj is None or t in (bool, int, str):
        return obj
    if t is float:
        return obj if math.isfinite(obj) else repr(obj)
    if t in (bytes, complex):
        return [t.__name__, repr(obj)]
    if depth > 4:
        return [_type(obj), "..."]
    if id(obj) in seen:
        return [_type(obj), "<seen>"]
    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return _tensor(torch, obj, depth, seen)
    if np is not None and isinstance(obj, np.ndarray):
        return _ndarray(np, obj)
    if np is not None and isinstance(obj, np.generic):
        return [_type(obj), repr(obj.item()) if obj.dtype.kind != "V" else repr(obj)]
    seen = seen | {id(obj)}
    if t in (list, tuple):
        return [t.__name__, [sig(x, depth + 1, seen) for x in obj]]
    if t in (set, frozenset):
        return [t.__name__, sorted(repr(sig(x, depth + 1, seen)) for x in obj)]
    if isinstance(obj, dict):
        return [_type(obj), [[repr(k), sig(v, depth + 1, seen)] for k, v in obj.items()]]
    state = None
    try:
        state = object.__getattribute__(obj, "__dict__")
    except Exception:  # noqa: BLE001 - no __dict__
        state = None
    if isinstance(state, dict) and not isinstance(obj, type) and state:
        return [_type(obj), [[k, sig(v, depth + 1, seen)] for k, v in sorted(state.items())
                             if not k.startswith("__")]]
    try:
        text = repr(obj)
    except Exception as exc:  # noqa: BLE001 - a broken repr is part of the picture
        text = f"<repr failed: {type(exc).__name__}>"
    return [_type(obj), _ADDRESS.sub(" at 0x?", text)[:400]]


def _type(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def _ndarray(np: Any, a: Any) -> Any:
    out = [_type(a), str(a.dtype), repr(a.dtype.descr) if a.dtype.fields else "",
           list(a.shape), list(a.strides), bool(a.flags.writeable)]
    if a.dtype.hasobject:
        out.append(repr(a.tolist())[:400])
    else:
        out.append(_digest(np.ascontiguousarray(a).tobytes()))
    if isinstance(a, np.ma.MaskedArray):
        out += [_digest(np.ma.getmaskarray(a).tobytes()), bool(a.hardmask),
                repr(a.fill_value)]
    return out


def _tensor(torch: Any, t: Any, depth: int, seen: Any) -> Any:
    d = t.detach()
    values = _digest(d.contiguous().cpu().numpy().tobytes()) if d.dtype != torch.bfloat16 else (
        _digest(d.float().contiguous().cpu().numpy().tobytes()))
    out = [_type(t), str(t.dtype), list(t.shape), list(t.stride()), t.storage_offset(),
           values, bool(t.requires_grad), bool(t.is_leaf), t.grad_fn is not None]
    grad = t.grad if t.is_leaf else None
    out.append(None if grad is None else _tensor(torch, grad, depth + 1, seen))
    extra = {k: v for k, v in vars(t).items() if not k.startswith("_")} if hasattr(
        t, "__dict__") else {}
    if extra:
        out.append([[k, sig(v, depth + 1, seen)] for k, v in sorted(extra.items())])
    return out


def results(namespace: dict) -> str:
    """`{case: description}` as JSON, each case evaluated in `namespace`
    (an error is its description)."""
    out = {}
    scope = dict(namespace)
    scope["sig"] = sig
    for name, (_, expression) in namespace["CASES"].items():
        try:
            value = eval(expression, scope)
            out[name] = json.loads(json.dumps(value, default=repr))
        except Exception as exc:  # noqa: BLE001 - a failure is the case's outcome
            line = traceback.format_exception_only(type(exc), exc)[-1].strip()
            out[name] = ["raised", _ADDRESS.sub(" at 0x?", line)[:300]]
    return json.dumps(out, sort_keys=True)
