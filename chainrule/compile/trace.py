"""Capture: run a training step eagerly while recording what it does, for the plan to replay.

While ``capture`` is open, in the calling thread only, every op application (``Function.apply``),
every ``Tensor.backward``, every optimizer ``step`` and ``zero_grad`` and every module call is
recorded in order. The step itself runs exactly as eager code does (the records only observe), so
a captured step's results are eager results.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..autograd import Function
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor

__all__ = ["OpRecord", "BackwardRecord", "OptimizerRecord", "Trace", "capture"]

# One capture at a time: two threads wrapping and restoring the same class attributes could
# leave the wrappers in place. Reentrant, so a captured step may call another compiled step.
_capturing = threading.RLock()


@dataclass
class OpRecord:
    """One op application: its class and keyword parameters, its input tensors and its output;
    ``recorded`` tells whether the engine recorded it for backward (an input required grad)."""

    cls: type[Function]
    params: dict[str, Any]
    inputs: tuple[Tensor, ...]
    output: Tensor
    recorded: bool


@dataclass
class BackwardRecord:
    """A ``backward`` call: its root, the indices of the ops the engine will run in its order
    (latest first), and whether it was plain (no gradient, ``retain_graph``, ``create_graph``
    or ``inputs`` passed: a training step's ``loss.backward()``)."""

    root: Tensor
    nodes: list[int]
    plain: bool


@dataclass
class OptimizerRecord:
    """An optimizer's ``step`` (``set_to_none`` None) or ``zero_grad(set_to_none)``."""

    optimizer: Optimizer
    set_to_none: bool | None
    with_closure: bool = False


@dataclass
class Trace:
    """What one eager run of a step did, in order."""

    events: list[OpRecord | BackwardRecord | OptimizerRecord] = field(default_factory=list)
    modules: dict[int, tuple[Module, bool]] = field(default_factory=dict)  # id -> (m, training)
    ops_by_ctx: dict[int, int] = field(default_factory=dict)  # id(grad_fn) -> event index
    nested: bool = False  # an op or step ran inside another recorded call (a closure, say)


@contextlib.contextmanager
def capture(trace: Trace) -> Iterator[Trace]:
    """Record into ``trace`` what the calling thread does inside the block.

    The class attributes ``Function.apply``, ``Tensor.backward``, ``Optimizer.step``,
    ``Optimizer.zero_grad`` and ``Module.__call__`` are wrapped for the duration and restored
    on leaving (one capture at a time); other threads calling them meanwhile are not recorded.
    """
    owner = threading.get_ident()
    apply = Function.__dict__["apply"].__func__
    backward = Tensor.__dict__["backward"]
    step, zero_grad = Optimizer.__dict__["step"], Optimizer.__dict__["zero_grad"]
    call = Module.__dict__["__call__"]
    depth = [0]  # > 0 inside a recorded optimizer step

    def traced_apply(cls: type[Function], *inputs: Tensor, **params: Any) -> Tensor:
        out: Tensor = apply(cls, *inputs, **params)
        if threading.get_ident() == owner:
            trace.nested |= depth[0] > 0
            if out._ctx is not None:
                trace.ops_by_ctx[id(out._ctx)] = len(trace.events)
            trace.events.append(OpRecord(cls, params, inputs, out, out._ctx is not None))
        return out

    def traced_backward(tensor: Tensor, gradient: Any = None, retain_graph: bool | None = None,
                        create_graph: bool = False, inputs: Any = None) -> None:
        if threading.get_ident() == owner:
            trace.nested |= depth[0] > 0
            plain = gradient is None and not retain_graph and not create_graph and inputs is None
            trace.events.append(BackwardRecord(tensor, _engine_order(tensor, trace), plain))
        backward(tensor, gradient, retain_graph, create_graph, inputs)

    def traced_step(optimizer: Optimizer, closure: Any = None) -> Any:
        if threading.get_ident() != owner:
            return step(optimizer, closure)
        trace.nested |= depth[0] > 0
        trace.events.append(OptimizerRecord(optimizer, None, closure is not None))
        depth[0] += 1
        try:
            return step(optimizer, closure)
        finally:
            depth[0] -= 1

    def traced_zero_grad(optimizer: Optimizer, set_to_none: bool = True) -> None:
        if threading.get_ident() == owner:
            trace.events.append(OptimizerRecord(optimizer, bool(set_to_none)))
        zero_grad(optimizer, set_to_none)

    def traced_call(module: Module, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == owner:
            trace.modules.setdefault(id(module), (module, module.training))
        return call(module, *args, **kwargs)

    patched = {(Function, "apply"): classmethod(traced_apply),
               (Tensor, "backward"): traced_backward, (Optimizer, "step"): traced_step,
               (Optimizer, "zero_grad"): traced_zero_grad, (Module, "__call__"): traced_call}
    saved = {(cls, name): cls.__dict__[name] for cls, name in patched}
    with _capturing:
        for (cls, name), value in patched.items():
            setattr(cls, name, value)
        try:
            yield trace
        finally:
            for (cls, name), value in saved.items():
                setattr(cls, name, value)


def _engine_order(root: Tensor, trace: Trace) -> list[int]:
    """The event indices of the ops ``backward(root)`` will run, in the engine's order: every
    op reachable from the root, latest created first (see ``chainrule.autograd``). An op made
    outside the trace, or one with a hook, is listed as -1 (the plan cannot replay it)."""
    start = root._ctx
    if start is None:
        return [-1]
    seen = {id(start)}
    stack, found = [start], [start]
    while stack:
        for parent in stack.pop().parents or ():
            ctx = parent._ctx
            if ctx is not None and id(ctx) not in seen:
                seen.add(id(ctx))
                stack.append(ctx)
                found.append(ctx)
    found.sort(key=lambda ctx: ctx.order, reverse=True)
    return [-1 if ctx.hooks else trace.ops_by_ctx.get(id(ctx), -1) for ctx in found]
