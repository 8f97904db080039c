"""Lightning (`lightning.pytorch.Trainer` or `pytorch_lightning.Trainer`): a
Callback appended to every Trainer created (Trainer.__init__ is wrapped),
and `fit()` wrapped for resuming.

- Snapshots: after every training batch (throttled like an inner loop,
  --inner-every), at every training epoch end and validation end (like an
  outer loop, --outer-every), and on an exception inside fit().
- Roots: `trainer:model` (the LightningModule), `trainer:optimizer` and
  `trainer:lr_scheduler` (the first of each; more as `trainer:optimizer_1`...),
  `trainer:trainer_state` (current_epoch, global_step, callback_metrics) and
  `trainer:checkpoint`: what Lightning's own checkpoint holds at this point
  (`dump_checkpoint()`: weights, optimizer and scheduler states, the loops'
  progress), which `restore --resume` writes as a .ckpt for `fit(ckpt_path=)`.
- Series: the values `self.log(...)` logged at each training step, at the
  trainer's `global_step`; epoch and validation values at validation and
  epoch ends.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from .. import rng
from ..agent import FrameworkPoint
from . import (
    current_agent,
    drop_wrapper_frame,
    init_adding_callback,
    take_resume_request,
    warn,
)

NAME = "lightning"

# The random states to set when a resumed fit() starts (frameworks/resume.py):
# Lightning's checkpoints do not hold them.
_pending_rng: dict[str, object] = {}


def patch(module: Any) -> None:
    trainer_class = module.Trainer
    if getattr(trainer_class, "_snapline_patched", False):
        return
    package = module.__name__.split(".", 1)[0]  # "lightning" or "pytorch_lightning"
    init, fit = trainer_class.__init__, trainer_class.fit

    def add_callback(trainer: Any) -> None:
        callback_class = _callback_class(package)
        if not any(isinstance(cb, callback_class) for cb in trainer.callbacks):
            trainer.callbacks.append(callback_class())

    __init__ = init_adding_callback(init, add_callback)

    @functools.wraps(fit)
    def fit_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = take_resume_request(NAME)
        if request is not None and kwargs.get("ckpt_path") is None and len(args) < 5:
            kwargs["ckpt_path"] = request["checkpoint"]
            _pending_rng.clear()
            _pending_rng.update(request.get("rng") or {})
        try:
            return fit(self, *args, **kwargs)
        except BaseException as exc:
            drop_wrapper_frame(exc)
            raise

    trainer_class.__init__ = __init__
    trainer_class.fit = fit_wrapper
    trainer_class._snapline_patched = True


_classes: dict[str, type] = {}


def _callback_class(package: str) -> type:
    """SnaplineCallback, subclassing the Callback of `package` (the two
    Lightning packages have distinct base classes)."""
    if package in _classes:
        return _classes[package]
    base: Any = sys.modules[f"{package}.pytorch" if package == "lightning" else package].Callback

    class SnaplineCallback(base):  # type: ignore[misc]  # Lightning has no stubs
        """Snapshots and metric series from inside Trainer.fit(); holds
        nothing (the agent is looked up at each event)."""

        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (new_callback, (package,))

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            # Before the first epoch's DataLoader iterator draws its shuffle
            # seed (FitLoop.setup_data); the sanity check isolates its RNG.
            if _pending_rng:
                for name, state in _pending_rng.items():
                    rng.set_state(name, state)
                _pending_rng.clear()

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:
            if _logging_step(trainer):
                _log(trainer, on_step=True)
            _snapshot(trainer, "iteration", f"step {trainer.global_step}", "inner", "step")

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            _log(trainer, on_step=False)
            _snapshot(trainer, "iteration", f"epoch {trainer.current_epoch + 1}", "outer",
                      "epoch")

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking:
                return
            _log(trainer, on_step=False)
            _snapshot(trainer, "iteration", f"validation at step {trainer.global_step}",
                      "outer", "validation")

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            if isinstance(exception, Exception):
                _snapshot(trainer, "exception", "exception in Trainer.fit()", None, "exception",
                          exception)

    SnaplineCallback.__qualname__ = SnaplineCallback.__name__
    _classes[package] = SnaplineCallback
    return SnaplineCallback


def new_callback(package: str) -> Any:
    """Unpickles a SnaplineCallback (a fresh one: it holds no state)."""
    return _callback_class(package)()


def _logging_step(trainer: Any) -> bool:
    """Whether Lightning's loggers log this step (`log_every_n_steps`): the
    step values become points at the same steps (as LearningRateMonitor
    asks, through the logger connector)."""
    try:
        return bool(trainer._logger_connector.should_update_logs)
    except AttributeError:  # another Lightning version
        every = getattr(trainer, "log_every_n_steps", 1) or 1
        return bool(trainer.global_step % every == 0)


def _log(trainer: Any, on_step: bool) -> None:
    """The values `self.log` logged since the last call, as points at the
    trainer's global step."""
    agent = current_agent()
    if agent is None:
        return
    try:
        try:
            results = trainer._results
            values = results.metrics(on_step)["log"] if results is not None else {}
        except AttributeError:  # another Lightning version: what callbacks see
            values = dict(trainer.callback_metrics)
        if values:
            agent.log(trainer.global_step, dict(values), epoch=trainer.current_epoch)
    except Exception as exc:  # noqa: BLE001 - failsafe: the program goes on
        warn(f"lightning: logged values: {type(exc).__name__}: {exc}")


def roots(trainer: Any, checkpoint: bool) -> list[tuple[str, object]]:
    out = [("trainer:model", trainer.lightning_module)]
    for index, optimizer in enumerate(trainer.optimizers or ()):
        out.append((f"trainer:optimizer{f'_{index}' if index else ''}", optimizer))
    for index, config in enumerate(trainer.lr_scheduler_configs or ()):
        out.append((f"trainer:lr_scheduler{f'_{index}' if index else ''}", config.scheduler))
    out.append(("trainer:trainer_state", {
        "current_epoch": trainer.current_epoch, "global_step": trainer.global_step,
        "callback_metrics": dict(trainer.callback_metrics)}))
    if checkpoint:
        out.append(("trainer:checkpoint",
                    trainer._checkpoint_connector.dump_checkpoint(weights_only=False)))
    return out


def _snapshot(trainer: Any, trigger: str, label: str, every: str | None, event: str,
              exception: BaseException | None = None) -> None:
    agent = current_agent()
    if agent is None or not agent.framework_due(every):
        return
    try:
        # The epoch loop's own count: at an epoch end, that epoch is done.
        done = trainer.current_epoch + (1 if event == "epoch" else 0)
        point = FrameworkPoint(
            trigger=trigger, label=label, roots=lambda: roots(trainer, checkpoint=event != "exception"),
            epoch=done,
            position={"name": NAME, "event": event, "global_step": trainer.global_step,
                      "epoch": trainer.current_epoch,
                      "batch_idx": trainer.fit_loop.epoch_loop.batch_idx},
            every=every, exception=exception)
    except Exception as exc:  # noqa: BLE001 - failsafe
        warn(f"lightning: {type(exc).__name__}: {exc}")
        return
    try:
        agent.framework_point(point)
    except Exception as exc:  # noqa: BLE001 - failsafe: the program goes on
        warn(f"lightning: {type(exc).__name__}: {exc}")


def write_checkpoint(checkpoint: dict[str, Any], path: str) -> str:
    """The .ckpt `fit(ckpt_path=)` reads, from the snapshot's `trainer:checkpoint`."""
    import torch

    torch.save(checkpoint, path)
    return path
