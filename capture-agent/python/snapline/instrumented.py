"""What instrumenting a script or module produces: its code and the static
description of its loops, and the global names its hook calls go through.

Kept apart from rewrite.py (which imports `ast` and does the rewriting) so
that a run whose instrumented code comes from the code cache
(code_cache.py) never imports the rewriter."""

from __future__ import annotations

import types
from typing import NamedTuple

__all__ = ["HOOK_NAME", "RESUME_HOOK_NAME", "Instrumented", "LoopInfo"]

#: Global name through which instrumented code reaches the hook object.
HOOK_NAME = "__snapline__"

#: Global name through which a resumed run's continuation reaches its hooks.
RESUME_HOOK_NAME = "__snapline_resume__"


class LoopInfo(NamedTuple):
    """Static description of one instrumented loop. (Named tuples, not
    dataclasses, here and below: `dataclasses` imports `inspect`, about
    5 ms of every `snapline run`'s start-up.)"""

    loop_id: int  # 0, 1, 2 ... in source order (imported modules' continue the count)
    lineno: int  # line of the ``for``/``while`` keyword
    function: str  # qualified name of the enclosing scope, "<module>" at top level
    kind: str  # "for" or "while"
    # Names the loop's body assigns (not loop targets): read at every
    # iteration for scalar metric points (agent.Agent.iteration).
    # Not compared: two LoopInfo are equal when they describe the same loop.
    assigned: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LoopInfo):
            return NotImplemented
        return self[:4] == other[:4]

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, LoopInfo):
            return NotImplemented
        return self[:4] != other[:4]

    def __hash__(self) -> int:
        return hash(self[:4])


class Instrumented(NamedTuple):
    """What rewrite.instrument and rewrite.instrument_module return."""

    code: types.CodeType  # ready for exec(code, main_globals)
    loops: tuple[LoopInfo, ...]  # indexed by loop_id
