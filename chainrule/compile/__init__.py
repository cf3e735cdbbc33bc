"""Captured training steps: ``step = cr.compile(train_step)`` replays a step as a flat plan.

**What is captured.** The user's own step function of tensors (forward, ``loss.backward()``,
``optimizer.step()``, ``optimizer.zero_grad()``) runs eagerly on its first two calls with inputs
of a new signature, while ``trace.capture`` records every op application (class, keyword
parameters, input and output tensors), every ``backward`` (the ops it runs, in the engine's
order), every optimizer ``step``/``zero_grad`` and every module call with its training flag.
Those two calls are ordinary eager steps: their results are eager results.

**Why two calls.** Comparing the two traces tells what each op input is: an argument of the
step, the output of an earlier op, or a tensor that outlives the step (a parameter, a buffer:
the same object both times, read afresh at every replay). A tensor made during the step outside
any op (a dropout mask, a mask computed in Python from the data) is a new object each call,
which a replay would not make again; so is an array parameter made during the step, and a
parameter computed from the data (different values). Such a step is not replayable (see below).
``plan.Snapshot`` also checks, around the second call, that the step changed no tensor in place
except through an optimizer step and no module buffer outside an op (``BatchNorm``'s batch
counter, say).

**The plan** (``plan.build_plan``) is a list of closures over three lists (op outputs, pending
gradients, op instances). Hot ops get buffer kernels (``kernels``): a dense layer's product and
bias into a preallocated buffer, ReLU/tanh over that buffer in place, their backward rules with
``out=`` (the mask multiply in place on the gradient buffer), the softmax cross-entropy and
mean-squared-error losses and their gradients, the weight and bias gradients
written straight into buffers that become ``.grad``, SGD/Adam/AdamW updates read straight from
those buffers. Every other op runs its own ``forward``/``backward`` on a fresh instance, so any op
replays, randomness drawn inside an op included. Buffers (``buffers``) are allocated once per
plan; gradients accumulate into leaves exactly as the engine does (same order, same copies).

**What is guarded.** Each call's signature (the shape, dtype and ``requires_grad`` of each
tensor argument, the value of others, and grad mode) selects a plan, capturing a new one for a
new signature (the last, partial batch gets its own); a module whose training flag changed since
capture makes the step capture again. Nothing else is checked while replaying: parameters,
buffers and optimizer hyperparameters (a scheduler's learning rate) are read afresh at every
replay, but a parameter must keep its shape, dtype and memory layout.

**When it falls back.** A step that cannot be replayed (tensors on a GPU, a tensor made
outside ops, hooks, a closure, results that are not tensors, Python control flow that differs
between the two calls) runs eagerly from then on, with one warning naming the op or the
reason; so do signatures beyond ``max_plans``. Code that reads tensor values in Python to
decide what to do is captured as it ran on the two calls (as with any tracing compiler): keep
such decisions outside the step.

**Why results are bitwise equal.** Every kernel makes the very NumPy call of the eager rule (the
same ufunc, reduction or BLAS product on operands of the same layout), only into a given
output; generic ops run their own rules; gradients are summed in the engine's order. So the
replayed step computes the same floating-point operations in the same order.

Replayed steps return fresh tensors (copies of the plan's values, with no graph); a parameter's
``.grad`` after a replay may be a plan buffer that the next replay writes again, as PyTorch
reuses ``.grad`` with ``zero_grad(set_to_none=False)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .plan import Plan, Snapshot, Unreplayable, build_plan
from .trace import Trace, capture

__all__ = ["compile", "CompiledStep"]


def compile(step: Callable[..., Any], max_plans: int = 8) -> CompiledStep:
    """Capture ``step`` (a training step of tensors) once per input signature and replay it.

    Args:
        step: a function of tensors that runs forward, ``backward``, ``optimizer.step()`` and
            ``optimizer.zero_grad()``, returning tensors (or tuples of them, or None).
        max_plans: signatures to keep plans for; calls with others run eagerly.

    Returns:
        ``CompiledStep``, called as ``step`` is; its results are bitwise those of ``step``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
        >>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
        >>> def train_step(x, y):
        ...     loss = cr.nn.functional.cross_entropy(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        ...     opt.zero_grad()
        ...     return loss
        >>> step = cr.compile(train_step)
        >>> x = cr.tensor(np.ones((5, 3), np.float32))
        >>> y = cr.tensor(np.array([0, 1, 0, 1, 1]))
        >>> losses = [step(x, y).item() for _ in range(4)]  # 2 captured calls, then replays
        >>> step.replayable
        True
    """
    return CompiledStep(step, max_plans)


class CompiledStep:
    """A step function with its plans, one per input signature (see the module docstring)."""

    def __init__(self, step: Callable[..., Any], max_plans: int = 8):
        self.step = step
        self.max_plans = max_plans
        self._entries: dict[Hashable, Plan | _Pending | str] = {}
        self._warned: set[str] = set()

    @property
    def plans(self) -> list[Plan]:
        """The plans built so far, one per replayable signature (``plan.labels`` says what each
        of its steps does)."""
        return [e for e in self._entries.values() if isinstance(e, Plan)]

    @property
    def replayable(self) -> bool:
        """Whether a plan was built for some signature (calls with it are replayed)."""
        return bool(self.plans)

    def __call__(self, *args: Any) -> Any:
        key = (is_grad_enabled(), *map(_signature, args))
        entry = self._entries.get(key)
        if type(entry) is Plan and entry.modes_unchanged():
            return entry.run(list(args))
        if isinstance(entry, str):
            return self.step(*args)
        if isinstance(entry, _Pending) and entry.modes_unchanged():
            return self._second(key, entry, args)
        if entry is None and len(self._entries) >= self.max_plans:
            self._warn(f"more than {self.max_plans} input signatures")
            return self.step(*args)
        trace = Trace()
        with capture(trace):
            result = self.step(*args)
        self._entries[key] = _Pending(trace, args)
        return result

    def _second(self, key: Hashable, first: _Pending, args: tuple[Any, ...]) -> Any:
        """The second captured call: compare with the first and build the plan."""
        snapshot = Snapshot(first.trace)
        trace = Trace()
        with capture(trace):
            result = self.step(*args)
        try:
            on_device = next((a.device for a in args if isinstance(a, Tensor)
                              and type(a.data) is not np.ndarray), None)
            if on_device is not None:  # the kernels are NumPy calls with out=
                raise Unreplayable(f"its tensors are on {on_device}; plans are built for NumPy "
                                   "arrays on the CPU")
            reason = snapshot.changed_outside(trace)
            if reason is not None:
                raise Unreplayable(reason)
            self._entries[key] = build_plan(first.trace, trace, (list(first.args), list(args)),
                                            result)
        except Unreplayable as error:
            self._entries[key] = str(error)
            self._warn(str(error), stacklevel=4)
        return result

    def _warn(self, reason: str, stacklevel: int = 3) -> None:
        """Warn once per reason, pointing at the caller of the compiled step."""
        if reason not in self._warned:
            self._warned.add(reason)
            name = getattr(self.step, "__qualname__", type(self.step).__name__)
            warnings.warn(f"chainrule.compile: {name} cannot be replayed ({reason}); it runs "
                          "eagerly", RuntimeWarning, stacklevel=stacklevel)


class _Pending:
    """The first captured call of a signature, waiting for the second."""

    def __init__(self, trace: Trace, args: tuple[Any, ...]):
        self.trace, self.args = trace, args

    def modes_unchanged(self) -> bool:
        return all(m.training == t for m, t in self.trace.modules.values())


def _signature(arg: Any) -> Hashable:
    if isinstance(arg, Tensor):
        return (arg.shape, arg.dtype, arg.requires_grad)
    try:
        hash(arg)
    except TypeError:
        return ("id", id(arg))
    return (type(arg), arg)
