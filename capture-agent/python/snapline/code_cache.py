"""The code cache: instrumented code kept between runs, as `__pycache__`
keeps bytecode, so that a run of an unchanged script or project module
neither parses nor rewrites it again.

Rewriting costs several times what compiling does (a 4,800-line module:
about 130 ms against 37 ms), and without a cache every `snapline run` paid
it for the script and for every module of the user's project it imported,
where plain python loads those from `__pycache__` in a fraction of a
millisecond. A hit also spares the start-up the import of `ast` and the
rewriter.

An entry is one file, `<digest>.code`, holding the marshalled code and the
loops' descriptions with the full key they were made for:

* the kind (script or project module), the file name and the first loop id
  (the code embeds all three);
* the source's 128-bit xxh3 digest (the store's content address);
* the rewriter's own files (size and modification time, as `__pycache__`
  checks a source), so that a new agent never runs an old rewrite;
* the interpreter's version (bytecode and marshal format).

An entry is used only when its stored key equals the run's; anything
unreadable is a miss. Code whose compilation warned (a `SyntaxWarning`) is
not cached, so the warning shows at every run, as it does for a plain
script.

Where: `$SNAPLINE_CODE_CACHE` (`0` turns the cache off), else
`$XDG_CACHE_HOME/snapline/code`, else `~/.cache/snapline/code`: the user's
own directory (created private), never the store, which travels to other
people. At most `MAX_ENTRIES` files are kept; the oldest go first.
"""

from __future__ import annotations

import marshal
import os
import sys
import threading
import types
import warnings

from . import _native
from .instrumented import Instrumented, LoopInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Key = tuple[Any, ...]

__all__ = ["MAX_ENTRIES", "directory", "instrument_module", "instrument_script"]

# Bumped when an entry's layout changes.
_FORMAT = 1
MAX_ENTRIES = 512
_SUFFIX = ".code"
# The files whose change must invalidate every entry.
_REWRITER_FILES = ("rewrite.py", "instrumented.py", "code_cache.py")
_stamp_value: tuple[tuple[int, int], ...] | None = None
_stamp_lock = threading.Lock()


def directory() -> str | None:
    """The cache's directory; None when `SNAPLINE_CODE_CACHE=0` or when
    there is no home directory to keep it in."""
    setting = os.environ.get("SNAPLINE_CODE_CACHE", "")
    if setting == "0":
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None  # no home directory: no cache (never a `~` folder in the cwd)
        base = os.path.join(home, ".cache")
    return os.path.join(base, "snapline", "code")


def instrument_script(source: bytes, path: str, first_loop_id: int) -> Instrumented:
    """rewrite.instrument(source, path, first_loop_id), from the cache when
    it holds this source's instrumented code."""
    return _instrumented("script", source, path, first_loop_id)


def instrument_module(source: bytes, path: str, first_loop_id: int) -> Instrumented:
    """rewrite.instrument_module(source, path, first_loop_id), from the
    cache when it holds this source's instrumented code."""
    return _instrumented("module", source, path, first_loop_id)


def _instrumented(kind: str, source: bytes, path: str, first_loop_id: int) -> Instrumented:
    folder = directory()
    key = _key(kind, source, path, first_loop_id) if folder is not None else None
    entry = os.path.join(folder, _native.hash_bytes(repr(key).encode()) + _SUFFIX) \
        if folder is not None and key is not None else None
    if entry is not None:
        found = _load(entry, key)
        if found is not None:
            return found

    from . import rewrite

    make = rewrite.instrument if kind == "script" else rewrite.instrument_module
    # Recorded (filters still apply: `-W error` still raises), then shown as
    # compiling would have shown them.
    with warnings.catch_warnings(record=True) as caught:
        try:
            result = make(source, path, first_loop_id)
        finally:
            shown = list(caught)
    for w in shown:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
    if entry is not None and not shown:
        _save(entry, key, result)
    return result


def _key(kind: str, source: bytes, path: str, first_loop_id: int) -> Key | None:
    stamp = _stamp()
    if stamp is None:
        return None
    return (_FORMAT, kind, path, first_loop_id, _native.hash_bytes(source), stamp,
            sys.hexversion, sys.implementation.cache_tag)


def _stamp() -> tuple[tuple[int, int], ...] | None:
    """(size, mtime) of the rewriter's files; None if one can't be read."""
    global _stamp_value
    with _stamp_lock:
        if _stamp_value is None:
            here = os.path.dirname(os.path.abspath(__file__))
            try:
                stats = [os.stat(os.path.join(here, name)) for name in _REWRITER_FILES]
            except OSError:
                return None
            _stamp_value = tuple((s.st_size, s.st_mtime_ns) for s in stats)
        return _stamp_value


def _load(entry: str, key: Key | None) -> Instrumented | None:
    try:
        with open(entry, "rb") as f:
            data = f.read()
        fmt, stored_key, code, loops = marshal.loads(data)
        if fmt != _FORMAT or stored_key != key or type(code) is not types.CodeType:
            return None
        return Instrumented(code, tuple(LoopInfo(*loop) for loop in loops))
    except Exception:  # noqa: BLE001 - a damaged or foreign entry is a miss
        return None


def _save(entry: str, key: Key | None, result: Instrumented) -> None:
    """Writes the entry atomically (other processes may read it meanwhile);
    never fails the run."""
    folder = os.path.dirname(entry)
    temporary = f"{entry}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        data = marshal.dumps((_FORMAT, key, result.code, [tuple(loop) for loop in result.loops]))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, entry)
        _prune(folder)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _prune(folder: str) -> None:
    """Keeps the newest MAX_ENTRIES * 3/4 entries once there are more than
    MAX_ENTRIES."""
    with os.scandir(folder) as it:
        entries = [e for e in it if e.name.endswith(_SUFFIX)]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for e in entries[:len(entries) - MAX_ENTRIES * 3 // 4]:
        try:
            os.unlink(e.path)
        except OSError:
            pass
