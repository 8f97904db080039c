"""The random generators a snapshot keeps and a restore sets back: Python's
`random`, numpy's global generator and torch's CPU and CUDA generators (the
last three only when the program imported them). The agent reads them
(`states`) into each snapshot as `$rng.NAME`; restore, resume and the
Lightning integration set them (`set_state`)."""

from __future__ import annotations

import array
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .values import JsonObject

#: The generator names, as snapshot roots `$rng.NAME` use them.
NAMES = ("random", "numpy", "torch", "torch_cuda")


def states() -> list[tuple[str, Any]]:
    """(name, state) of each generator the program has, in `NAMES` order."""
    out: list[tuple[str, Any]] = []
    # Python's `random` the same way: before the program (or a library it
    # imported) imports it, no one has drawn from its generator, and
    # importing it here would be one more module the program finds loaded.
    random = sys.modules.get("random")
    if random is not None:
        out.append(("random", random.getstate()))
    # `numpy.random` itself, only once the program has imported it: numpy 2
    # loads it on first use of `np.random`, and reading the state through
    # `np.random` would import it on the program's behalf (about 20 ms, and
    # a module the program never asked for). Before that import there is no
    # global generator to save.
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        try:
            out.append(("numpy", np_random.get_state()))
        except Exception:  # noqa: BLE001 - a numpy without its random module
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            out.append(("torch", torch.get_rng_state()))
            if torch.cuda.is_initialized() and torch.cuda.is_available():
                out.append(("torch_cuda", torch.cuda.get_rng_state_all()))
        except Exception:  # noqa: BLE001 - a partial torch: its states are left out
            pass
    return out


def set_state(name: str, state: Any) -> None:
    """Sets generator `name` (one of `NAMES`) to `state`."""
    if name == "random":
        import random

        random.setstate(state)
    elif name == "numpy":
        import numpy as np

        np.random.set_state(state)
    elif name == "torch":
        import torch

        torch.set_rng_state(state)
    elif name == "torch_cuda":
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state)


# -- compact records of Mersenne Twister states (issue #16) -------------------
#
# Python's `random` state is `(3, <625 ints: 624 words and the position>,
# gauss_next)` and numpy's legacy `get_state()` is `("MT19937", <624 uint32
# array>, pos, has_gauss, cached_gaussian)`. Walked as values, the first
# is ~7 KB of JSON at every draw; here the 624 words become one binary chunk
# of little-endian uint32 (2.5 KB, new only when the generator regenerates
# them, every 624 words drawn) and the rest a few fields in the record's
# `extra` (`"encoding": "rng"`), read back bit for bit by `decode_state`.
# (torch's states are byte tensors: arrays, stored as binary chunks already.)

#: `extra.encoding` of a value record holding a generator state this way.
ENCODING = "rng"
# An array typecode of 4-byte unsigned ints ("I" on every platform Python
# supports today; "L" where int is 2 bytes).
_U32 = "I" if array.array("I").itemsize == 4 else "L"


def compact_state(state: object) -> tuple[bytes, JsonObject, str] | None:
    """(the words as little-endian uint32 bytes, the record's `extra`, a
    preview) of a Mersenne Twister state, or None for anything else (it is
    then walked as usual)."""
    from .values import encode

    if not isinstance(state, tuple) or type(state) is not tuple:
        return None
    if (len(state) == 3 and type(state[0]) is int and type(state[1]) is tuple
            and len(state[1]) > 1 and type(state[1][-1]) is int
            and 0 <= state[1][-1] < len(state[1])):
        # The key's words in the chunk, its position (the last int) in the
        # record: a few draws move the position only, and the chunk is
        # stored again only when the generator regenerates its words.
        words = _uint32_bytes(state[1][:-1])
        if words is None or not (state[2] is None or type(state[2]) is float):
            return None
        extra: JsonObject = {"encoding": ENCODING, "generator": "random", "version": state[0],
                 "pos": state[1][-1], "gauss": encode(state[2]), "words": len(state[1]) - 1}
        preview = (f"Mersenne Twister state (random), {len(state[1]) - 1} words, "
                   f"position {state[1][-1]}")
        return words, extra, preview
    np = sys.modules.get("numpy")
    if (np is not None and len(state) == 5 and state[0] == "MT19937"
            and type(state[1]) is np.ndarray and state[1].dtype == np.uint32
            and state[1].ndim == 1):
        pos, has_gauss, gauss = state[2], state[3], state[4]
        if not (_is_int(pos, np) and _is_int(has_gauss, np) and isinstance(gauss, float)):
            return None
        extra = {"encoding": ENCODING, "generator": "numpy_legacy", "bit_generator": "MT19937",
                 "pos": int(pos), "has_gauss": int(has_gauss), "gauss": encode(float(gauss)),
                 "words": int(state[1].size)}
        preview = f"Mersenne Twister state (numpy), {state[1].size} words, position {int(pos)}"
        return state[1].astype("<u4").tobytes(), extra, preview
    return None


def decode_state(extra: dict[str, Any], data: bytes) -> object:
    """The state `compact_state` made `extra` and `data` of, as the
    generator's `getstate()` gives it; ValueError when it is not one."""
    from .values import decode

    generator = extra.get("generator")
    if len(data) % 4 or len(data) // 4 != extra.get("words"):
        raise ValueError(f"a {generator} RNG state of {len(data)} bytes, "
                         f"not {extra.get('words')} words: the store is damaged")
    if generator == "random":
        words = array.array(_U32)
        words.frombytes(data)
        if sys.byteorder == "big":
            words.byteswap()
        return (extra["version"], (*words, extra["pos"]), decode(extra.get("gauss")))
    if generator == "numpy_legacy":
        import numpy as np

        key = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        return (extra.get("bit_generator", "MT19937"), key, int(extra["pos"]),
                int(extra["has_gauss"]), float(decode(extra["gauss"])))
    raise ValueError(f"unknown RNG state encoding {generator!r}: "
                     "restore it with a newer snapline")


def _uint32_bytes(values: tuple[object, ...]) -> bytes | None:
    """`values` as little-endian uint32 bytes, or None when one is not an
    int in 0..2**32-1."""
    ints = [v for v in values if type(v) is int]
    if len(ints) != len(values):
        return None
    try:
        words = array.array(_U32, ints)
    except OverflowError:
        return None
    if sys.byteorder == "big":
        words.byteswap()
    return words.tobytes()


def _is_int(value: object, np: types.ModuleType) -> bool:
    """An int or a numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
