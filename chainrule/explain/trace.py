"""Record one forward and backward pass of any model, step by step, without changing it.

Forward hooks on the model's leaf modules mark when each call began and ended; the graph the
pass recorded then says which ops made the output. An op created during a leaf module's call
belongs to that module's step; every other op (an activation or a sum in a custom
``forward``, a reshape, a pooling) is a step of its own, so every op of the forward pass is
in exactly one step. Each array the steps read or make is one ``Value`` (the model's input, a
step's output, a parameter read outside its module, a constant), so the explanation can name
each once. ``retain_grad`` on them lets one ordinary ``backward()`` reveal ``∂J/∂`` of each.
Parameter gradients, buffers and the random state are restored afterwards, so explaining a
model never changes how it trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import overload

import numpy as np

from .. import random as cr_random
from ..autograd import creation_mark, recorded_ops
from ..nn.module import Module
from ..tensor import Tensor
from .formulas import OP_SETTINGS, LossFormula, loss_formula

__all__ = ["Value", "Step", "Trace", "record", "model_output", "is_recording"]

_recording = 0  # depth of record() calls in progress

# What a recurrent layer returns after its output, by position (PyTorch's names).
_RETURNED = {"LSTM": ("output", "h_n", "c_n"), "GRU": ("output", "h_n"), "RNN": ("output", "h_n")}


def is_recording() -> bool:
    """Whether ``record`` is running, so training-time observers (``GradientMonitor``) can
    leave its forward pass out of their statistics."""
    return _recording > 0


@dataclass(eq=False)  # compared and hashed by identity: one Value per array of the pass
class Value:
    """One array of the pass.

    ``role`` is "input" (the model's input), "view" (part of the input, as a text model
    reads it), "output" (made by a step), "parameter" (read by an op outside its module) or
    "constant". ``name`` is a parameter's dotted name, or what a step's further output is
    (an LSTM's ``h_n``).
    """

    data: np.ndarray
    role: str
    name: str = ""  # a parameter's dotted name; a step's output other than the first: h_n
    grad: np.ndarray | None = None  # ∂J/∂(this value); None where no gradient flows


@dataclass(eq=False)
class Step:
    """One leaf module's call or one op outside every module, in execution order."""

    name: str  # the module's dotted name (its class name for the model itself), or the op's
    kind: str  # class name of the module or op
    is_op: bool
    inputs: tuple[Value, ...]  # what it read, in argument order (its own parameters aside)
    output: Value
    ops: tuple[str, ...]  # the recorded ops it accounts for, in creation order
    extra_outputs: list[Value] = field(default_factory=list)  # more outputs read later
    params: dict[str, np.ndarray] = field(default_factory=dict)  # its own, copied
    grad_params: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # negative_slope, an op's axis, ...


@dataclass
class Trace:
    steps: list[Step]
    input: Value
    output: Value  # h
    target: np.ndarray
    loss: float
    loss_formula: LossFormula
    modules: dict[str, str]  # dotted module name -> class name, for every module

    @property
    def inputs(self) -> np.ndarray:
        return self.input.data


@dataclass
class _Call:
    start: int
    end: int
    name: str
    module: Module
    arguments: tuple
    outputs: list[Tensor]


def _tensors(value) -> list[Tensor]:
    """The tensors in a value, tuples and lists unpacked, in order."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def model_output(result) -> Tensor:
    """What explain calls the model's output ``h``: the tensor its forward returns, or the
    first when it returns several (a language model's ``(logits, state)``).

    Example:
        >>> import chainrule as cr
        >>> logits, state = cr.tensor([[0.5, 1.0]]), (cr.tensor([[1.0]]), cr.tensor([[2.0]]))
        >>> model_output((logits, state)) is logits
        True
    """
    tensors = _tensors(result)
    if not tensors:
        raise TypeError(f"explain needs a model that returns a tensor, got {type(result)}")
    return tensors[0]


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
    leaves = [(name, m) for name, m in model.named_modules()
              if next(m.children(), None) is None] or [("", model)]
    calls: list[_Call] = []
    starts: dict[int, list[int]] = {}
    handles = []

    def before(module, arguments):
        starts.setdefault(id(module), []).append(creation_mark())

    def after(module, arguments, output, name=""):
        calls.append(_Call(starts[id(module)].pop(), creation_mark(), name, module, arguments,
                           _tensors(output)))

    root = type(model).__name__
    for name, module in leaves:
        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(
            lambda m, i, o, name=name or root: after(m, i, o, name)))

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
        output = model_output(model(inputs))
        objective = loss(output, target)
        if not isinstance(objective, Tensor) or objective.size != 1:
            raise ValueError("explain: the loss must return a scalar tensor")
        if not objective.requires_grad:
            raise ValueError("explain: the loss does not depend on any parameter or the input")
        recorder = _Steps(model, inputs, calls)
        steps, h = recorder.build(output, begin)
        tensors = recorder.tensors
        for tensor in tensors.values():
            if tensor.grad_fn is not None:
                tensor.retain_grad()  # once per tensor: a second hook counts its gradient twice
        formula = loss_formula(objective.grad_fn, np.asarray(target.data), output.shape)
        objective.backward()
        for value, tensor in tensors.items():
            value.grad = tensor.grad
        for step, module in recorder.modules.items():
            step.grad_params = {n: p.grad for n, p in module.named_parameters()
                                if p.grad is not None}
        return Trace(steps, recorder.input, h, np.asarray(target.data), float(objective.item()),
                     formula, {name: type(m).__name__ for name, m in model.named_modules()})
    finally:
        _recording -= 1
        for handle in handles:
            handle.remove()
        for p, grad in saved_grads:
            p.grad = grad
        for module, name, saved in buffers:
            object.__setattr__(module, name, saved)
        cr_random.set_rng_state(rng_state)


def _settings_of(owner) -> dict:
    """The numbers a formula shows: an activation's slope, an op's axis."""
    settings = {}
    for attribute in ("negative_slope", "alpha", "beta", "min_val", "max_val"):
        if isinstance(getattr(owner, attribute, None), (int, float)):
            settings[attribute] = getattr(owner, attribute)
    found = vars(owner) if hasattr(owner, "__dict__") else {}
    for attribute, name in OP_SETTINGS.items():
        if isinstance(found.get(attribute), (int, float)):
            settings[name] = found[attribute]
    for attribute in ("axis", "axes"):
        if isinstance(found.get(attribute), (int, tuple)):
            settings[attribute] = found[attribute]
    if found.get("keepdims") is True:
        settings["keepdims"] = True
    return settings


class _Steps:
    """Turns the module calls and the recorded graph into steps over named values."""

    def __init__(self, model: Module, inputs: Tensor, calls: list[_Call]):
        self.inputs, self.calls = inputs, calls
        self.parameters = {id(p): name for name, p in model.named_parameters()}
        self.tensors: dict[Value, Tensor] = {}
        self.values: dict[int, Value] = {}  # by id of the tensor, or of an array read as is
        self.made: dict[int, Step] = {}  # tensor id -> the step whose ops made it
        self.modules: dict[Step, Module] = {}
        self._returned: dict[Step, list[Tensor]] = {}  # what a module step's call returned
        self.input = self._new(inputs, "input")
        self.values[id(inputs.data)] = self.input

    def _new(self, tensor: Tensor, role: str, name: str = "") -> Value:
        value = Value(tensor.data, role, name)
        self.values[id(tensor)] = value
        self.tensors[value] = tensor
        return value

    def build(self, output: Tensor, begin: int) -> tuple[list[Step], Value]:
        """The steps in execution order, and the value of the model's output."""
        graph = recorded_ops(output, since=begin)
        owner = self._owners(graph)
        owned: dict[int, list] = {}
        for t, op in graph:
            owned.setdefault(id(owner.get(id(op))), []).append((t, op))
        made_by = {id(t): owner.get(id(op)) for t, op in graph}
        # A module call is a step when its ops made what it returned (its output, or only
        # its state, as an LSTM read by its last state); otherwise (it returned its input, as
        # Dropout does with p = 0) its ops, if any, are steps of their own.
        firsts = {id(call): next((t for t in call.outputs if made_by.get(id(t)) is call), None)
                  for call in self.calls}
        primary = {key: t for key, t in firsts.items() if t is not None}
        events: list[tuple[int, _Call | None, list]] = [
            (call.start, call, owned[id(call)]) for call in self.calls if id(call) in primary]
        events += [(op.order, None, [(t, op)]) for t, op in graph
                   if id(owner.get(id(op))) not in primary]
        events.sort(key=lambda event: event[0])
        steps = [self._op_step(*ops[0]) if call is None
                 else self._module_step(call, primary[id(call)], ops) for _, call, ops in events]
        return steps, self._read(output)

    def _owners(self, graph) -> dict[int, _Call]:
        """Each op's innermost module call: the one whose begin and end enclose its creation."""
        owner: dict[int, _Call] = {}
        for _, op in graph:
            enclosing = [c for c in self.calls if c.start < op.order < c.end]
            if enclosing:
                owner[id(op)] = max(enclosing, key=lambda c: c.start)
        return owner

    @overload
    def _read(self, item: Tensor) -> Value: ...
    @overload
    def _read(self, item: object) -> Value | None: ...

    def _read(self, item: object) -> Value | None:
        """The value a step reads: known, a further output of an earlier step, a parameter,
        part of the input, or a constant; None for what is not an array."""
        if id(item) in self.values:
            return self.values[id(item)]
        if isinstance(item, Tensor):
            maker = self.made.get(id(item))
            if maker is not None:  # made inside an earlier module, read outside it
                value = self._new(item, "output", self._returned_as(maker, item))
                maker.extra_outputs.append(value)
                return value
            if id(item) in self.parameters:
                return self._new(item, "parameter", self.parameters[id(item)])
            return self._new(item, "constant")
        if isinstance(item, np.ndarray):
            role = "view" if np.may_share_memory(item, self.inputs.data) else "constant"
            value = self.values[id(item)] = Value(item, role)
            return value
        return None

    def _returned_as(self, step: Step, tensor: Tensor) -> str:
        """What a module's further output is: ``h_n`` of an LSTM, ``output 2`` of others."""
        position = next((k for k, t in enumerate(self._returned[step]) if t is tensor), None)
        if position is None:
            return "inner value"
        names = _RETURNED.get(step.kind, ())
        return names[position] if position < len(names) else f"output {position + 1}"

    def _module_step(self, call: _Call, output: Tensor, ops) -> Step:
        own = {id(p) for p in call.module.parameters()}
        inputs = tuple(value for value in map(self._read, call.arguments) if value is not None
                       and not (value.role == "parameter" and id(self.tensors[value]) in own))
        # Parameters are copied: optimizers update them in place, and an explanation keeps
        # the values of its own pass.
        step = Step(name=call.name, kind=type(call.module).__name__, is_op=False,
                    inputs=inputs, output=self._new(output, "output"),
                    ops=tuple(op.name for _, op in ops),
                    params={n: p.data.copy() for n, p in call.module.named_parameters()},
                    settings=_settings_of(call.module))
        self.modules[step], self._returned[step] = call.module, call.outputs
        if output is not call.outputs[0]:
            step.output.name = self._returned_as(step, output)
        for t, _ in ops:
            self.made[id(t)] = step
        return step

    def _op_step(self, t: Tensor, op) -> Step:
        step = Step(name=op.name, kind=op.name, is_op=True,
                    inputs=tuple(self._read(parent) for parent in op.parents),
                    output=self._new(t, "output"), ops=(op.name,), settings=_settings_of(op))
        self.made[id(t)] = step
        return step
