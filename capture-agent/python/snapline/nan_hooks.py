"""`snapline run --nan-hooks`: record the first module and step whose output
or gradient went non-finite, and the first numpy floating-point error.

Each finding becomes one event of kind "nonfinite" in the store
(`Recorder.event`), placed after the last snapshot committed before it:

- torch, forward: a global forward hook (`register_module_forward_hook`)
  checks every module's floating outputs. Children's hooks fire before their
  parents', so the first module caught is the innermost one that produced
  the NaN/Inf. Its inputs' ranges come with it.
- torch, backward: that same hook puts a gradient hook on each module's
  outputs (grad_output) and on the inputs of leaf modules (grad_input).
  Gradients flow from the loss back, so the first gradient tensor found
  non-finite is where the backward pass went wrong; among the modules
  watching that tensor, the one that *consumed* it (whose backward computed
  it, from a finite grad_output) is named, with "grad_input"; when no module
  consumed it (the loss function was not a module, or functional code ran
  in between), the innermost module that produced it is named, with
  "grad_output". torch's module *backward* hooks are not used: they wrap
  every output in a view that in-place operations (`nn.ReLU(inplace=True)`)
  then refuse to modify, which would change the program.
- numpy: `warnings._showwarnmsg` is wrapped, so the first "invalid value /
  divide by zero / overflow / underflow encountered in ..." RuntimeWarning
  that numpy shows is recorded, then shown exactly as before. Nothing is
  recorded for errors numpy does not warn about (`np.seterr(all="ignore")`,
  or a warnings filter that ignores them); `np.seterr` is never touched.
  The same wrapper drops torch.compile's warning that global module hooks
  are installed, when ours are the only ones.

Only the first forward, first backward and first numpy finding of a run are
recorded; each kind of check stops after its finding, and the torch hooks
are removed once both torch findings are in. torch is never imported here:
the hooks go in once the script has imported it (checked at the agent's
safe points). Every hook is failsafe: an error in one becomes a warning
stored with the run and switches that part off; outputs, gradients and
exceptions are never changed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import threading
import time
import traceback
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

from .values import JsonObject

KIND = "nonfinite"

# The RuntimeWarnings numpy's floating-point error handling ("warn") shows.
_NUMPY_FP = re.compile(r"(invalid value|divide by zero|overflow|underflow) encountered in ")

# torch.compile(module) warns about this while any global module hook is in.
_COMPILE_HOOKS_WARNING = "Using `torch.compile(module)` when there are global hooks on modules"

# torch.nn modules whose output is finite when their input is (checked
# only when their input was not just found finite).
_FINITE_PRESERVING = (
    "ReLU", "ReLU6", "Hardtanh", "Sigmoid", "Tanh", "Hardsigmoid", "Softsign",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d", "Flatten", "Unflatten", "Identity",
)

# At most this many tensors per module output / inputs are looked at.
_MAX_TENSORS = 64
# ... and this many inputs are described in an event.
_MAX_INPUTS = 8


class _ModuleInfo:
    """What the hooks keep per module object (by id, dropped with it)."""

    __slots__ = ("backward_passes", "calls", "ref", "root")

    def __init__(self, module: Any, root: bool, forget: Any) -> None:
        self.ref = weakref.ref(module, forget)
        self.root = root  # called from no other module's forward when first seen
        self.calls = 0  # completed forward calls
        self.backward_passes = 0  # backward passes that reached its output (roots only)


class _GradLabel:
    """A gradient hook on one tensor: which module's grad_output or
    grad_input it is. `key` names the tensor (labels of the same tensor
    share it); `consumer` is the leaf module that took this output as input."""

    __slots__ = ("consumer", "consumer_inputs", "hooks", "inputs", "key", "module", "passes",
                 "what")

    def __init__(self, hooks: NanHooks, module: Any, what: str, key: int,
                 inputs: tuple[weakref.ref[object], ...]) -> None:
        self.hooks = hooks
        self.module = module
        self.what = what
        self.key = key
        self.inputs = inputs  # weak references to the module's tensor inputs
        self.consumer: Any = None
        self.consumer_inputs: tuple[weakref.ref[object], ...] = ()
        self.passes: _ModuleInfo | None = None  # a root whose backward passes this counts

    def __call__(self, grad: Any) -> None:
        """The gradient of the labelled tensor; returns None: unchanged."""
        hooks = self.hooks
        if self.passes is not None:
            self.passes.backward_passes += 1
        if hooks.backward_open and hooks.torch_on:
            try:
                if not hooks.all_finite(grad):
                    hooks.observe_gradient(self, grad)
            except Exception as exc:  # noqa: BLE001 - never disturb the backward pass
                hooks.torch_failed(exc)


@dataclass
class _PendingGradient:
    """The first non-finite gradient of a backward pass, attributed when
    the pass ends."""

    key: int  # the tensor's (its labels share it)
    stats: JsonObject
    where: tuple[str | None, int | None, str | None]  # (file, line, function)
    loops: list[int]
    labels: list[_GradLabel]  # every label of the tensor, in the order they fired


class NanHooks:
    """The hooks of one captured run (`Agent.nan_hooks`)."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.pid = os.getpid()
        # torch: waiting until the script imports it; then hooked.
        self.waiting = True
        self.torch: Any = None
        self.torch_on = False
        self.handles: list[Any] = []  # torch's RemovableHandles
        self.forward_open = True  # no non-finite module output recorded yet
        self.backward_open = True  # no non-finite gradient recorded yet
        self.numpy_open = True  # no numpy floating-point warning recorded yet
        self.modules: dict[int, _ModuleInfo] = {}  # id(module) -> _ModuleInfo
        # Outputs watched for gradients during the current root forward:
        # id(tensor) -> (weakref, version, label).
        self.produced: dict[int, tuple[weakref.ref[object], int, _GradLabel]] = {}
        # (weakref, version) of the last output checked
        self.last_checked: tuple[weakref.ref[object], int] | None = None
        # The first non-finite gradient of the current backward pass.
        self.pending: _PendingGradient | None = None
        self.lock = threading.Lock()
        self.showwarnmsg: Any = None  # ours, while installed
        self.original_showwarnmsg: Any = None

    # -- life cycle ----------------------------------------------------------------
    def install(self) -> None:
        try:
            self._hook_numpy_warnings()
            os.register_at_fork(after_in_child=self._after_fork)
            self.poll()
        except Exception as exc:  # noqa: BLE001 - the program runs on without the hooks
            self._warn("nan hooks could not be installed", exc)

    def poll(self) -> None:
        """At the agent's safe points: hook torch once the script has imported it."""
        if not self.waiting or "torch" not in sys.modules:
            return
        self.waiting = False
        try:
            self._hook_torch()
        except Exception as exc:  # noqa: BLE001
            self._warn("nan hooks: the torch hooks could not be installed", exc)
            self._unhook_torch()

    def close(self) -> None:
        """The run ends: every hook comes out."""
        self.waiting = False
        self._unhook_torch()
        self._unhook_warnings()

    def _after_fork(self) -> None:
        # A forked child (DataLoader worker) records nothing.
        self.waiting = False
        self.torch_on = False
        self.numpy_open = False

    def _active(self) -> bool:
        return self.agent.enabled and os.getpid() == self.pid

    # -- torch -----------------------------------------------------------------------
    def _hook_torch(self) -> None:
        torch = sys.modules["torch"]
        module_mod = sys.modules.get("torch.nn.modules.module")
        if module_mod is None:
            self.waiting = True  # torch is still being imported: try at the next safe point
            return
        self.torch = torch
        self.Tensor = torch.Tensor
        self.strided = torch.strided
        self.half_types = (torch.float16, torch.bfloat16)
        self.call_impl_code = torch.nn.Module._call_impl.__code__
        self.is_tracing = getattr(torch._C, "_is_tracing", None) or (lambda: False)
        compiler = getattr(torch, "compiler", None)
        self.is_compiling = getattr(compiler, "is_compiling", None) or (lambda: False)
        self.is_grad_enabled = torch.is_grad_enabled
        nn = torch.nn
        # Modules whose output is finite whenever their input is (exactly
        # these classes: a subclass may compute something else).
        self.finite_preserving = {getattr(nn, name) for name in _FINITE_PRESERVING
                                  if isinstance(getattr(nn, name, None), type)}
        engine = getattr(torch.autograd.Variable, "_execution_engine", None)
        self.queue_callback = getattr(engine, "queue_callback", None)
        register = module_mod.register_module_forward_hook
        try:
            handle = register(self._forward_hook, with_kwargs=True)
        except TypeError:  # torch < 2.0: no keyword arguments
            handle = register(self._forward_hook_args)
        self.handles.append(handle)
        self.torch_on = True

    def _unhook_torch(self) -> None:
        self.torch_on = False
        handles, self.handles = self.handles, []
        for handle in handles:
            try:
                handle.remove()
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.produced.clear()
        self.last_checked = None

    def torch_failed(self, exc: BaseException) -> None:
        """A hook hit an error: the torch hooks stop, a warning is stored."""
        if not self.torch_on:
            return
        self._unhook_torch()
        self._warn("nan hooks: the torch hooks stopped after an error", exc)

    def _forward_hook(self, module: Any, args: Any, kwargs: Any, output: Any) -> None:
        """After every module's forward (children before their parents)."""
        if not self.torch_on or self.is_tracing() or self.is_compiling():
            return  # off, or torch.jit.trace / torch.compile tracing: leave that alone
        try:
            info = self.modules.get(id(module))
            if info is None or info.ref() is not module:
                info = self._classify(module)
            outputs = (output,) if isinstance(output, self.Tensor) else self._tensors(output)
            if self.forward_open:
                if type(module) in self.finite_preserving and len(outputs) == 1 \
                        and self._known_finite(args):
                    # ReLU, max-pooling, Flatten... of the tensor just found
                    # finite: finite too, no need to read it again.
                    self.last_checked = (weakref.ref(outputs[0]), _version(outputs[0]))
                else:
                    self._check_outputs(module, outputs, args, kwargs)
            if self.backward_open and self.torch_on and self.is_grad_enabled():
                self._watch_gradients(module, info, args, kwargs, outputs)
            info.calls += 1
            if info.root:  # nothing is in flight any more
                self.produced.clear()
                self.last_checked = None
        except Exception as exc:  # noqa: BLE001 - never disturb the forward pass
            self.torch_failed(exc)

    def _check_outputs(self, module: Any, outputs: Any, args: Any, kwargs: Any) -> None:
        for t in outputs:
            if not self._checkable(t):
                continue
            version = _version(t)
            last = self.last_checked
            if last is not None and last[0]() is t and last[1] == version:
                continue  # a parent returning its child's output, unchanged since
            self.last_checked = (weakref.ref(t), version)
            if not self.all_finite(t):
                self._forward_event(module, t, args, kwargs)
                return

    def _known_finite(self, args: Any) -> bool:
        """Whether the call's only argument is the tensor last found finite,
        unchanged since."""
        last = self.last_checked
        return last is not None and len(args) == 1 and args[0] is last[0]() \
            and _version(args[0]) == last[1]

    def _forward_hook_args(self, module: Any, args: Any, output: Any) -> None:
        return self._forward_hook(module, args, None, output)

    def _classify(self, module: Any) -> _ModuleInfo:
        """First sight of a module: it is a root when no other module's
        forward is running (only its own `_call_impl` frame is on the stack)."""
        depth = 0
        frame: Any = sys._getframe(1)
        while frame is not None and depth < 2:
            if frame.f_code is self.call_impl_code:
                depth += 1
            frame = frame.f_back
        key = id(module)
        modules = self.modules

        def forget(_ref: Any, key: int = key) -> None:
            modules.pop(key, None)

        info = _ModuleInfo(module, depth <= 1, forget)
        modules[key] = info
        return info

    def _tensors(self, obj: Any, depth: int = 0) -> list[Any]:
        """The tensors in a module's output or inputs: a tensor, or tuples,
        lists and dicts of them (two levels deep)."""
        Tensor = self.Tensor
        if isinstance(obj, Tensor):
            return [obj]
        found: list[Any] = []
        if depth < 2:
            if isinstance(obj, (tuple, list)):
                items = obj[:_MAX_TENSORS]
            elif isinstance(obj, dict):
                items = list(obj.values())[:_MAX_TENSORS]
            else:
                return found
            for item in items:
                if isinstance(item, Tensor):
                    found.append(item)
                elif isinstance(item, (tuple, list, dict)):
                    found.extend(self._tensors(item, depth + 1))
        return found

    def _checkable(self, t: Any) -> bool:
        return (t.is_floating_point() or t.is_complex()) and t.layout is self.strided \
            and not t.is_meta

    def all_finite(self, t: Any) -> bool:
        """Whether every element of `t` (a _checkable tensor) is finite. One
        sum is the fast test (NaN and Inf survive a sum); a sum that
        overflowed is checked again element by element."""
        d = t.detach() if t.requires_grad else t
        if d.is_complex():
            return bool(self.torch.isfinite(d).all())
        total = d.sum(dtype=self.torch.float32) if d.dtype in self.half_types else d.sum()
        if math.isfinite(total.item()):
            return True
        return bool(self.torch.isfinite(d).all())

    def _watch_gradients(self, module: Any, info: _ModuleInfo, args: Any, kwargs: Any,
                         outputs: Any) -> None:
        """Labels the gradients of this call: its outputs' (grad_output),
        and, for a leaf module, its inputs' (grad_input: the output it
        consumed is marked, or a hook goes on an input no module produced)."""
        produced = self.produced
        checkable = self._checkable
        in_tensors = self._tensors(args)
        if kwargs:
            in_tensors += self._tensors(kwargs)
        # weak references to in_tensors, made when needed
        inputs: tuple[weakref.ref[object], ...] | None = None
        watched = None
        for t in outputs:
            if not (t.requires_grad and t.grad_fn is not None and checkable(t)):
                continue
            key = id(t)
            version = _version(t)
            entry = produced.get(key)
            if entry is not None and entry[0]() is t:
                if entry[1] == version:
                    watched = watched or entry[2]
                    continue  # an inner module watches this tensor already
                # Modified in place here: this module consumed the old value.
                if entry[2].consumer is None:
                    inputs = inputs or tuple(map(weakref.ref, in_tensors[:_MAX_INPUTS]))
                    entry[2].consumer, entry[2].consumer_inputs = module, inputs
            inputs = inputs or tuple(map(weakref.ref, in_tensors[:_MAX_INPUTS]))
            label = _GradLabel(self, module, "grad_output", key, inputs)
            t.register_hook(label)
            produced[key] = (weakref.ref(t), version, label)
            watched = watched or label
        if info.root and watched is not None and watched.passes is None:
            watched.passes = info  # counts the root's backward passes
        if module._modules:
            return  # a parent: its children watch what they consume
        for x in in_tensors:
            if not (x.requires_grad and x.grad_fn is not None and checkable(x)):
                continue
            if any(x is t for t in outputs):
                continue  # passed through (or modified in place, seen above)
            key = id(x)
            entry = produced.get(key)
            inputs = inputs or tuple(map(weakref.ref, in_tensors[:_MAX_INPUTS]))
            if entry is not None and entry[0]() is x:
                if entry[2].consumer is None:
                    entry[2].consumer, entry[2].consumer_inputs = module, inputs
                continue
            x.register_hook(_GradLabel(self, module, "grad_input", key, inputs))

    # -- torch events ------------------------------------------------------------------
    def _forward_event(self, module: Any, t: Any, args: Any, kwargs: Any) -> None:
        with self.lock:
            if not self.forward_open:
                return
            self.forward_open = False
        if not self._active():
            return
        root = self._running_root(module)
        root_info = self.modules.get(id(root))
        step = root_info.calls if root_info is not None and root_info.ref() is root else None
        inputs = self._tensors(args) + (self._tensors(kwargs) if kwargs else [])
        detail = self._torch_detail(
            "forward", module, root, step, "output", self._stats(t),
            [self._stats(x) for x in inputs[:_MAX_INPUTS]], self._user_frame(),
            self._loops())
        self._emit(detail)
        self._maybe_unhook()

    def _running_root(self, module: Any) -> Any:
        """The outermost module whose forward is running (the module itself
        when it was called from no other module)."""
        root = module
        frame: Any = sys._getframe(1)
        while frame is not None:
            if frame.f_code is self.call_impl_code:
                candidate = frame.f_locals.get("self")
                if candidate is not None:
                    root = candidate
            frame = frame.f_back
        return root

    def observe_gradient(self, label: _GradLabel, grad: Any) -> None:
        """A non-finite gradient. The first one of the backward pass is kept,
        with every label of the same tensor (they fire one after another),
        and attributed when the pass ends (see the module docstring)."""
        with self.lock:
            if not self.backward_open:
                return
            first = self.pending is None
            if self.pending is None:
                self.pending = _PendingGradient(label.key, self._stats(grad), self._user_frame(),
                                                self._loops(), [label])
            elif self.pending.key == label.key:
                self.pending.labels.append(label)
            return_now = not first
        if return_now:
            return
        queued = False
        if self.queue_callback is not None:
            try:
                self.queue_callback(self._backward_done)
                queued = True
            except Exception:  # noqa: BLE001 - then attribute it now
                queued = False
        if not queued:
            self._backward_done()

    def _backward_done(self) -> None:
        try:
            with self.lock:
                pending, self.pending = self.pending, None
                if not pending or not self.backward_open:
                    return
                self.backward_open = False
            if not self._active():
                return
            stats, where, loops, labels = pending.stats, pending.where, pending.loops, pending.labels
            # The module whose backward computed the gradient (it consumed
            # the tensor), else the innermost module that produced it.
            module, what, inputs = labels[0].module, "grad_output", labels[0].inputs
            for label in labels:
                if label.what == "grad_input":
                    module, what, inputs = label.module, "grad_input", label.inputs
                    break
            else:
                for label in labels:
                    if label.consumer is not None:
                        module, what = label.consumer, "grad_input"
                        inputs = label.consumer_inputs
                        break
            root, root_info = self._root_of(module)
            step = max(root_info.backward_passes - 1, 0) if root_info is not None else None
            alive = [ref() for ref in inputs]
            detail = self._torch_detail(
                "backward", module, root, step, what, stats,
                [self._stats(x) for x in alive if x is not None], where, loops)
            self._emit(detail)
            self._maybe_unhook()
        except Exception as exc:  # noqa: BLE001 - runs inside backward(): never raise
            self.torch_failed(exc)

    def _root_of(self, module: Any) -> tuple[Any, _ModuleInfo | None]:
        """The root module (seen in forward) that contains `module`."""
        roots = [(info.ref(), info) for info in list(self.modules.values()) if info.root]
        for root, info in roots:
            if root is module:
                return root, info
        for root, info in roots:
            if root is None:
                continue
            try:
                if any(m is module for m in root.modules()):
                    return root, info
            except Exception:  # noqa: BLE001 - a module that cannot list its children
                continue
        return module, None

    def _maybe_unhook(self) -> None:
        if not self.forward_open and not self.backward_open:
            self._unhook_torch()

    def _torch_detail(self, phase: str, module: Any, root: Any, step: int | None, what: str,
                      stats: JsonObject, inputs: list[JsonObject],
                      where: tuple[str | None, int | None, str | None],
                      loops: list[int]) -> JsonObject:
        root_name = self._variable_name(root)
        name = root_name if root is module else self._module_name(root, module)
        cls = type(module).__name__
        counts = _counts_text(stats)
        return {
            "source": "torch", "phase": phase, "module": name, "class": cls,
            "root": root_name, "step": step, "loops": loops, "what": what,
            "nan": stats.get("nan"), "posinf": stats.get("posinf"),
            "neginf": stats.get("neginf"), "shape": stats.get("shape"),
            "inputs": inputs,
            "file": where[0], "line": where[1], "function": where[2],
            "message": f"{name} ({cls}) {what} has {counts} at {phase} step {step}",
        }

    @staticmethod
    def _module_name(root: Any, module: Any) -> str:
        """`module`'s qualified name in `root` (`named_modules`), else its
        class name (a module the root holds outside its children)."""
        try:
            for name, m in root.named_modules():
                if m is module and name:
                    return str(name)
        except Exception:  # noqa: BLE001
            pass
        return type(module).__name__

    def _variable_name(self, obj: Any) -> str:
        """The script's global holding `obj`, else a local of the script's
        frames (innermost first), else its class name."""
        try:
            agent = self.agent
            names: list[tuple[str, object]]
            if agent.global_items is not None:
                names = agent.global_items()
            else:
                main = sys.modules.get("__main__")
                names = list(vars(main).items()) if main is not None else []
            for name, value in names:
                if value is obj and not name.startswith("_"):
                    return name
            for name, value in names:
                if value is obj:
                    return name
            frame: Any = sys._getframe(1)
            while frame is not None:
                if agent.is_user_file(frame.f_code.co_filename):
                    for local_name, value in list(frame.f_locals.items()):
                        if value is obj:
                            return str(local_name)
                frame = frame.f_back
        except Exception:  # noqa: BLE001 - the class name will do
            pass
        return type(obj).__name__

    def _stats(self, t: Any) -> JsonObject:
        """shape, dtype, min/max over the finite elements, NaN/+Inf/-Inf counts."""
        torch = self.torch
        d = t.detach()
        out: JsonObject = {"shape": list(d.shape), "dtype": str(d.dtype).replace("torch.", ""),
                     "min": None, "max": None, "nan": 0, "posinf": 0, "neginf": 0}
        if d.numel() == 0 or d.layout is not self.strided or d.is_meta:
            return out
        with torch.no_grad():
            if d.is_complex():
                d = torch.view_as_real(d)
            if d.is_floating_point():
                out["nan"] = int(torch.isnan(d).sum())
                out["posinf"] = int(torch.isposinf(d).sum())
                out["neginf"] = int(torch.isneginf(d).sum())
                finite = d[torch.isfinite(d)]
                if finite.numel():
                    out["min"] = _number(finite.min().item())
                    out["max"] = _number(finite.max().item())
            elif d.dtype is torch.bool:
                out["min"], out["max"] = int(d.min()), int(d.max())
            else:
                out["min"], out["max"] = _number(d.min().item()), _number(d.max().item())
        return out

    # -- numpy ----------------------------------------------------------------------------
    def _hook_numpy_warnings(self) -> None:
        """Wrap `warnings._showwarnmsg`, which every shown warning goes
        through (after the filters, and after a replaced
        `warnings.showwarning`, which it calls): the warning is recorded,
        then handed on unchanged."""
        original = getattr(warnings, "_showwarnmsg", None)
        if original is None:
            return
        hooks = self

        def _showwarnmsg(msg: Any) -> Any:
            try:
                if hooks.numpy_open:
                    hooks._numpy_warning(msg)
                if hooks.torch_on and hooks._caused_by_our_hooks(msg):
                    return None
            except Exception as exc:  # noqa: BLE001 - the warning is shown regardless
                hooks.numpy_open = False
                hooks._warn("nan hooks: a warning could not be looked at", exc)
            return original(msg)

        self.original_showwarnmsg = original
        self.showwarnmsg = _showwarnmsg
        warnings._showwarnmsg = _showwarnmsg  # type: ignore[attr-defined]  # private: no stub

    def _unhook_warnings(self) -> None:
        self.numpy_open = False
        if self.showwarnmsg is not None and getattr(warnings, "_showwarnmsg", None) \
                is self.showwarnmsg:
            warnings._showwarnmsg = self.original_showwarnmsg  # type: ignore[attr-defined]
        self.showwarnmsg = None

    def _caused_by_our_hooks(self, msg: Any) -> bool:
        """torch.compile's warning that global module hooks exist, when ours
        are the only ones (a plain run would not have shown it)."""
        if not str(msg.message).startswith(_COMPILE_HOOKS_WARNING):
            return False
        module_mod = sys.modules.get("torch.nn.modules.module")
        ours = {handle.id for handle in self.handles}
        return module_mod is not None and set(module_mod._global_forward_hooks) <= ours and not (
            module_mod._global_forward_pre_hooks or module_mod._global_backward_hooks
            or module_mod._global_backward_pre_hooks
            or set(module_mod._global_forward_hooks_always_called) - ours
            or set(module_mod._global_forward_hooks_with_kwargs) - ours)

    def _numpy_warning(self, msg: Any) -> None:
        category = getattr(msg, "category", None)
        if not (isinstance(category, type) and issubclass(category, RuntimeWarning)):
            return
        text = str(msg.message)
        if not _NUMPY_FP.match(text) or "numpy" not in sys.modules:
            return
        agent = self.agent
        if agent.in_snapshot or not self._active():
            return  # the agent's own work, or a forked child
        with self.lock:
            if not self.numpy_open:
                return
            self.numpy_open = False
        where = self._user_frame()
        if where[0] is None and msg.filename:
            where = (msg.filename, msg.lineno, None)
        self._emit({
            "source": "numpy", "phase": "numpy", "module": None, "class": None, "root": None,
            "step": None, "loops": self._loops(), "what": "result",
            "nan": None, "posinf": None, "neginf": None, "shape": None, "inputs": [],
            "file": where[0], "line": where[1], "function": where[2], "message": text,
        })

    # -- shared ----------------------------------------------------------------------------
    def _user_frame(self) -> tuple[str | None, int | None, str | None]:
        """(file, line, function) of the innermost frame of the user's own code."""
        is_user_file = self.agent.is_user_file
        frame: Any = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            if is_user_file(code.co_filename):
                return code.co_filename, frame.f_lineno, code.co_name
            frame = frame.f_back
        return None, None, None

    def _loops(self) -> list[int]:
        try:
            return [max(loop.count, 0) for loop in list(self.agent.stack)]
        except Exception:  # noqa: BLE001
            return []

    def _emit(self, detail: JsonObject) -> None:
        try:
            payload = json.dumps(detail, separators=(",", ":"), allow_nan=False, default=str)
            self.agent.recorder.event(KIND, payload, time.time())
        except Exception as exc:  # noqa: BLE001
            self._warn("nan hooks: an event could not be recorded", exc)

    def _warn(self, what: str, exc: BaseException) -> None:
        """A failure of the hooks: a warning stored with the run, never output."""
        try:
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.agent.recorder.warn(time.time(), f"{what}: {type(exc).__name__}: {exc}\n"
                                                  + detail[-4000:])
        except Exception:  # noqa: BLE001 - the store itself may be the problem
            pass


def _version(t: Any) -> int:
    """A tensor's in-place modification counter (-1 for inference tensors,
    which have none)."""
    try:
        return int(t._version)
    except RuntimeError:
        return -1


def _number(value: Any) -> Any:
    """A JSON-safe number (finite min/max; ints stay ints)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _counts_text(stats: JsonObject) -> str:
    parts = []
    for key, label in (("nan", "NaN"), ("posinf", "+Inf"), ("neginf", "-Inf")):
        if stats.get(key):
            parts.append(f"{stats[key]} {label}")
    return ", ".join(parts) or "non-finite values"
