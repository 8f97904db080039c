"""Training frameworks seen from the inside, with no change to the script.

When the captured program imports one (Hugging Face `transformers.Trainer`,
Lightning's `Trainer`), the module for it here adds a callback to every
trainer created, through the framework's own callback API. The callback
takes snapshots through the agent (Agent.framework_point) with the trainer's
model, optimizer, scheduler and state as extra roots, and turns the
framework's logged values into metric series at the framework's step
(Agent.log). No second capture path: the agent's snapshot, throttles and
failsafe are the ones every safe point uses.

A `restore --resume` of such a snapshot goes through the framework's own
resume path (frameworks/resume.py): it sets `resume_request` before the
script runs again, and the patched `train()` / `fit()` pass it on.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    import importlib.abc

# The module that defines each framework's Trainer -> the module here that attaches to it.
TARGETS = {
    "transformers.trainer": "transformers",
    "lightning.pytorch.trainer.trainer": "lightning",
    "pytorch_lightning.trainer.trainer": "lightning",
}

class ResumeRequest(TypedDict):
    """A resumed run's request to the framework's first train()/fit()."""

    framework: str  # "transformers" or "lightning"
    checkpoint: str  # the checkpoint written from the snapshot
    rng: dict[str, object]  # the snapshot's random states, by name


# Set by frameworks/resume.py for a resumed run; the first train()/fit() call takes it.
resume_request: ResumeRequest | None = None

_attached: set[str] = set()


def install() -> None:
    """Attach to the frameworks already imported, and to the others when
    the program imports them (a post-import hook on sys.meta_path)."""
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None:
            attach(name, module)
    if not any(isinstance(f, _PostImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())


def attach(name: str, module: Any) -> None:
    """Patch the Trainer of `module` (one of TARGETS) once; failsafe."""
    if name in _attached:
        return
    _attached.add(name)
    try:
        if TARGETS[name] == "transformers":
            from . import transformers

            transformers.patch(module)
        else:
            from . import lightning

            lightning.patch(module)
    except Exception as exc:  # noqa: BLE001 - the program goes on without the integration
        warn(f"cannot attach to {name}: {type(exc).__name__}: {exc}")


def init_adding_callback(init: Any, add_callback: Any) -> Any:
    """A Trainer `__init__` that runs `init`, then `add_callback(trainer)`
    (failsafe: a failure is a warning and the trainer works without it)."""

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except BaseException as exc:
            drop_wrapper_frame(exc)
            raise
        try:
            add_callback(self)
        except Exception as exc:  # noqa: BLE001 - failsafe
            warn(f"cannot add the callback to {type(self).__name__}: {exc}")

    return __init__


def take_resume_request(framework: str) -> ResumeRequest | None:
    """The pending resume for `framework`, once (the first train()/fit())."""
    global resume_request
    request = resume_request
    if request is None or request.get("framework") != framework:
        return None
    resume_request = None
    return request


def drop_wrapper_frame(exc: BaseException) -> None:
    """Before a bare `raise` in one of our wrappers of the framework's
    methods: the traceback starts after the wrapper, so the program prints
    the one it prints without Snapline (a re-raise adds no entry)."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename.startswith(os.path.dirname(__file__)):
        exc.__traceback__ = tb.tb_next


def current_agent() -> Any:
    """The agent capturing this process (None: not captured)."""
    from .. import _agent

    agent = _agent()
    return agent if getattr(agent, "framework_point", None) is not None else None


def warn(message: str) -> None:
    """An integration's internal error: stored as the run's warning when
    captured (the program's output stays unchanged)."""
    agent = current_agent()
    if agent is None:
        return
    try:
        import time

        agent.recorder.warn(time.time(), f"framework integration: {message}")
    except Exception:  # noqa: BLE001 - the store itself may be the problem
        pass


class _PostImportFinder:  # (a meta path finder; importlib.abc costs 10 ms to import)
    """Finds nothing itself: for the modules in TARGETS it wraps the real
    loader so that `attach` runs right after the module is executed."""

    def __init__(self) -> None:
        self.busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in TARGETS or fullname in self.busy or fullname in _attached:
            return None
        self.busy.add(fullname)
        try:
            import importlib.util

            spec = importlib.util.find_spec(fullname)
        except Exception:  # noqa: BLE001 - let the normal import report it
            return None
        finally:
            self.busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = cast("importlib.abc.Loader", _AttachingLoader(spec.loader, fullname))
        return spec


class _AttachingLoader:  # (a loader: create_module and exec_module)
    def __init__(self, loader: Any, fullname: str) -> None:
        self.loader = loader
        self.fullname = fullname

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        attach(self.fullname, module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... of the real loader
        return getattr(self.loader, name)
