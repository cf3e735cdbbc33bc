"""Record one forward and backward pass of any model, step by step, without changing it.

Forward hooks on the model's leaf modules record each call's input, output and parameters;
ops applied between modules (``h.tanh()`` in a custom ``forward``) are found by walking the graph
and become steps of their own. ``retain_grad`` on every recorded tensor then lets one ordinary
``backward()`` reveal ``∂J/∂`` of each of them. Parameter gradients, buffers and the random
state are restored afterwards, so explaining a model never changes how it trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import random as cr_random
from ..autograd import creation_mark, recorded_ops
from ..nn.module import Module
from ..tensor import Tensor
from .formulas import OP_SETTINGS, LossFormula, loss_formula

__all__ = ["Step", "Trace", "record", "is_recording"]

_recording = 0  # depth of record() calls in progress


def is_recording() -> bool:
    """Whether ``record`` is running, so training-time observers (``GradientMonitor``) can
    leave its forward pass out of their statistics."""
    return _recording > 0


@dataclass
class Step:
    """One module call or free op of the forward pass, in execution order."""

    name: str  # dotted module name, or the op's name for a free op
    kind: str  # class name of the module or op
    is_op: bool
    input: np.ndarray | None
    output: np.ndarray
    params: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # activation settings (negative_slope, ...)
    grad_output: np.ndarray | None = None
    grad_input: np.ndarray | None = None
    grad_params: dict[str, np.ndarray] = field(default_factory=dict)
    input_uses: int = 1  # ops reading the input: its gradient sums what each of them sends
    arguments: tuple = ()  # a free op's tensor inputs (arrays), ``input`` being the first


@dataclass
class Trace:
    steps: list[Step]
    inputs: np.ndarray
    target: np.ndarray
    output: np.ndarray
    grad_output: np.ndarray | None  # ∂J/∂h
    loss: float
    loss_formula: LossFormula


def _first_tensor(values) -> Tensor | None:
    for value in values:
        if isinstance(value, Tensor):
            return value
    return None


def _snapshot_buffers(model: Module) -> list[tuple[Module, str, np.ndarray]]:
    saved = []
    for module in model.modules():
        for name in module._buffers:
            value = module.__dict__[name]
            if isinstance(value, np.ndarray):
                saved.append((module, name, value.copy()))
    return saved


def record(model: Module, x, y, loss) -> Trace:
    """Run ``loss(model(x), y)`` forward and backward and record every step.

    ``loss`` is a callable ``(output, target) -> scalar Tensor``.
    """
    leaves = [(name, m) for name, m in model.named_modules() if not m._modules] or [("", model)]
    calls: list[tuple[int, int, str, Module, Tensor | None, Tensor]] = []
    starts: dict[int, list[int]] = {}
    handles = []

    def before(module, inputs):
        starts.setdefault(id(module), []).append(creation_mark())

    def after(module, inputs, output, name=""):
        start = starts[id(module)].pop()
        # Recurrent layers and attention return (output, state): the first tensor is the one
        # the next layer reads.
        primary = output if isinstance(output, Tensor) else (
            _first_tensor(output) if isinstance(output, (tuple, list)) else None)
        if primary is not None:
            calls.append((start, creation_mark(), name, module,
                          _first_tensor(inputs), primary))

    root_name = type(model).__name__
    for name, module in leaves:
        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(
            lambda m, i, o, name=name or root_name: after(m, i, o, name)))

    global _recording
    rng_state = cr_random.get_rng_state()
    buffers = _snapshot_buffers(model)
    saved_grads = [(p, p.grad) for p in model.parameters()]
    _recording += 1
    try:
        for p, _ in saved_grads:
            p.grad = None
        x_data = x.data if isinstance(x, Tensor) else np.asarray(x)
        floating = x_data.dtype.kind == "f"
        inputs = Tensor(x_data.copy(), requires_grad=floating) if floating else Tensor(x_data)
        target = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
        begin = creation_mark()
        output = model(inputs)
        if not isinstance(output, Tensor):
            raise TypeError(f"explain needs a model that returns one tensor, got {type(output)}")
        objective = loss(output, target)
        if not isinstance(objective, Tensor) or objective.size != 1:
            raise ValueError("explain: the loss must return a scalar tensor")
        if not objective.requires_grad:
            raise ValueError("explain: the loss does not depend on any parameter or the input")
        steps = _steps(calls, output, begin)
        retained = {id(output): output}
        for _, tensors, _ in steps:
            retained.update((id(t), t) for t in tensors if t is not None)
        for t in retained.values():
            t.retain_grad()  # once per tensor: a second hook would count its gradient twice
        formula = loss_formula(objective.grad_fn, np.asarray(target.data), output.shape)
        objective.backward()
        for step, (out_tensor, in_tensor), module in steps:
            step.grad_output = out_tensor.grad
            step.grad_input = None if in_tensor is None else in_tensor.grad
            if module is not None:
                step.grad_params = {n: p.grad for n, p in module.named_parameters()
                                    if p.grad is not None}
        return Trace([step for step, *_ in steps], x_data, np.asarray(target.data), output.data,
                     output.grad, float(objective.item()), formula)
    finally:
        _recording -= 1
        for handle in handles:
            handle.remove()
        for p, grad in saved_grads:
            p.grad = grad
        for module, name, value in buffers:
            object.__setattr__(module, name, value)
        cr_random.set_rng_state(rng_state)


def _settings_of(owner) -> dict:
    settings = {}
    for attribute in ("negative_slope", "alpha", "beta"):
        if isinstance(getattr(owner, attribute, None), (int, float)):
            settings[attribute] = getattr(owner, attribute)
    for attribute, name in OP_SETTINGS.items():
        value = owner.__dict__.get(attribute) if hasattr(owner, "__dict__") else None
        if isinstance(value, (int, float)):
            settings[name] = value
    return settings


def _steps(calls, output: Tensor, begin: int):
    """Module calls plus the free ops between them, ordered as they ran: ``(step, (output,
    input) tensors, module or None for a free op)``.

    An op created while a leaf module's forward ran belongs to that module; the others (an
    activation applied by a custom ``forward``, a reshape, ...) are free ops.
    """
    inside = [(start, end) for start, end, *_ in calls]
    steps = []
    for start, _, name, module, x, out in calls:
        # Parameters are copied: optimizers update them in place, and an explanation keeps
        # the values of its own pass.
        step = Step(name=name, kind=type(module).__name__, is_op=False,
                    input=None if x is None else x.data, output=out.data,
                    params={n: p.data.copy() for n, p in module.named_parameters()},
                    settings=_settings_of(module))
        steps.append((start, step, (out, x), module))

    module_outputs = {id(out) for *_, out in calls}
    uses: dict[int, int] = {}
    for t, op in recorded_ops(output, since=begin):
        for parent in op.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
        if id(t) in module_outputs or any(s < op.order < e for s, e in inside):
            continue
        x = _first_tensor(op.parents)
        step = Step(name=op.name, kind=op.name, is_op=True,
                    input=None if x is None else x.data, output=t.data,
                    settings=_settings_of(op),
                    arguments=tuple(p.data for p in op.parents if isinstance(p, Tensor)))
        steps.append((op.order, step, (t, x), None))
    steps.sort(key=lambda item: item[0])
    for _, step, (_, x), _ in steps:
        step.input_uses = max(uses.get(id(x), 1), 1)
    return [(step, tensors, module) for _, step, tensors, module in steps]
