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
  :data:`SAFE_MODULES` (session.py), with the run's directory and the
  working directory off ``sys.path``.

The list cannot be widened by the data (issue #15):

* classes are exact: a numpy class is ``ndarray``, ``dtype``, a scalar type
  or a bit generator, never a subclass (``numpy.memmap`` writes files);
  torch's and pandas' must be defined by torch or pandas themselves;
* nothing is imported that is not already imported, but the top-level
  packages of the list themselves (``numpy.f2py.__main__`` is never
  loaded), and no module named ``__main__`` at any depth;
* a reference (a function, class or module held by a variable) resolves
  only to what cannot write files, start processes or open sockets
  (:func:`capability_reason`): ``os.system``, ``builtins.exec``,
  ``numpy.save``, ``torch.load`` are withheld;
* BUILD (setting state) applies only to objects the pickle itself created,
  never to a class or module it named (``pandas.Index.x = ...``);
* dunder names (``__builtins__``) are never restored as variables
  (snapshot.py).

`--trust` loads everything; :func:`audit` lists first what the policy would
have withheld.
"""

from __future__ import annotations

import _compat_pickle
import builtins
import importlib
import io
import pickle
import pickletools
import sys
import types
from typing import TYPE_CHECKING, Any, ClassVar

from ..values import JsonObject
from .missing import Withheld

if TYPE_CHECKING:
    from .snapshot import Snapshot

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

#: Top-level modules a reference or a rebuilt instance's class may come
#: from: SAFE_MODULES but those whose functions touch the system (the
#: script's `import os` still runs; `os.system` as a value does not load).
REFERENCE_MODULES = SAFE_MODULES - {"os", "sys", "pathlib", "posixpath", "ntpath", "time"}

#: Builtins a reference may name (the rest can run code, import, open
#: files or reach into objects: exec, eval, compile, open, __import__,
#: getattr, setattr, globals, breakpoint...).
SAFE_BUILTINS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "complex", "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash",
    "hex", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min",
    "next", "object", "oct", "ord", "pow", "print", "range", "repr", "reversed", "round", "set",
    "slice", "sorted", "str", "sum", "tuple", "zip"})

#: Modules (and their submodules) whose functions and classes reach files,
#: processes, sockets, code loading or the interpreter itself: never loaded
#: by reference, whatever module they are reached through.
_CAPABLE_MODULES = (
    "os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "_socket", "ssl", "select",
    "selectors", "pathlib", "io", "_io", "importlib", "ctypes", "_ctypes", "pickle", "_pickle",
    "marshal", "shelve", "dbm", "sqlite3", "tempfile", "multiprocessing", "_multiprocessing",
    "threading", "_thread", "signal", "runpy", "code", "codeop", "pty", "webbrowser", "urllib",
    "http", "ftplib", "smtplib", "asyncio", "zipfile", "tarfile", "gzip", "bz2", "lzma",
    "fileinput", "glob", "logging", "inspect", "gc", "weakref", "atexit", "platform", "builtins",
    "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.testing", "numpy.lib.format",
    "numpy.lib.npyio", "numpy.lib._npyio_impl", "numpy.lib._datasource", "numpy.core.memmap",
    "numpy._core.memmap", "numpy.core.records", "numpy._core.records",
    "torch.hub", "torch.serialization", "torch.utils", "torch.multiprocessing",
    "torch.distributed", "torch.jit", "torch._dynamo", "torch._inductor", "torch.compiler",
    "torch.cuda", "torch.backends", "torch.package", "torch.onnx", "torch.export", "torch.library",
    "torch.ops", "torch._ops", "torch._C._distributed", "pandas.io", "pandas.core.computation",
    "pandas.plotting", "pandas.util", "pandas.testing", "pandas._testing")

#: Names that read or write files, or run code, wherever they are defined.
_CAPABLE_NAMES = frozenset({
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile",
    "tofile", "memmap", "open_memmap", "open", "exec", "eval", "compile", "system", "popen",
    "from_file", "load_library", "to_pickle", "read_pickle", "to_csv", "read_csv", "to_parquet",
    "read_parquet", "to_hdf", "read_hdf", "to_json", "read_json", "to_excel", "read_excel",
    "to_sql", "read_sql", "to_feather", "read_feather", "to_clipboard", "read_clipboard",
    "to_html", "read_html", "to_latex", "to_markdown", "to_string", "to_xml", "read_xml",
    "to_stata", "read_stata", "read_fwf", "read_table", "read_sas", "read_spss", "read_orc",
    "to_orc", "dump", "input", "breakpoint", "exit", "quit", "help", "__import__",
    "getattr", "setattr", "delattr", "globals", "locals", "vars", "import_module", "reload",
    "set_printoptions", "seterr", "seterrcall", "set_default_dtype", "set_default_device",
    "manual_seed", "seed", "set_rng_state", "setstate", "set_state", "use_deterministic_algorithms",
    "set_option", "reset_option", "set_num_threads", "set_flush_denormal"})

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
        # Why no pickle loads at all (a foreign snapshot outside the sandbox,
        # restore/sandbox.py), or None.
        self.pickles_refused: str | None = None

    # -- pickles ---------------------------------------------------------------
    def global_reason(self, module: str, name: str) -> str | None:
        """Whether a pickle may load `module.name`. Nothing is imported to
        answer but the allowlisted packages themselves (numpy, torch,
        pandas); their submodules only when already imported."""
        what = f"{module}.{name}"
        if module == "__main__":
            return f"its pickle loads {what}, which the script defined (its code is not run)"
        if "__main__" in module.split(".") or "__main__" in name.split("."):
            return f"its pickle loads {what}: a __main__ module runs a program when imported"
        if name in SAFE_GLOBALS.get(module, ()):
            return None
        top = module.split(".", 1)[0]
        if top in ("sklearn", "scikit_learn"):
            return f"a scikit-learn object ({what}): its classes run arbitrary code"
        if top not in _CLASS_IMPORTS or module.startswith(("pandas.io", "pandas.core.computation",
                                                             "torch.utils", "torch.hub")):
            return f"its pickle loads {what}, which is not on the safe list"
        unimported = import_reason(module)
        if unimported is not None:
            return f"its pickle loads {what}: {unimported}"
        try:
            obj = _resolve(module, name)
        except Exception:  # noqa: BLE001 - not there: not loadable either
            return f"its pickle loads {what}, which cannot be found here"
        if _safe_class(obj, top):
            return None
        return f"its pickle loads {what}, which is not on the safe list"

    # -- records -----------------------------------------------------------------
    def module_reason(self, module: str | None, qualname: str | None = None) -> str | None:
        """A reference to a module (or to `qualname` in it): the module must
        be on the list and importable without new code, and what it names
        must not reach files, processes or sockets."""
        what = f"{module}.{qualname}" if qualname else str(module)
        if module == "__main__":
            return f"{qualname} is defined by the script, whose code is not run"
        module = module or ""
        parts = module.split(".") + (qualname.split(".") if qualname else [])
        if "__main__" in parts:
            return f"{what}: a __main__ module runs a program when imported"
        top = module.split(".", 1)[0]
        if top not in REFERENCE_MODULES:
            if top in SAFE_MODULES:
                return f"{what}: {top} reaches files, processes or the interpreter"
            return f"{what}: importing {top!r} would run its code"
        unimported = import_reason(module)
        if unimported is not None:
            return f"{what}: {unimported}"
        try:
            obj = _resolve(module, qualname) if qualname else sys.modules.get(module)
            if obj is None:
                obj = importlib.import_module(module)
        except Exception:  # noqa: BLE001 - reported as missing when rebuilding
            return None
        return capability_reason(obj, what)

    def class_reason(self, ref: JsonObject, torch_module: bool) -> str | None:
        """The class of an instance rebuilt from its attributes."""
        module = ref.get("module") or ""
        qualname = ref.get("qualname") or "?"
        if module == "__main__":
            return f"an instance of {qualname}, a class the script defined (its code is not run)"
        if torch_module and not module.startswith("torch.nn."):
            return f"a torch module of class {module}.{qualname}, not one of torch.nn's"
        top = module.split(".", 1)[0]
        if top not in REFERENCE_MODULES:
            return (f"an instance of {module}.{qualname}: importing "
                    f"{top!r} would run its code")
        reason = self.module_reason(module, qualname)
        if reason is not None:
            return f"an instance of {reason}"
        return None

    def built_class_reason(self, cls: type) -> str | None:
        """A class about to get an instance without its constructor: one
        with a finalizer would run it on state from the snapshot."""
        for klass in cls.__mro__:
            if klass is not object and "__del__" in vars(klass):
                return (f"an instance of {cls.__module__}.{cls.__qualname__}, whose class "
                        "runs a finalizer (__del__) on its state")
        return None

    def record_reason(self, record: JsonObject) -> str | None:
        """Why a record (other than a pickle) is withheld, before building it."""
        kind = record.get("kind")
        extra = record.get("extra") or {}
        if kind == "pickle" and self.pickles_refused is not None:
            return self.pickles_refused
        if kind == "reference":
            if extra.get("source") == "script":
                return self.module_reason("__main__", extra.get("qualname") or "?")
            if extra.get("ref") == "module":
                return self.module_reason(extra.get("qualname"))
            return self.module_reason(extra.get("module"), extra.get("qualname"))
        if kind == "instance" and not extra.get("pandas") and not extra.get("closed_file"):
            return self.class_reason(extra.get("class") or {}, bool(extra.get("torch_module")))
        return None


def import_reason(module: str) -> str | None:
    """None when `module` may be imported in safe mode: already imported,
    or one of the allowlisted top-level packages (their own code, found
    outside the run's directories); else why not."""
    if module in sys.modules:
        return None
    top = module.split(".", 1)[0]
    if top not in SAFE_MODULES and top not in _CLASS_IMPORTS:
        return f"{module} is not imported here, and safe mode imports nothing new"
    if "." not in module:
        return None
    # The package itself may be imported (it loads what it always loads);
    # a submodule it did not load stays out (`numpy.f2py`).
    if top not in sys.modules:
        try:
            importlib.import_module(top)
        except Exception:  # noqa: BLE001 - not installed: reported when rebuilding
            pass
    if module in sys.modules:
        return None
    return f"{module} is not imported here, and safe mode imports nothing new"


def capability_reason(obj: Any, what: str) -> str | None:
    """None when `obj` (a module, class or function a reference names)
    cannot write files, start processes or open sockets by being called;
    else why it is withheld."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        if _capable_module(name):
            return f"{what}: the module {name} reaches files, processes or the interpreter"
        return None
    name = getattr(obj, "__name__", None) or ""
    home = getattr(obj, "__module__", None) or ""
    owner = getattr(obj, "__self__", None)  # a builtin method's module or object
    if isinstance(owner, types.ModuleType):
        home = owner.__name__
    if home == "builtins" and name in SAFE_BUILTINS and getattr(builtins, name, None) is obj:
        return None
    if name in _CAPABLE_NAMES or _capable_module(home):
        return f"{what} can reach files, processes or the interpreter when called"
    if isinstance(obj, type):
        if _capable_class(obj):
            return f"{what}: instances of it reach files or processes"
        return None
    if not callable(obj):
        return f"{what} is not a module, class or function"
    return None


def _capable_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _CAPABLE_MODULES)


def _capable_class(cls: type) -> bool:
    np = sys.modules.get("numpy")
    if np is not None and issubclass(cls, np.ndarray) and cls is not np.ndarray and (
            cls is not getattr(np.ma, "MaskedArray", None)):
        return True  # memmap, recarray, matrix: subclasses are not data
    return any(_capable_module(getattr(k, "__module__", "") or "") for k in cls.__mro__
               if getattr(k, "__module__", None) != "builtins")


def _resolve(module: str, name: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _safe_class(obj: Any, top: str) -> bool:
    """A numpy, torch or pandas class (or torch dtype) that is data, not code."""
    if top == "numpy":
        return isinstance(obj, type) and obj in _numpy_classes()
    if top == "torch":
        torch = sys.modules["torch"]
        if isinstance(obj, (torch.dtype, torch.layout, torch.memory_format)):
            return True
        if not isinstance(obj, type):
            return False
        if obj in (torch.Size, torch.device, torch.Tensor, torch.nn.Parameter):
            return True
        home = getattr(obj, "__module__", "") or ""
        # torch's own classes only (a subclass defined elsewhere lives in
        # another module, which the import rule refuses first).
        if not _defined_where_found(obj):
            return False
        if issubclass(obj, torch.nn.Module):
            return home.startswith("torch.nn.") and not _capable_module(home)
        if issubclass(obj, torch.optim.Optimizer):
            return home.startswith("torch.optim.")
        storages = tuple(t for t in (getattr(torch, "UntypedStorage", None),
                                     getattr(torch, "TypedStorage", None)) if t is not None)
        return bool(storages) and issubclass(obj, storages) and home.startswith("torch")
    if top == "pandas":
        pd = sys.modules["pandas"]
        if isinstance(obj, (type(pd.NA), type(pd.NaT))):
            return True
        if not isinstance(obj, type):
            return False
        home = getattr(obj, "__module__", "") or ""
        if not home.startswith("pandas") or _capable_module(home):
            return False  # pandas' own classes only
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


def _numpy_classes() -> frozenset[type]:
    """numpy's data classes, exactly: ndarray, dtype and its classes, the
    scalar types, the random generators (no memmap, recarray, matrix)."""
    np = sys.modules["numpy"]
    found = {np.ndarray, np.dtype}
    for scalar in set(np.sctypeDict.values()):
        if isinstance(scalar, type):
            found.add(scalar)
            try:
                found.add(type(np.dtype(scalar)))
            except TypeError:
                pass
    found.update(t for t in (np.generic, np.number, np.integer, np.floating, np.complexfloating,
                             np.signedinteger, np.unsignedinteger, np.inexact, np.flexible,
                             np.character) if isinstance(t, type))
    random = np.random
    found.update(t for t in (getattr(random, n, None) for n in (
        "BitGenerator", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64", "Generator",
        "RandomState", "SeedSequence")) if isinstance(t, type))
    return frozenset(found)


def _defined_where_found(cls: type) -> bool:
    """Whether `cls` is the class its own module defines under its name."""
    home = sys.modules.get(getattr(cls, "__module__", "") or "")
    obj: Any = home
    for part in (getattr(cls, "__qualname__", "") or "").split("."):
        obj = getattr(obj, part, None)
    return obj is cls


class RestrictedUnpickler(pickle._Unpickler):  # Python's: its opcodes can be checked
    """An unpickler that loads only what :class:`Policy` allows; any other
    global raises :class:`Withheld` (nothing of it is imported or called).
    BUILD applies only to objects this pickle created, never to a class,
    module or function it named."""

    policy = Policy("--safe")
    # opcode -> handler, called with the unpickler (handlers of a subclass too)
    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)
    stack: list[Any]  # pickle._Unpickler's, not in its stubs

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._made: dict[int, object] = {}  # id -> an object this pickle created (kept alive)

    def find_class(self, module: str, name: str) -> Any:
        module, name = _py3_name(module, name)
        reason = self.policy.global_reason(module, name)
        if reason is not None:
            raise Withheld(reason)
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _torch_load_weights_only
        return super().find_class(module, name)

    def _load_build(self) -> None:
        stack = self.stack
        target = stack[-2] if len(stack) >= 2 else None
        if self._made.get(id(target)) is not target or isinstance(target, _NAMED):
            raise Withheld(f"its pickle sets the state of {_what(target)}, which it did not "
                           "create (BUILD on a class, module or function it named)")
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]  # not in the stubs


def _creating(load: Any) -> Any:
    """An opcode handler that records the object it leaves on the stack as
    created by the pickle (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)."""
    def created(self: RestrictedUnpickler) -> None:
        load(self)
        obj = self.stack[-1]
        self._made[id(obj)] = obj
    return created


for _op in (pickle.REDUCE, pickle.NEWOBJ, pickle.NEWOBJ_EX, pickle.OBJ, pickle.INST):
    RestrictedUnpickler.dispatch[_op[0]] = _creating(RestrictedUnpickler.dispatch[_op[0]])
RestrictedUnpickler.dispatch[pickle.BUILD[0]] = RestrictedUnpickler._load_build
del _op

_NAMED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
          types.MethodType, types.BuiltinMethodType)


def _what(obj: Any) -> str:
    if isinstance(obj, (type, types.ModuleType)) or callable(obj):
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or "?"
        home = getattr(obj, "__module__", None)
        return f"{home}.{name}" if home and not isinstance(obj, types.ModuleType) else str(name)
    return f"a {type(obj).__qualname__}"


def _py3_name(module: str, name: str) -> tuple[str, str]:
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


def pickle_globals(data: bytes) -> list[tuple[str, str]]:
    """The (module, name) globals a pickle names, read without loading it.
    A global whose name cannot be followed reads as ("?", "?")."""
    out: list[tuple[str, str]] = []
    pushed: list[object] = []
    memo: dict[object, object] = {}
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
                first, second = (pushed[-2], pushed[-1]) if len(pushed) >= 2 else (None, None)
                if isinstance(first, str) and isinstance(second, str):
                    out.append(_py3_name(first, second))
                else:
                    out.append(("?", "?"))
                pushed.append(None)
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                out.append(_py3_name(module, attr))
            else:
                pushed.append(None)
    except Exception:  # noqa: BLE001 - a damaged pickle: say so
        out.append(("?", "?"))
    return out


def audit(snapshot: Snapshot, policy: Policy) -> list[tuple[str, int]]:
    """What `policy` would withhold in `snapshot`: [(what, count)], most first."""
    counts: dict[str, int] = {}
    seen: set[int] = set()
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


def _audit_record(snapshot: Snapshot, record: JsonObject, policy: Policy) -> str | None:
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
