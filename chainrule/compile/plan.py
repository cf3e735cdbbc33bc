"""The plan: two traces of one step checked against each other, then turned into a flat program.

``build_plan`` binds every op input to where it comes from (an argument of the step, the output
of an earlier op, or a tensor that outlives the step: a parameter, a buffer) and raises
``Unreplayable`` naming what cannot be replayed. ``Plan.run`` then executes the steps as a list
of closures over three lists (op outputs, pending gradients, op instances): no ``Tensor``
objects, no graph walk, no argument checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Function, increment_version
from ..ops.activation import ReLU, Tanh
from ..ops.linalg import Linear
from ..ops.loss import MSE, CrossEntropy
from ..optim.adam import Adam, AdamW
from ..optim.optimizer import Optimizer
from ..optim.sgd import SGD
from ..tensor import Tensor
from . import kernels
from .buffers import Buffers
from .trace import BackwardRecord, OpRecord, OptimizerRecord, Trace

__all__ = ["Plan", "Unreplayable", "build_plan", "Snapshot"]

Array = np.ndarray
Step = Callable[["_State"], None]


class Unreplayable(Exception):
    """The captured step cannot be replayed; the message says why (naming the op)."""


class _Parent:
    """What an op's ``backward`` may read of its inputs in a replay (``self.parents[i]``)."""

    __slots__ = ("requires_grad", "shape", "dtype", "ndim")

    def __init__(self, tensor: Tensor):
        self.requires_grad = tensor.requires_grad
        self.shape, self.dtype, self.ndim = tensor.shape, tensor.dtype, tensor.ndim


class _State:
    """The working lists of one replay."""

    __slots__ = ("args", "values", "grads", "ctxs", "given")

    def __init__(self, args: list[Any], size: int):
        self.args = args
        self.values: list[Any] = [None] * size
        self.grads: list[Any] = [None] * size
        self.ctxs: list[Any] = [None] * size
        self.given: set[int] = set()


# ---------------------------------------------------------------------------- side effects
class Snapshot:
    """Versions of the tensors a step read and copies of its modules' buffers, taken before the
    second captured run; ``changed_outside`` names a change the plan would not replay."""

    def __init__(self, trace: Trace):
        self.versions = {id(t): (t, getattr(t, "_version", 0)) for e in trace.events
                         if isinstance(e, OpRecord) for t in e.inputs if t._ctx is None}
        self.buffers = [(module, name, array, _copy(array))
                        for module, _ in trace.modules.values()
                        for name, array in module.named_buffers()]

    def changed_outside(self, trace: Trace) -> str | None:
        stepped = {id(p) for e in trace.events if isinstance(e, OptimizerRecord)
                   and e.set_to_none is None for g in e.optimizer.param_groups for p in g["params"]}
        for tensor, version in self.versions.values():
            if getattr(tensor, "_version", 0) != version and id(tensor) not in stepped:
                return (f"a tensor of shape {tensor.shape} is changed in place during the step "
                        "by something other than an optimizer step")
        written = {id(v) for e in trace.events if isinstance(e, OpRecord)
                   for v in e.params.values() if isinstance(v, np.ndarray)}
        for module, name, before, copy in self.buffers:
            now = dict(module.named_buffers()).get(name)
            if id(now) in written:
                continue
            if now is not before or (copy is not None and not np.array_equal(now, copy,
                                                                              equal_nan=True)):
                return (f"{type(module).__name__} changes its buffer {name!r} in Python, outside "
                        "any op")
        return None


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else None


# ---------------------------------------------------------------------------- binding
_ARG, _OP, _CONST = 0, 1, 2


def _bind_inputs(j: int, first: OpRecord, second: OpRecord, where: list[dict[int, tuple]]
                 ) -> list[tuple[int, Any]]:
    """Where each input of op ``j`` comes from, the same in both runs."""
    refs = []
    for i, (a, b) in enumerate(zip(first.inputs, second.inputs)):
        ra, rb = where[0].get(id(a)), where[1].get(id(b))
        if ra is not None and ra == rb:
            refs.append(rb)
        elif ra is None and rb is None and a is b:
            refs.append((_CONST, b))
        else:
            raise Unreplayable(
                f"{first.cls.__name__}: input {i} is a tensor made outside any op during the "
                "step (a dropout mask, say), which a replay would not make again")
    return refs


def _bind_params(first: OpRecord, second: OpRecord, arg_arrays: list[dict[int, int]]
                 ) -> dict[str, Any]:
    """The op's keyword parameters; an argument's array is bound as ``(_ARG, k)``."""
    if first.params.keys() != second.params.keys():
        raise Unreplayable(f"{first.cls.__name__} is called with different parameters")
    params: dict[str, Any] = {}
    for name, b in second.params.items():
        a = first.params[name]
        if isinstance(b, np.ndarray):
            ka, kb = arg_arrays[0].get(id(a)), arg_arrays[1].get(id(b))
            if ka is not None and ka == kb:
                params[name] = _ArgArray(kb)
                continue
            if a is b:
                params[name] = b
                continue
        elif type(a) is type(b) and _equal(a, b):
            params[name] = b
            continue
        raise Unreplayable(f"{first.cls.__name__}: its parameter {name!r} differs between calls "
                           "(an array made during the step, or a value computed from the data)")
    return params


class _ArgArray:
    """A keyword parameter that is the array of the step's ``k``-th argument."""

    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or a is b
    except (ValueError, TypeError):  # arrays inside a tuple, say
        return a is b


# ---------------------------------------------------------------------------- the plan
class Plan:
    """A flat program replaying one captured step for inputs of one signature."""

    def __init__(self, steps: list[Step], labels: list[str], size: int,
                 modes: list[tuple[Any, bool]], result: Callable[[_State], Any]):
        self.steps, self.labels, self.size = steps, labels, size  # labels: what each step does
        self.modes, self._result = modes, result

    def modes_unchanged(self) -> bool:
        """Whether every module the step called is in the mode (training/eval) it was in."""
        return all(module.training == training for module, training in self.modes)

    def new_state(self, args: list[Any]) -> _State:
        """The working lists for one replay with the step's arguments ``args``."""
        return _State(args, self.size)

    def run(self, args: list[Any]) -> Any:
        """Replay the step on ``args``; returns what the step returned (fresh tensors)."""
        state = self.new_state(args)
        for step in self.steps:
            step(state)
        return self._result(state)


def build_plan(first: Trace, second: Trace, args: tuple[list[Any], list[Any]], result: Any
               ) -> Plan:
    """Check that two traces of a step agree and build the plan that replays them.

    Raises:
        Unreplayable: naming the op (or the module, or the call) that a plan cannot replay.
    """
    if first.nested or second.nested:
        raise Unreplayable("an op ran inside an optimizer step (a closure)")
    if len(first.events) != len(second.events) or [
            (id(m), t) for m, t in first.modules.values()] != [
            (id(m), t) for m, t in second.modules.values()]:
        raise Unreplayable("the step ran different ops in two calls with inputs of the same "
                           "shapes (Python control flow on tensor values?)")
    for module, _ in second.modules.values():
        if vars(module).get("_forward_hooks") or vars(module).get("_forward_pre_hooks"):
            raise Unreplayable(f"{type(module).__name__} has forward hooks")
    for event in second.events:
        if isinstance(event, OpRecord) and any(getattr(t, "_accumulate_hooks", None)
                                                 for t in event.inputs):
            raise Unreplayable(f"{event.cls.__name__}: an input has a post-accumulate-grad hook "
                               "(data parallelism, say)")
    where: list[dict[int, tuple]] = [{}, {}]
    arg_arrays: list[dict[int, int]] = [{}, {}]
    for run in (0, 1):
        for k, a in enumerate(args[run]):
            if isinstance(a, Tensor):
                where[run][id(a)] = (_ARG, k)
                arg_arrays[run][id(a._data)] = k
    ops: list[tuple[OpRecord, list[tuple[int, Any]], dict[str, Any]] | None] = []
    for j, (a, b) in enumerate(zip(first.events, second.events)):
        if type(a) is not type(b):
            raise Unreplayable("the step did different things in two calls")
        if isinstance(a, OpRecord) and isinstance(b, OpRecord):
            if a.cls is not b.cls or a.recorded != b.recorded or (
                    a.output.shape, a.output.dtype) != (b.output.shape, b.output.dtype):
                raise Unreplayable(f"{a.cls.__name__} differs between two calls")
            ops.append((b, _bind_inputs(j, a, b, where), _bind_params(a, b, arg_arrays)))
            where[0][id(a.output)] = where[1][id(b.output)] = (_OP, j)
        elif isinstance(a, BackwardRecord) and isinstance(b, BackwardRecord):
            if a.nodes != b.nodes or -1 in b.nodes or not b.plain:
                raise Unreplayable("backward() runs through a hook or an op made before the "
                                   "step, or is given a gradient, retain_graph, create_graph "
                                   "or inputs")
            ops.append(None)
        elif isinstance(a, OptimizerRecord) and isinstance(b, OptimizerRecord):
            if a.optimizer is not b.optimizer or a.set_to_none != b.set_to_none or b.with_closure:
                raise Unreplayable("the optimizer calls differ between two calls")
            ops.append(None)
    return _Builder(second, ops, where[1]).build(result)


# ---------------------------------------------------------------------------- building
_Op = tuple[OpRecord, list[tuple[int, Any]], dict[str, Any]]


class _Builder:
    """Turns bound ops into steps, choosing a buffer kernel for the hot ops where it applies."""

    def __init__(self, trace: Trace, ops: list[_Op | None], where: dict[int, tuple]):
        self.trace, self.ops, self.where = trace, ops, where
        self.buffers = Buffers()
        self.consumers = [0] * len(ops)
        for op in ops:
            for kind, source in op[1] if op is not None else ():
                if kind == _OP:
                    self.consumers[source] += 1
        self.linear: dict[int, bool] = {}  # op index of a buffer-kernel dense layer -> gx needed
        self.activation: set[int] = set()  # op indices of buffer-kernel ReLU/Tanh
        self.cross_entropy: dict[int, dict[str, Array]] = {}  # op index -> its buffers
        self.mse: dict[int, tuple[Array, Array]] = {}  # op index -> (difference, losses)

    def build(self, result: Any) -> Plan:
        make_result = self._result(result)  # marks the returned ops as having a consumer
        for j, op in enumerate(self.ops):
            if op is not None:
                self._choose_kernel(j, *op)
        steps: list[Step] = []
        labels: list[str] = []
        for j, event in enumerate(self.trace.events):
            if isinstance(event, OpRecord):
                steps.append(self._forward(j))
                labels.append(f"{self._label(j)} forward")
            elif isinstance(event, BackwardRecord):
                steps.extend(self._backward(event))
                labels += ["backward seed", *(f"{self._label(i)} backward" for i in event.nodes)]
            elif isinstance(event, OptimizerRecord):
                steps.append(_optimizer_step(event))
                labels.append(f"{type(event.optimizer).__name__}."
                              f"{'step' if event.set_to_none is None else 'zero_grad'}")
        return Plan(steps, labels, len(self.ops), list(self.trace.modules.values()),
                    make_result)

    def _label(self, j: int) -> str:
        """The op's name, and which kernel replays it."""
        name = self.trace.events[j].cls.__name__  # type: ignore[union-attr]
        if j in self.linear or j in self.activation or j in self.cross_entropy or j in self.mse:
            return f"{name} #{j} (buffer kernel)"
        return f"{name} #{j}"

    # ------------------------------------------------------------------ kernel choice
    def _choose_kernel(self, j: int, record: OpRecord, refs: list[tuple[int, Any]],
                       params: dict[str, Any]) -> None:
        inputs, out = record.inputs, record.output
        if record.cls is Linear and not params and inputs[0].ndim == 2 and all(
                kind == _CONST and t._ctx is None for kind, t in refs[1:]) and all(
                t.dtype == out.dtype for t in inputs) and out.dtype.kind == "f":
            self.linear[j] = inputs[0].requires_grad and refs[0][0] == _OP
        elif record.cls in (ReLU, Tanh) and not params and refs[0][0] != _CONST and (
                out.dtype.kind == "f"):
            self.activation.add(j)
        elif record.cls is CrossEntropy and _plain_cross_entropy(inputs[0], record.params):
            n, classes = inputs[0].shape
            new, dtype = self.buffers.new, inputs[0].dtype
            self.cross_entropy[j] = {
                "rows": np.arange(n), "row_max": new((n, 1), dtype), "shifted": new(
                    (n, classes), dtype), "prob": new((n, classes), dtype), "total": new(
                    (n, 1), dtype), "log_total": new((n, 1), dtype), "losses": new((n,), dtype)}
        elif record.cls is MSE and params.get("reduction", "mean") == "mean" and params.get(
                "scale", 1.0) == 1 and inputs[0].shape == inputs[1].shape and (
                inputs[0].dtype == inputs[1].dtype == out.dtype) and out.dtype.kind == "f" and (
                not inputs[1].requires_grad):
            self.mse[j] = (self.buffers.new(inputs[0].shape, out.dtype),
                           self.buffers.new(inputs[0].shape, out.dtype))

    def _in_place(self, j: int) -> bool:
        """Whether activation ``j`` may overwrite its input: a dense layer's buffer that
        nothing else reads (the layer itself saves its input, never its output)."""
        kind, source = self.ops[j][1][0]  # type: ignore[index]
        return kind == _OP and source in self.linear and self.consumers[source] == 1

    def _owns_grad(self, j: int) -> bool:
        """Whether the gradient arriving at op ``j``'s output is a buffer only ``j`` reads: the
        input gradient of its one consumer, a buffer-kernel dense layer."""
        if self.consumers[j] != 1:
            return False
        for i in self.linear:
            refs = self.ops[i][1]  # type: ignore[index]
            if refs[0] == (_OP, j) and self.linear[i]:
                return True
        return False

    # ------------------------------------------------------------------ forward
    def _forward(self, j: int) -> Step:
        record, refs, params = self.ops[j]  # type: ignore[misc]
        get = _getter(refs[0])
        if j in self.linear:
            weight = refs[1][1]
            bias = refs[2][1] if len(refs) == 3 else None
            out = self.buffers.new(record.output.shape, record.output.dtype)

            def linear(s: _State) -> None:
                s.values[j] = kernels.linear_forward(
                    get(s), weight._data, None if bias is None else bias._data, out)
            return linear
        if j in self.activation:
            own = None if self._in_place(j) else self.buffers.new(record.output.shape,
                                                                   record.output.dtype)
            forward = kernels.relu_forward if record.cls is ReLU else kernels.tanh_forward

            def activation(s: _State) -> None:
                x = get(s)
                s.values[j] = forward(x, x if own is None else own)
            return activation
        if j in self.mse:
            diff, losses = self.mse[j]
            get_target = _getter(refs[1])

            def mse(s: _State) -> None:
                s.values[j] = kernels.mse_forward(get(s), get_target(s), diff, losses)
            return mse
        if j in self.cross_entropy:
            buffers = self.cross_entropy[j]
            labels = _param_getter(params["target"])

            def cross_entropy(s: _State) -> None:
                s.values[j] = kernels.cross_entropy_forward(get(s), labels(s), **buffers)
            return cross_entropy
        return _generic_forward(j, record, refs, params)

    # ------------------------------------------------------------------ backward
    def _backward(self, event: BackwardRecord) -> list[Step]:
        root = event.nodes[0]
        output = self.trace.events[root].output  # type: ignore[union-attr]
        ones = self.buffers.new(output.shape, output.dtype)
        ones.fill(1)

        def seed(s: _State) -> None:
            s.grads[root] = ones
            s.given = set()
        steps: list[Step] = [seed]
        for j in event.nodes:
            if j in self.linear:
                steps.append(self._linear_backward(j))
            elif j in self.activation:
                steps.append(self._activation_backward(j))
            elif j in self.cross_entropy:
                steps.append(self._cross_entropy_backward(j))
            elif j in self.mse:
                steps.append(self._mse_backward(j))
            else:
                steps.append(self._generic_backward(j))
        return steps

    def _linear_backward(self, j: int) -> Step:
        record, refs, _ = self.ops[j]  # type: ignore[misc]
        get_x = _getter(refs[0])
        weight = refs[1][1]
        bias = refs[2][1] if len(refs) == 3 else None
        x_source = refs[0][1] if self.linear[j] else None
        gx = self.buffers.new(record.inputs[0].shape, record.inputs[0].dtype) \
            if x_source is not None else None
        gw = self.buffers.like(weight._data) if weight.requires_grad else None
        gb = self.buffers.new(bias.shape, bias.dtype) if bias is not None and (
            bias.requires_grad) else None
        x_leaf = record.inputs[0].requires_grad and x_source is None
        to_leaf = functools.partial(_to_leaf, self.buffers)

        def linear(s: _State) -> None:
            g = s.grads[j]
            if g is None:
                return
            s.grads[j] = None
            x = get_x(s)
            w = weight._data
            if x_leaf:  # an argument that requires grad: the generic rule's arithmetic
                to_leaf(s, _leaf(refs[0], s), g @ w)
            # a leaf's buffer becomes its .grad only when it has none to add to
            fresh_w = gw is not None and weight.grad is None
            fresh_b = gb is not None and bias.grad is None  # type: ignore[union-attr]
            kernels.linear_backward(g, x, w, gx, gw if fresh_w else None,
                                    gb if fresh_b else None)
            if gx is not None:
                previous = s.grads[x_source]  # type: ignore[index]
                s.grads[x_source] = gx if previous is None else previous + gx  # type: ignore
            if gw is not None:
                if fresh_w:
                    weight.grad = gw
                    s.given.add(id(gw))
                else:
                    to_leaf(s, weight, np.matmul(g.T, x, out=np.empty_like(w)))
            if gb is not None:
                if fresh_b:
                    bias.grad = gb  # type: ignore[union-attr]
                    s.given.add(id(gb))
                else:
                    to_leaf(s, bias, g.sum(axis=0))  # type: ignore[arg-type]
        return linear

    def _activation_backward(self, j: int) -> Step:
        record, refs, _ = self.ops[j]  # type: ignore[misc]
        shape, dtype = record.output.shape, record.output.dtype
        owned = self._owns_grad(j)
        own = None if owned else self.buffers.new(shape, dtype)
        source = refs[0]
        relu = record.cls is ReLU
        work = self.buffers.new(shape, np.bool_ if relu else dtype)
        rule = kernels.relu_backward if relu else kernels.tanh_backward
        return self._kernel_backward(j, record, source, lambda s, g: rule(
            g, s.values[j], work, g if own is None else own))

    def _mse_backward(self, j: int) -> Step:
        record, refs, _ = self.ops[j]  # type: ignore[misc]
        diff = self.mse[j][0]
        out = self.buffers.new(diff.shape, diff.dtype)
        return self._kernel_backward(j, record, refs[0],
                                   lambda s, g: kernels.mse_backward(g, diff, out))

    def _kernel_backward(self, j: int, record: OpRecord, source: tuple[int, Any],
                         rule: Callable[[_State, Array], Array]) -> Step:
        """A one-input kernel's backward (an activation, a loss): ``rule`` gives the input's
        gradient, passed on as the engine passes it (to the op that made the input, or to a
        leaf)."""
        needed = record.inputs[0].requires_grad
        pass_on = functools.partial(_pass_on, self.buffers)

        def backward(s: _State) -> None:
            g = s.grads[j]
            if g is None:
                return
            s.grads[j] = None
            if not needed:
                return
            pass_on(s, source, rule(s, g))
        return backward

    def _cross_entropy_backward(self, j: int) -> Step:
        record, refs, params = self.ops[j]  # type: ignore[misc]
        buffers = self.cross_entropy[j]
        prob, rows = buffers["prob"], buffers["rows"]
        labels = _param_getter(params["target"])
        out = self.buffers.new(record.inputs[0].shape, record.inputs[0].dtype)
        return self._kernel_backward(j, record, refs[0], lambda s, g: (
            kernels.cross_entropy_backward(g, prob, labels(s), rows, out)))

    def _generic_backward(self, j: int) -> Step:
        record, refs, _ = self.ops[j]  # type: ignore[misc]
        targets = [(kind, source, t.dtype) if t.requires_grad else None
                   for (kind, source), t in zip(refs, record.inputs)]
        pass_on = functools.partial(_pass_on, self.buffers)

        def generic(s: _State) -> None:
            g = s.grads[j]
            if g is None:
                return
            s.grads[j] = None
            input_grads = s.ctxs[j].backward(g)
            s.ctxs[j] = None
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            for target, pg in zip(targets, input_grads):
                if pg is None or target is None:
                    continue
                kind, source, dtype = target
                if pg.dtype is not dtype and pg.dtype != dtype:
                    pg = pg.astype(dtype)
                pass_on(s, (kind, source), pg)
        return generic

    # ------------------------------------------------------------------ result
    def _result(self, result: Any) -> Callable[[_State], Any]:
        if result is None:
            return lambda s: None
        if isinstance(result, (tuple, list)):
            parts = [self._result(r) for r in result]
            kind = type(result)
            return lambda s: kind(part(s) for part in parts)
        if not isinstance(result, Tensor):
            raise Unreplayable(f"the step returns a {type(result).__name__}; a compiled step "
                               "may return tensors, tuples or lists of them, and None")
        ref = self.where.get(id(result))
        if ref is None:
            return lambda s: result  # a tensor that outlives the step (a parameter, say)
        if ref[0] == _ARG:
            return lambda s: s.args[ref[1]]
        j = ref[1]
        self.consumers[j] += 1  # read after the step: never overwritten in place
        return lambda s: Tensor(np.array(s.values[j], copy=True))


def _pass_on(buffers: Buffers, s: _State, ref: tuple[int, Any], pg: Array) -> None:
    """Send an input's gradient on as the engine does: added to the pending gradient of the op
    that made the input, or accumulated into a leaf's ``.grad``."""
    kind, source = ref
    if kind == _OP:
        previous = s.grads[source]
        s.grads[source] = pg if previous is None else previous + pg
    else:
        _to_leaf(buffers, s, _leaf(ref, s), pg)


def _to_leaf(buffers: Buffers, s: _State, leaf: Tensor, pg: Array) -> None:
    """The engine's accumulation into a leaf's ``.grad`` (``chainrule.autograd.backward``);
    a plan buffer is copied, as the plan writes it again at the next replay."""
    if leaf.grad is None:
        if (pg.base is not None or id(pg) in s.given or not pg.flags.writeable
                or buffers.owns(pg)):
            pg = pg.copy(order="K")
        s.given.add(id(pg))
        leaf.grad = pg
    else:
        leaf.grad = np.asarray(leaf.grad + pg)


def _getter(ref: tuple[int, Any]) -> Callable[[_State], Array]:
    kind, source = ref
    if kind == _OP:
        return lambda s: s.values[source]
    if kind == _ARG:
        return lambda s: s.args[source]._data
    return lambda s: source._data


def _param_getter(value: Any) -> Callable[[_State], Any]:
    """A keyword parameter's value at replay: the argument's array, or the value itself."""
    if isinstance(value, _ArgArray):
        k = value.k
        return lambda s: s.args[k]._data
    return lambda s: value


def _plain_cross_entropy(logits: Tensor, params: dict[str, Any]) -> bool:
    """Whether ``CrossEntropy`` (called with ``params``) takes its fast path: (N, C) float
    logits, integer labels (N,), no weights, smoothing or ignored label, and the mean."""
    labels = params.get("target")
    return (logits.ndim == 2 and logits.dtype.kind == "f" and isinstance(labels, np.ndarray)
            and labels.dtype.kind in "iu" and labels.shape == logits.shape[:1]
            and params.get("weight") is None and params.get("reduction", "mean") == "mean"
            and not params.get("label_smoothing") and params.get("ignore_index") is None)


def _leaf(ref: tuple[int, Any], s: _State) -> Tensor:
    kind, source = ref
    leaf: Tensor = s.args[source] if kind == _ARG else source
    return leaf


def _generic_forward(j: int, record: OpRecord, refs: list[tuple[int, Any]],
                     params: dict[str, Any]) -> Step:
    """The op's own ``forward`` on a fresh instance (kept for its ``backward`` if recorded)."""
    cls = record.cls
    bound = {name: value.k for name, value in params.items() if isinstance(value, _ArgArray)}
    parents = tuple(_Parent(t) for t in record.inputs) if record.recorded else None

    def generic(s: _State) -> None:
        values, args = s.values, s.args
        arrays = [values[source] if kind == _OP else args[source]._data if kind == _ARG
                  else source._data for kind, source in refs]
        kwargs = params if not bound else {
            **params, **{name: args[k]._data for name, k in bound.items()}}
        ctx: Function = cls()
        data = ctx.forward(*arrays, **kwargs)
        if type(data) is not np.ndarray and isinstance(data, np.generic):
            data = np.asarray(data)
        values[j] = data
        if parents is not None:
            ctx.parents = parents  # type: ignore[assignment]
            s.ctxs[j] = ctx
    return generic


# ---------------------------------------------------------------------------- optimizers
def _optimizer_step(event: OptimizerRecord) -> Step:
    optimizer = event.optimizer
    if event.set_to_none is not None:
        set_to_none = event.set_to_none
        return lambda s: optimizer.zero_grad(set_to_none)
    kind = type(optimizer)
    if kind is SGD:
        return _SGDStep(optimizer)
    if kind in (Adam, AdamW):
        return _AdamStep(optimizer)
    return lambda s: optimizer.step()


class _SGDStep:
    """Plain SGD (no momentum, no weight decay: read each step, as a scheduler may change the
    group) straight from the gradient buffers; otherwise the optimizer's own step."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.work: dict[int, Array] = {}

    def __call__(self, s: _State) -> None:
        optimizer = self.optimizer
        groups = optimizer.param_groups
        if any(g["momentum"] or g["weight_decay"] for g in groups):
            optimizer.step()
            return
        state, work = optimizer.state, self.work
        updated = []
        for group in groups:
            lr = float(group["lr"])
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if param not in state:
                    state[param] = {}
                data = param._data
                buffer = work.get(id(param))
                if buffer is None or buffer.shape != data.shape:
                    buffer = work[id(param)] = np.empty_like(data)
                kernels.sgd_plain_update(data, grad, lr, buffer)
                updated.append(param)
        increment_version(*updated)


class _AdamStep:
    """Adam and AdamW (without AMSGrad) straight from the gradient buffers; otherwise the
    optimizer's own step."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.decoupled = isinstance(optimizer, AdamW)
        self.scratch: dict[int, tuple[Array, Array]] = {}

    def __call__(self, s: _State) -> None:
        optimizer = self.optimizer
        groups = optimizer.param_groups
        if any(g["amsgrad"] for g in groups):
            optimizer.step()
            return
        state, scratch = optimizer.state, self.scratch
        updated = []
        for group in groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                param_state = state.get(param)
                if param_state is None:
                    param_state = state[param] = {}
                data = param._data
                work = scratch.get(id(param))
                if work is None or work[0].shape != data.shape:
                    work = scratch[id(param)] = (np.empty_like(data), np.empty_like(data))
                kernels.adam_group_update(data, grad, param_state, group, self.decoupled, work)
                updated.append(param)
        increment_version(*updated)
