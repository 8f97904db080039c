"""Safe mode: what a snapshot from elsewhere may load without running code.

A snapshot of an imported run (its run row has an `origin`), or any snapshot
restored with `--safe`, is rebuilt under a :class:`Policy`:

* pickles go through :class:`RestrictedUnpickler`, whose ``find_class``
  loads only the globals of :data:`SAFE_GLOBALS` and the well-known classes
  of numpy, torch and pandas (see :meth:`Policy.global_reason`); anything
  else (``os.system``, ``builtins.eval``, ``builtins.getattr``, a
  scikit-learn estimator, a class the script defined) is *withheld*;
* references to functions and classes load only from :data:`SAFE_MODULES`
  (importing any other module runs its code); the script's own (``__main__``)
  are withheld, since its definitions are not run again;
* instances rebuilt from their attributes (no pickle) need a class from
  :data:`SAFE_MODULES` (``torch.nn`` for modules) without a finalizer;
* the script's statements do not run again, but for its imports of
  :data:`SAFE_MODULES` (session.py).

`--trust` loads everything; :func:`audit` lists first what the policy would
have withheld.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import pickle
import pickletools
import sys
from typing import Any

from .rebuild import Withheld

#: Top-level modules a reference (a function, class or module held by a
#: variable) or a rebuilt instance's class may come from.
SAFE_MODULES = frozenset({
    "numpy", "torch", "pandas",
    "posixpath", "ntpath", "math", "cmath", "collections", "random", "itertools", "functools", "operator",
    "datetime", "decimal", "fractions", "statistics", "numbers", "string", "re", "json",
    "copy", "enum", "typing", "time", "builtins", "os", "sys", "pathlib",
})

#: Globals a pickle may name, exactly (module -> names). Classes of numpy,
#: torch and pandas are checked by what they are (Policy.global_reason).
SAFE_GLOBALS = {
    "builtins": frozenset({
        "complex", "set", "frozenset", "slice", "range", "bytearray", "bytes", "list",
        "dict", "tuple", "int", "float", "str", "bool", "object"}),
    "copyreg": frozenset({"_reconstructor"}),
    "_codecs": frozenset({"encode"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter"}),
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    "uuid": frozenset({"UUID"}),
    # numpy (numpy.core before 2.0, numpy._core after)
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "numpy.ma": frozenset({"MaskedArray"}),
    "numpy.ma.core": frozenset({"MaskedArray", "_mareconstruct"}),
    "numpy.random._pickle": frozenset({
        "__bit_generator_ctor", "__generator_ctor", "__randomstate_ctor"}),
    "numpy.random.bit_generator": frozenset({"SeedSequence", "__pyx_unpickle_SeedSequence"}),
    # torch tensors, parameters, storages
    "torch._utils": frozenset({
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_from_type_v2"}),
    "torch.storage": frozenset({"_load_from_bytes"}),  # replaced: torch.load(weights_only)
    # pandas' unpickling helpers
    "pandas._libs.internals": frozenset({"_unpickle_block"}),
    "pandas._libs.arrays": frozenset({"__pyx_unpickle_NDArrayBacked"}),
    "pandas._libs.tslibs.timestamps": frozenset({"_unpickle_timestamp"}),
    "pandas._libs.tslibs.timedeltas": frozenset({"_timedelta_unpickle"}),
    "pandas._libs.tslibs.nattype": frozenset({"__nat_unpickle"}),
    "pandas.core.indexes.base": frozenset({"_new_Index"}),
    "pandas.core.indexes.datetimes": frozenset({"_new_DatetimeIndex"}),
    "pandas.core.indexes.period": frozenset({"_new_PeriodIndex"}),
    "pandas.core.indexes.interval": frozenset({"_new_IntervalIndex"}),
    "pandas.core.internals.blocks": frozenset({"new_block", "make_block"}),
}

# Where the class rule may import from (the package prefixes), and where
# the classes it accepts must be defined.
_CLASS_IMPORTS = ("numpy", "torch", "pandas")
_PANDAS_CLASS_HOMES = (
    "pandas.core.frame", "pandas.core.series", "pandas.core.generic", "pandas.core.base",
    "pandas.core.flags", "pandas.core.indexes.", "pandas.core.arrays.",
    "pandas.core.internals.", "pandas.core.dtypes.", "pandas._libs.")


class Policy:
    """The rules of safe mode. Every check returns None (allowed) or the
    reason an object is withheld."""

    def __init__(self, why: str) -> None:
        self.why = why  # "a snapshot from elsewhere" / "--safe"

    # -- pickles ---------------------------------------------------------------
    def global_reason(self, module: str, name: str) -> str | None:
        """Whether a pickle may load `module.name`. Only the allowlisted
        packages are imported to answer."""
        if name in SAFE_GLOBALS.get(module, ()):
            return None
        what = f"{module}.{name}"
        top = module.split(".", 1)[0]
        if module == "__main__":
            return f"its pickle loads {what}, which the script defined (its code is not run)"
        if top in ("sklearn", "scikit_learn"):
            return f"a scikit-learn object ({what}): its classes run arbitrary code"
        if top not in _CLASS_IMPORTS or module.startswith(("pandas.io", "pandas.core.computation",
                                                             "torch.utils", "torch.hub")):
            return f"its pickle loads {what}, which is not on the safe list"
        try:
            obj = _resolve(module, name)
        except Exception:  # noqa: BLE001 - not there: not loadable either
            return f"its pickle loads {what}, which cannot be found here"
        if _safe_class(obj, top):
            return None
        return f"its pickle loads {what}, which is not on the safe list"

    # -- records -----------------------------------------------------------------
    def module_reason(self, module: str | None, qualname: str | None = None) -> str | None:
        """A reference to a module (or to `qualname` in it)."""
        what = f"{module}.{qualname}" if qualname else str(module)
        if module == "__main__":
            return f"{qualname} is defined by the script, whose code is not run"
        top = (module or "").split(".", 1)[0]
        if top not in SAFE_MODULES:
            return f"{what}: importing {top!r} would run its code"
        return None

    def class_reason(self, ref: dict, torch_module: bool) -> str | None:
        """The class of an instance rebuilt from its attributes."""
        module = ref.get("module") or ""
        qualname = ref.get("qualname") or "?"
        if module == "__main__":
            return f"an instance of {qualname}, a class the script defined (its code is not run)"
        if torch_module and not module.startswith("torch.nn."):
            return f"a torch module of class {module}.{qualname}, not one of torch.nn's"
        if module.split(".", 1)[0] not in SAFE_MODULES:
            return (f"an instance of {module}.{qualname}: importing "
                    f"{module.split('.', 1)[0]!r} would run its code")
        return None

    def built_class_reason(self, cls: type) -> str | None:
        """A class about to get an instance without its constructor: one
        with a finalizer would run it on state from the snapshot."""
        for klass in cls.__mro__:
            if klass is not object and "__del__" in vars(klass):
                return (f"an instance of {cls.__module__}.{cls.__qualname__}, whose class "
                        "runs a finalizer (__del__) on its state")
        return None

    def record_reason(self, record: dict) -> str | None:
        """Why a record (other than a pickle) is withheld, before building it."""
        kind = record.get("kind")
        extra = record.get("extra") or {}
        if kind == "reference":
            if extra.get("ref") == "module":
                return self.module_reason(extra.get("qualname"))
            return self.module_reason(extra.get("module"), extra.get("qualname"))
        if kind == "instance" and not extra.get("pandas"):
            return self.class_reason(extra.get("class") or {}, bool(extra.get("torch_module")))
        return None


def _resolve(module: str, name: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _safe_class(obj: Any, top: str) -> bool:
    """A numpy, torch or pandas class (or torch dtype) that is data, not code."""
    if top == "numpy":
        np = sys.modules["numpy"]
        if isinstance(obj, type):
            return issubclass(obj, (np.ndarray, np.generic, np.dtype, np.random.BitGenerator))
        return False
    if top == "torch":
        torch = sys.modules["torch"]
        if isinstance(obj, (torch.dtype, torch.layout, torch.memory_format)):
            return True
        if not isinstance(obj, type):
            return False
        if obj in (torch.Size, torch.device, torch.Tensor, torch.nn.Parameter):
            return True
        home = getattr(obj, "__module__", "") or ""
        if issubclass(obj, torch.nn.Module):
            return home.startswith("torch.nn.")
        if issubclass(obj, torch.optim.Optimizer):
            return home.startswith("torch.optim.")
        storages = tuple(t for t in (getattr(torch, "UntypedStorage", None),
                                     getattr(torch, "TypedStorage", None)) if t is not None)
        return bool(storages) and issubclass(obj, storages)
    if top == "pandas":
        pd = sys.modules["pandas"]
        if isinstance(obj, (type(pd.NA), type(pd.NaT))):
            return True
        if not isinstance(obj, type):
            return False
        home = getattr(obj, "__module__", "") or ""
        if home.startswith(_PANDAS_CLASS_HOMES):
            return True
        # pandas 3 names its public classes' module "pandas": go by what they are.
        data = tuple(t for t in (
            getattr(getattr(pd.core, "generic", None), "NDFrame", None), pd.Index,
            pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionDtype,
            pd.Timestamp, pd.Timedelta, pd.Period, pd.Interval, getattr(pd, "Flags", None),
        ) if isinstance(t, type))
        return issubclass(obj, data)
    return False


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that loads only what :class:`Policy` allows; any other
    global raises :class:`Withheld` (nothing of it is imported or called)."""

    policy = Policy("--safe")

    def find_class(self, module: str, name: str) -> Any:
        module, name = _py3_name(module, name)
        reason = self.policy.global_reason(module, name)
        if reason is not None:
            raise Withheld(reason)
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _torch_load_weights_only
        return super().find_class(module, name)


def _py3_name(module: str, name: str) -> tuple:
    """Python 2 names (protocols 0-2: `__builtin__`, `copy_reg`) as Python 3's."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _torch_load_weights_only(data: bytes) -> Any:
    """torch.storage._load_from_bytes, through torch's own restricted loader."""
    import torch

    return torch.load(io.BytesIO(data), weights_only=True)


def unpickler_for(policy: Policy) -> type:
    return type("RestrictedUnpickler", (RestrictedUnpickler,), {"policy": policy})


# -- what --trust loads that safe mode would not ---------------------------------

_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"})
_GETS = frozenset({"BINGET", "LONG_BINGET", "GET"})


def pickle_globals(data: bytes) -> list:
    """The (module, name) globals a pickle names, read without loading it.
    A global whose name cannot be followed reads as ("?", "?")."""
    out = []
    pushed: list = []
    memo: dict = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name in _STRINGS:
                pushed.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = pushed[-1] if pushed else None
            elif name in _GETS:
                pushed.append(memo.get(arg))
            elif name == "STACK_GLOBAL":
                pair = tuple(pushed[-2:]) if len(pushed) >= 2 else ()
                ok = len(pair) == 2 and all(isinstance(p, str) for p in pair)
                out.append(_py3_name(*pair) if ok else ("?", "?"))
                pushed.append(None)
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                out.append(_py3_name(module, attr))
            else:
                pushed.append(None)
    except Exception:  # noqa: BLE001 - a damaged pickle: say so
        out.append(("?", "?"))
    return out


def audit(snapshot: Any, policy: Policy) -> list:
    """What `policy` would withhold in `snapshot`: [(what, count)], most first."""
    counts: dict = {}
    seen: set = set()
    for _path, (node, digest) in sorted(snapshot.entries.items()):
        if node in seen:
            continue
        seen.add(node)
        try:
            record = snapshot.record(digest)
        except Exception:  # noqa: BLE001 - reported when rebuilding
            continue
        what = _audit_record(snapshot, record, policy)
        if what:
            counts[what] = counts.get(what, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _audit_record(snapshot: Any, record: dict, policy: Policy) -> str | None:
    kind = record.get("kind")
    type_name = record.get("type") or "?"
    if kind != "pickle":
        if policy.record_reason(record) is None:
            return None
        if kind == "reference":
            extra = record.get("extra") or {}
            name = extra.get("qualname") if extra.get("ref") == "module" else (
                f"{extra.get('module')}.{extra.get('qualname')}")
            return f"{extra.get('ref') or 'reference'} {name}"
        return f"{kind} of {type_name}"
    try:
        data = snapshot.reader.read_blob(record.get("chunks") or [])
    except Exception:  # noqa: BLE001 - reported when rebuilding
        return None
    refused = sorted({f"{m}.{n}" for m, n in pickle_globals(data)
                      if m == "?" or policy.global_reason(m, n) is not None})
    if not refused:
        return None
    return f"pickle of {type_name} (loads {', '.join(refused[:4])}" + (
        " ...)" if len(refused) > 4 else ")")
