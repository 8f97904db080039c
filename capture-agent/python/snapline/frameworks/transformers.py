"""Hugging Face `transformers.Trainer`: a TrainerCallback added to every
Trainer created (Trainer.__init__ is wrapped), and `train()` wrapped for
exceptions and for resuming.

- Snapshots: every optimizer step (throttled like an inner loop,
  --inner-every), every epoch end and evaluation (like an outer loop,
  --outer-every), and an exception raised inside train().
- Roots: `trainer:model`, `trainer:optimizer` and `trainer:lr_scheduler`
  (the torch objects accelerate wraps: those restore), `trainer:trainer_state`
  (the TrainerState); the RNG states are the agent's `$rng.*`.
- Series: each `on_log` value (loss, learning_rate, grad_norm, eval_*...)
  at `state.global_step`, the epoch being `state.epoch`.
- Resume: `write_checkpoint` makes the checkpoint-N directory
  Trainer._save_checkpoint would have written at the snapshot, and the
  first `train()` of the resumed script gets `resume_from_checkpoint=`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import types
import weakref
from typing import Any

from transformers import TrainerCallback

from ..agent import FrameworkPoint
from . import (
    current_agent,
    drop_wrapper_frame,
    init_adding_callback,
    take_resume_request,
    warn,
)

NAME = "transformers"
# Logged values that are not curves (the x axis, run totals).
_NOT_SERIES = {"epoch", "total_flos"}


def patch(module: Any) -> None:
    trainer_class = module.Trainer
    if getattr(trainer_class, "_snapline_patched", False):
        return
    init, train = trainer_class.__init__, trainer_class.train

    def add_callback(trainer: Any) -> None:
        if not any(isinstance(cb, SnaplineCallback) for cb in trainer.callback_handler.callbacks):
            trainer.add_callback(SnaplineCallback(trainer))

    __init__ = init_adding_callback(init, add_callback)

    @functools.wraps(train)
    def train_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = take_resume_request(NAME)
        if request is not None and not args and kwargs.get("resume_from_checkpoint") is None:
            kwargs["resume_from_checkpoint"] = request["checkpoint"]
        try:
            return train(self, *args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, Exception):
                _snapshot(self, "exception", "exception in Trainer.train()", None, exception=exc)
            drop_wrapper_frame(exc)
            raise

    trainer_class.__init__ = __init__
    trainer_class.train = train_wrapper
    trainer_class._snapline_patched = True


class SnaplineCallback(TrainerCallback):  # type: ignore[misc]  # transformers has no stubs
    """Snapshots and metric series from inside Trainer.train(). Holds only
    a weak reference to its Trainer (the agent is looked up at each event),
    so it pickles as nothing."""

    def __init__(self, trainer: Any = None) -> None:
        self.trainer = weakref.ref(trainer) if trainer is not None else None

    def __reduce__(self) -> tuple[type[SnaplineCallback], tuple[()]]:
        return (SnaplineCallback, ())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        _snapshot(self._trainer(kwargs), "iteration", f"step {state.global_step}", "inner",
                  event="step", state=state)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        _snapshot(self._trainer(kwargs), "iteration", f"epoch {_epochs_done(state)}", "outer",
                  event="epoch", state=state)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        _snapshot(self._trainer(kwargs), "iteration", f"evaluate at step {state.global_step}",
                  "outer", event="evaluate", state=state)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
               **kwargs: Any) -> None:
        agent = current_agent()
        if agent is None or not logs:
            return
        values = {k: v for k, v in logs.items() if k not in _NOT_SERIES}
        # The epoch the step is in, counted from 0 (state.epoch is 1.0 at
        # the first epoch's last step).
        epoch = max(math.ceil(state.epoch - 1e-6) - 1, 0) if state.epoch else 0
        try:
            agent.log(state.global_step, values, epoch=epoch)
        except Exception as exc:  # noqa: BLE001 - failsafe: the program goes on
            warn(f"transformers: logged values: {type(exc).__name__}: {exc}")

    def _trainer(self, kwargs: dict[str, Any]) -> Any:
        """The Trainer (or, when it is gone, what the event was given)."""
        trainer = self.trainer() if self.trainer is not None else None
        if trainer is not None:
            return trainer
        return types.SimpleNamespace(model=kwargs.get("model"),
                                     optimizer=kwargs.get("optimizer"),
                                     lr_scheduler=kwargs.get("lr_scheduler"), state=None)


def roots(trainer: Any, state: Any = None) -> list[tuple[str, object]]:
    """The trainer's objects to capture, unwrapped to what restores."""
    out: list[tuple[str, object]] = []
    model = getattr(trainer, "model", None)
    while model is not None and type(model).__name__ in (
            "DataParallel", "DistributedDataParallel") and hasattr(model, "module"):
        model = model.module
    if model is not None:
        out.append(("trainer:model", model))
    optimizer = _unwrap(getattr(trainer, "optimizer", None), "optimizer")
    if optimizer is not None:
        out.append(("trainer:optimizer", optimizer))
    scheduler = _unwrap(getattr(trainer, "lr_scheduler", None), "scheduler")
    if scheduler is not None:
        out.append(("trainer:lr_scheduler", scheduler))
    state = state if state is not None else getattr(trainer, "state", None)
    if state is not None:
        out.append(("trainer:trainer_state", state))
    return out


def _unwrap(obj: Any, attribute: str) -> Any:
    """accelerate's AcceleratedOptimizer / AcceleratedScheduler hold the
    torch object (and weakrefs that do not pickle): capture the torch one."""
    while obj is not None and type(obj).__name__.startswith("Accelerated") and hasattr(
            obj, attribute):
        obj = getattr(obj, attribute)
    return obj


def _epochs_done(state: Any) -> int:
    epoch = state.epoch or 0.0
    return math.floor(epoch + 1e-6)


def _snapshot(trainer: Any, trigger: str, label: str, every: str | None, *,
              event: str = "exception", state: Any = None,
              exception: BaseException | None = None) -> None:
    agent = current_agent()
    if agent is None or not agent.framework_due(every):
        return
    try:
        state = state if state is not None else getattr(trainer, "state", None)
        step = getattr(state, "global_step", None)
        point = FrameworkPoint(
            trigger=trigger, label=label, roots=lambda: roots(trainer, state),
            epoch=_epochs_done(state) if state is not None else None,
            position={"name": NAME, "event": event, "global_step": step,
                      "epoch": getattr(state, "epoch", None)},
            every=every, exception=exception)
    except Exception as exc:  # noqa: BLE001 - failsafe
        warn(f"transformers: {type(exc).__name__}: {exc}")
        return
    try:
        agent.framework_point(point)
    except Exception as exc:  # noqa: BLE001 - failsafe: the program goes on
        warn(f"transformers: {type(exc).__name__}: {exc}")


def write_checkpoint(objects: dict[str, Any], rng: dict[str, object], directory: str) -> str:
    """Writes the `checkpoint-N` directory Trainer._save_checkpoint writes,
    from a snapshot's rebuilt objects (`model`, `optimizer`,
    `lr_scheduler`, `trainer_state`) and RNG states; returns its path."""
    import torch

    state = objects["trainer_state"]
    path = os.path.join(directory, f"checkpoint-{state.global_step}")
    os.makedirs(path, exist_ok=True)
    objects["model"].save_pretrained(path)
    if objects.get("optimizer") is not None:
        torch.save(objects["optimizer"].state_dict(), os.path.join(path, "optimizer.pt"))
    if objects.get("lr_scheduler") is not None:
        torch.save(objects["lr_scheduler"].state_dict(), os.path.join(path, "scheduler.pt"))
    rng_state = {"python": rng.get("random"), "numpy": rng.get("numpy"),
                 "cpu": rng.get("torch")}
    if rng.get("torch_cuda") is not None:
        rng_state["cuda"] = rng["torch_cuda"]
    torch.save({k: v for k, v in rng_state.items() if v is not None},
               os.path.join(path, "rng_state.pth"))
    state.save_to_json(os.path.join(path, "trainer_state.json"))
    with open(os.path.join(path, "trainer_state.json")) as f:
        json.load(f)  # written whole
    return path
