"""The backward engine: the ``Function`` contract ops follow, grad mode, version counters, hooks
and the walk that applies each op's backward rule.

**Recording.** ``Function.apply`` runs an op's ``forward`` on its inputs' arrays and wraps the
result in a ``Tensor``. When grad mode is on and an input requires a gradient, the op's
``Function`` instance becomes the output's ``grad_fn``, holding its inputs (``parents``, a tuple)
and whatever its rule saved, and takes the next value of one process-wide clock (``order``).

**Creation order.** An op's inputs all exist before the op, so descending ``order`` over the ops
reachable from the root is a topological order: ``backward`` collects those ops with a stack (no
recursion, so a chain of 100,000 ops is fine), sorts them once and applies each rule to the sum
of the gradients its output received. Leaves accumulate into ``.grad`` as contributions arrive;
gradients of intermediate tensors are kept per op, not in ``.grad``.

**Graph freeing.** After an op's rule ran, its instance dictionary is cleared (its inputs and
saved arrays go, so intermediates can be collected); a second ``backward`` through it raises
unless the first passed ``retain_graph=True``.

**Version counters.** A tensor's version is 0 when made and a fresh value of the clock whenever
it is changed in place: assigning ``.data`` (as ``w.data += 1`` does, after updating the array),
an in-place operator under ``no_grad``, an optimizer step (``increment_version``). As versions
and op orders come from one clock, "changed after op f ran" is one compare, ``version >
f.order``, with no bookkeeping per op and no array compares. ``backward`` first compares the
newest version of any tensor with the order of the oldest op in the graph; only if something
changed since (an optimizer step between two backwards of one forward, say) does it check every
input of every op, and every intermediate tensor against the op that made it, and raise naming
the op whose saved values are stale. The check is conservative: it assumes every op saved its
inputs and its output (PyTorch tracks each saved tensor), so changing an input that an op's rule
never reads (the addend of an ``Add``) also raises. Not tracked: writes through an array
obtained earlier (``a = w.data; a += 1``, ``w.data[0] = 1``, ``np.add(w.data, 1,
out=w.data)``) and through another tensor sharing the memory (``w.detach()``, a ``reshape``
view), as versions belong to tensors, not to memory; code that writes arrays in place like this
calls ``increment_version`` itself.

**Hooks.** ``register_hook`` on a tensor made by an op sees (and may replace) the gradient
arriving at it before its op's rule runs. A post-accumulate hook on a leaf runs once per
backward, as soon as the last op that reads the leaf has added its gradient to ``.grad``, while
backward goes on (data parallelism starts reducing finished gradients then).

**Grad mode** is per thread, as in PyTorch: ``no_grad`` in one thread leaves recording on in the
others. While no thread has it off, ``apply`` reads one module global, as cheap as a
process-wide flag; only otherwise does it read the thread's own state.

**Double backward.** ``backward(create_graph=True)`` and ``grad(..., create_graph=True)``
record the backward pass itself, so the gradients are tensors with a ``grad_fn`` that can be
differentiated again, to any order. Each rule is written once: on the first-order path the
engine calls ``ctx.backward(g)`` with arrays, exactly as before (one test per op is all this
path pays); under ``create_graph`` it calls the same rule, on a copy of the op whose saved
inputs and output (recognised by the identity of their arrays) are the tensors themselves and
with ``g`` a tensor. The rule asks ``array_module(x)`` for its functions, which for a tensor is
``tensor_math`` (NumPy's names as chainrule ops), so it records. Such ops say so
(``replayable = True``). A rule that saves a *derived* array (a softmax, normalisation
statistics, patches, gates) cannot be replayed, as that array would act as a constant and the
second derivative would be silently wrong: such ops define ``backward_graph(self, grad)``,
usually their forward recomputed with recorded ops and differentiated by the engine
(``composite_gradients``). An op with neither raises under ``create_graph``, naming itself.
With ``inputs`` (``grad``, ``backward(inputs=...)``) only the ops that lead to an input run.

The engine sits below the ops in the layering (ops import ``Function`` from here) and the
``Tensor`` above them (its methods call the ops), so the engine never imports ``tensor.py``:
``tensor.py`` registers its class with ``register_tensor_class`` when it is imported.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import array_module

if TYPE_CHECKING:
    from ..tensor import Tensor

Array = Any  # a NumPy array (a CuPy one on a GPU)

__all__ = [
    "Function", "RemovableHandle", "backward", "grad", "composite_gradients",
    "no_grad", "enable_grad", "is_grad_enabled",
    "creation_mark", "increment_version", "recorded_ops", "register_post_accumulate_grad_hook",
    "recorded_backward_passes",
]


# ---------------------------------------------------------------------------- grad mode
class _ThreadState(threading.local):
    """Grad mode of one thread; each thread starts with it on."""

    enabled = True

    def __init__(self) -> None:
        self.previous: list[bool] = []  # what each open no_grad/enable_grad block replaced


_state = _ThreadState()
_threads_off = 0  # threads whose grad mode is off now
_threads_off_lock = threading.Lock()
_all_threads_record = True  # _threads_off == 0 (a bool: the hot path tests it without a call)


def is_grad_enabled() -> bool:
    """Whether ops record a graph for ``backward`` in the calling thread."""
    return _state.enabled


def _set_grad_enabled(enabled: bool) -> None:
    global _threads_off, _all_threads_record
    if enabled == _state.enabled:
        return
    with _threads_off_lock:  # `+=` on a global is not atomic between threads
        _threads_off += -1 if enabled else 1
        _all_threads_record = _threads_off == 0
    _state.enabled = enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off in this thread.

    It keeps no state of its own (what it replaced is kept per thread), so one instance may
    decorate a function that several threads run at once.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self) -> None:
        _state.previous.append(_state.enabled)
        _set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        _set_grad_enabled(_state.previous.pop())


def no_grad() -> _GradMode:
    """Record no graph inside the block, in this thread (inference, hand-written updates).

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> with cr.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Record the graph inside the block even within ``no_grad``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> with cr.no_grad(), cr.enable_grad():
        ...     y = w * 2
        >>> y.requires_grad
        True
    """
    return _GradMode(True)


# ---------------------------------------------------------------------------- clock and versions
_clock = itertools.count()  # op orders, tensor versions and creation marks, increasing
_last_change = -1  # the newest version of any tensor: backward checks versions only if it is new
_any_accumulate_hooks = False  # whether a post-accumulate hook was ever registered
_Tensor: type[Tensor]  # the class of op outputs (see register_tensor_class)


def register_tensor_class(cls: type[Tensor]) -> None:
    """Make ``cls`` the class of the tensors ops return; ``chainrule.tensor`` calls it once."""
    global _Tensor
    _Tensor = cls


def creation_mark() -> int:
    """A point in the order of op creation: ops recorded before the call have a smaller
    ``order``, ops recorded after it a larger one. ``recorded_ops(output, since=mark)`` lists the
    latter.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0], requires_grad=True)
        >>> mark = cr.autograd.creation_mark()
        >>> y = (x * 2).exp()
        >>> [op.name for _, op in cr.autograd.recorded_ops(y, since=mark)]
        ['Mul', 'Exp']
    """
    return next(_clock)


def increment_version(*tensors: Tensor) -> None:
    """Record that the arrays of ``tensors`` were changed in place, so a ``backward`` through an
    op that saved one of them raises instead of using the new values.

    Assigning ``.data`` and the in-place operators do this themselves; code that writes an
    array directly (optimizers, ``np.add(w.data, d, out=w.data)``) calls it after the write.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = (w * w).sum()
        >>> _ = np.add(w.data, 10, out=w.data)
        >>> cr.autograd.increment_version(w)
        >>> y.backward()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        RuntimeError: backward through Mul: its input 0 (shape (2,)) was changed in place ...
    """
    # Two threads changing tensors at the same moment may leave _last_change at the older of
    # their versions; such a program races on the arrays themselves, which no check can fix.
    global _last_change
    version = _last_change = next(_clock)
    for tensor in tensors:
        tensor._version = version


def _changed_in_place(op: Function, what: str, shape: tuple[int, ...]) -> RuntimeError:
    return RuntimeError(
        f"backward through {op.name}: {what} (shape {shape}) was changed in place after "
        f"{op.name} ran (an optimizer step, an update of .data, an in-place operator under "
        "no_grad), so the values its gradient needs are gone; run the forward pass again "
        "after the change, or change a copy"
    )


# ---------------------------------------------------------------------------- the op contract
class Function:
    """One differentiable primitive: ``forward`` and ``backward`` side by side.

    Subclasses implement ``forward(*arrays, **params) -> array`` and ``backward(grad)``, which
    returns one gradient per tensor input (a tuple, or a bare array for one input), each of its
    input's exact shape, or ``None`` where an input needs none. ``backward`` may read
    ``self.parents[i].requires_grad`` to skip work, saves on ``self`` what it needs, and must
    never modify ``grad`` in place (the same array may flow to several inputs).

    For double backward (``create_graph=True``) an op sets ``replayable = True`` when its rule
    reads only its saved inputs and output, constants and ``array_module`` functions (the
    engine then replays it on tensors), or defines ``backward_graph(self, grad)`` returning
    the gradients as recorded tensor ops (see the module's "Double backward").

    A recorded instance is a tensor's ``grad_fn``: ``name`` is the op's name (``"Tanh"``, used
    in error messages and by ``explain``), ``parents`` its input tensors (``None`` once the graph
    is freed), ``order`` its place in creation order. It prints as ``<TanhBackward>``, as
    PyTorch's do, so an op never reads like the layer of the same name.

    Example:
        >>> import chainrule as cr
        >>> class Square(cr.autograd.Function):
        ...     '''y = x²; dy/dx = 2x'''
        ...     replayable = True  # the rule reads its input only: double backward works
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, grad):
        ...         return 2 * self.x * grad
        >>> x = cr.tensor([3.0], requires_grad=True)
        >>> y = Square.apply(x)
        >>> y
        tensor([9.], grad_fn=<SquareBackward>)
        >>> y.backward()
        >>> x.grad
        array([6.], dtype=float32)
    """

    parents: tuple[Tensor, ...] | None = None  # the inputs while the graph lives; None once freed
    # Double backward (see the module): whether ``backward`` may be replayed on tensors, or a
    # method ``backward_graph(self, grad)`` giving the gradients as recorded tensor ops.
    replayable: bool = False
    backward_graph: Any = None
    generic_output: Any  # set by apply for a 0-d result (see there)
    hooks: dict[int, Callable[[Array], Array | None]] | None = None  # see Tensor.register_hook
    order: int  # set when the op is recorded

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the op when a gradient is needed."""
        # The hot path of every op. The common arities are unrolled (a list comprehension costs
        # more than a small op's forward) and the order is drawn only for ops that are recorded.
        ctx = cls()
        arity = len(inputs)
        if arity == 1:
            data = ctx.forward(inputs[0]._data, **params)
        elif arity == 2:
            data = ctx.forward(inputs[0]._data, inputs[1]._data, **params)
        elif arity == 3:
            data = ctx.forward(inputs[0]._data, inputs[1]._data, inputs[2]._data, **params)
        else:
            data = ctx.forward(*[t._data for t in inputs], **params)
        if type(data) is not np.ndarray and isinstance(data, np.generic):
            # NumPy ufuncs on 0-d arrays return scalars (CuPy's do not); the scalar is kept so
            # a double backward knows a saved copy of it for the output (_graph_rule).
            ctx.generic_output = data
            data = np.asarray(data)
        out = _Tensor.__new__(_Tensor)
        out._data = data
        out.grad = None
        out.requires_grad = False
        out._ctx = None
        if _all_threads_record or _state.enabled:
            for t in inputs:
                if t.requires_grad:
                    ctx.order = next(_clock)
                    ctx.parents = inputs
                    out.requires_grad = True
                    out._ctx = ctx
                    break
        return out

    def forward(self, *arrays: Any, **params: Any) -> Any:  # pragma: no cover - the contract
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:  # pragma: no cover - the contract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


class RemovableHandle:
    """Returned when a hook is registered; ``remove()`` unregisters it (also on leaving a
    ``with`` block)."""

    _keys = itertools.count()

    def __init__(self, hooks: dict[int, Any], hook: Callable[..., Any]):
        self._hooks, self._key = hooks, next(self._keys)
        hooks[self._key] = hook

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# ---------------------------------------------------------------------------- reading the graph
def recorded_ops(output: Tensor, since: int) -> list[tuple[Tensor, Function]]:
    """The ops recorded after ``since`` (a ``creation_mark()``) that ``output`` depends on, each
    with the tensor it made, in creation order. The walk stops at ops recorded before ``since``
    and at leaves. See ``creation_mark`` for an example."""
    found: list[tuple[Tensor, Function]] = []
    seen: set[int] = set()
    stack = [output]
    while stack:
        t = stack.pop()
        op = t._ctx
        if op is None or id(t) in seen or op.order < since:
            continue
        seen.add(id(t))
        found.append((t, op))
        stack.extend(op.parents or ())
    found.sort(key=lambda pair: pair[1].order)
    return found


# ---------------------------------------------------------------------------- backward
def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate ``d tensor / d leaf`` into the ``.grad`` of every leaf that requires it.

    This is ``Tensor.backward`` (``y.backward()`` calls it with ``tensor=y``). Each op's rule
    runs once, on the sum of the gradients its output received from all its consumers;
    gradients of intermediate tensors are not kept (``retain_grad`` keeps one).

    Args:
        tensor: the output to differentiate, ``L``.
        gradient: the upstream gradient ``dL/dtensor``, of ``tensor``'s shape; may be omitted
            only for a one-element tensor (then 1).
        retain_graph: keep the graph so ``backward`` can run through it again (default:
            ``create_graph``).
        create_graph: record the backward pass itself: ``.grad`` becomes a ``Tensor`` with a
            ``grad_fn``, differentiable again (see the module's "Double backward").
        inputs: accumulate only into these tensors' ``.grad`` (leaves or not); None: every
            leaf that requires grad.

    Raises:
        RuntimeError: when nothing requires grad, when the graph was freed by an earlier
            backward, when a tensor an op saved was changed in place since (naming the op), or
            under ``create_graph`` when an op has no double-backward rule (naming it).
        ValueError: when ``gradient`` has another shape than ``tensor``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * x
        >>> y.backward([1.0, 0.5])
        >>> x.grad
        array([2., 2.], dtype=float32)
        >>> x.grad = None
        >>> (x ** 3).sum().backward(create_graph=True)
        >>> x.grad  # 3x², recorded
        tensor([ 3., 12.], grad_fn=<MulBackward>)
        >>> x.grad.sum().backward(inputs=[x])  # d(Σ 3x²)/dx = 6x, added to .grad
        >>> x.grad
        tensor([ 9., 24.], grad_fn=<AddBackward>)
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad)"
        )
    seed = _seed(tensor, gradient, create_graph, "backward()")
    keep = create_graph if retain_graph is None else retain_graph
    start = tensor._ctx
    if inputs is None and not create_graph and start is not None:
        # The training step's path, kept as short as it was before _walk generalised it.
        nodes = _graph_nodes((start,))
        if _last_change > nodes[-1].order:  # something changed in place since the oldest op ran
            _check_versions(tensor, start, nodes)
        hooked = _hooked_leaves(nodes) if _any_accumulate_hooks else None
        _run_rules(nodes, {start: seed}, None, hooked, keep)
        return
    if inputs is None:
        _walk([(tensor, seed)], None, create_graph, keep)
        return
    targets = _tensor_list(inputs, "backward(inputs=...)")
    for target, g in zip(targets, _walk([(tensor, seed)], targets, create_graph, keep)):
        if g is not None:
            _accumulate(target, g if create_graph else g.copy())


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Any, ...]:
    """The gradients ``Σ_k d outputs[k] / d inputs[i] · grad_outputs[k]``, one per input, as
    tensors, without touching any ``.grad`` (PyTorch's ``torch.autograd.grad``).

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: a tensor or a sequence of tensors (leaves or not) that require grad.
        grad_outputs: the upstream gradient of each output (tensors or arrays of its shape);
            None, or None for an output, means 1 for a one-element output.
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the computation of the gradients, so they can be differentiated
            again (second and higher derivatives, gradient penalties, Hessian-vector products).
        allow_unused: return None for an input that the outputs do not depend on, instead of
            raising.

    Returns:
        A tuple with one tensor (or None) per input, of the input's shape.

    Raises:
        RuntimeError: when an input does not require grad, or is unused and ``allow_unused``
            is False (naming the input).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = (x ** 3).sum()
        >>> (dx,) = cr.autograd.grad(y, x, create_graph=True)
        >>> dx  # 3x²
        tensor([ 3., 12.], grad_fn=<MulBackward>)
        >>> cr.autograd.grad(dx.sum(), x)  # 6x
        (tensor([ 6., 12.]),)
        >>> x.grad is None
        True
    """
    outs = _tensor_list(outputs, "grad(outputs=...)")
    targets = _tensor_list(inputs, "grad(inputs=...)")
    for i, target in enumerate(targets):
        if not target.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {target.shape}) does not require grad")
    if grad_outputs is None or isinstance(grad_outputs, (_Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    roots = []
    for k, (out, g) in enumerate(zip(outs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"grad(): output {k} (shape {out.shape}) does not require grad: "
                               "nothing it was computed from requires grad")
        roots.append((out, _seed(out, g, create_graph, f"grad(grad_outputs[{k}])")))
    keep = create_graph if retain_graph is None else retain_graph
    found = _walk(roots, targets, create_graph, keep)
    results: list[Any] = []
    for i, (target, g) in enumerate(zip(targets, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} (shape {target.shape}) was not used to compute the "
                    "outputs; pass allow_unused=True to get None for it")
            results.append(None)
        else:
            results.append(g if create_graph else _Tensor(g.copy()))
    return tuple(results)


def composite_gradients(op: Function, output: Tensor, gradient: Tensor) -> tuple[Any, ...]:
    """A fused op's ``backward_graph`` by its composite: ``output`` is the op's forward
    recomputed with other (recorded) ops from ``op.parents``; its gradients with respect to
    them, recorded, are the op's, to every order (one per input, None where none is needed).

    For ops whose rule uses values derived from the inputs (normalisation statistics, patch
    matrices, gates): replaying such a rule would treat them as constants."""
    parents = op.parents
    assert parents is not None
    wanted = [p for p in parents if p.requires_grad]
    if not wanted or not output.requires_grad:
        return (None,) * len(parents)
    found = iter(grad(output, wanted, gradient, create_graph=True, allow_unused=True))
    return tuple(next(found) if p.requires_grad else None for p in parents)


def _tensor_list(tensors: Any, what: str) -> list[Tensor]:
    if isinstance(tensors, _Tensor):
        return [tensors]
    listed = list(tensors)
    if not listed or not all(isinstance(t, _Tensor) for t in listed):
        raise TypeError(f"{what} takes a tensor or a non-empty sequence of tensors")
    return listed


def _seed(tensor: Tensor, gradient: Any, graph: bool, what: str) -> Any:
    """The upstream gradient of ``tensor``: an array, or under ``graph`` a tensor (a given
    tensor is kept as it is, so the result can be differentiated with respect to it)."""
    data = tensor._data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(
                f"{what}: without a gradient the output must be a scalar (one element), got "
                f"shape {data.shape}; reduce it first (e.g. .sum()) or pass a gradient of that "
                "shape")
        # dL/dL = 1 in the output's shape, dtype and device. Copy and fill cost a third of
        # ones_like (a Python function in NumPy), and every training step's loss pays it.
        seed = data.copy()
        seed.fill(1)
    elif graph and isinstance(gradient, _Tensor):
        seed = gradient if gradient.dtype == data.dtype else gradient.astype(data.dtype)
    else:
        seed = array_module(data).array(
            gradient._data if isinstance(gradient, _Tensor) else gradient, dtype=data.dtype)
    if seed.shape != data.shape:
        raise ValueError(f"{what} got shape {seed.shape}, expected {data.shape}")
    return _Tensor(seed) if graph and not isinstance(seed, _Tensor) else seed


def _accumulate(tensor: Tensor, g: Any) -> None:
    """``tensor.grad += g`` out of place (``g`` is a fresh array, or a tensor), then the
    tensor's post-accumulate hooks."""
    if tensor.grad is None:
        tensor.grad = g
    else:
        total = tensor.grad + g
        tensor.grad = total if isinstance(total, _Tensor) else array_module(g).asarray(total)
    if _any_accumulate_hooks:
        _call_accumulate_hooks(tensor)


_recorded_passes = 0  # backward passes recorded (create_graph) in this process


def recorded_backward_passes() -> int:
    """How many backward passes were recorded (``create_graph=True``) so far in this process:
    a computation that ran one differentiates itself (a gradient penalty, a PINN residual),
    so its own gradient holds second-order terms (``explain``'s gradient check says so).

    Example:
        >>> import chainrule as cr
        >>> before = cr.autograd.recorded_backward_passes()
        >>> x = cr.tensor([1.0], requires_grad=True)
        >>> _ = cr.autograd.grad((x * x).sum(), x, create_graph=True)
        >>> cr.autograd.recorded_backward_passes() - before
        1
    """
    return _recorded_passes


class _Targets:
    """What a walk that is not a plain first-order backward needs: each op's output tensor,
    and with targets the ops that lead to one and the gradients found for each."""

    __slots__ = ("graph", "outputs", "target_ids", "target_ops", "needed", "found")

    def __init__(self, roots: list[tuple[Tensor, Any]], nodes: list[Function],
                 targets: list[Tensor] | None, graph: bool, found: dict[int, Any]):
        self.graph, self.found = graph, found
        self.outputs = {root._ctx: root for root, _ in roots if root._ctx is not None}
        for ctx in nodes:
            for parent in ctx.parents or ():
                if parent._ctx is not None:
                    self.outputs[parent._ctx] = parent
        self.target_ids: set[int] | None = None  # None: every leaf accumulates into .grad
        self.target_ops: dict[Function, int] = {}  # the op that made each non-leaf target
        self.needed: set[Function] | None = None  # the ops that lead to a target (None: all)
        if targets is not None:
            target_ids = self.target_ids = {id(t) for t in targets}
            self.target_ops = {t._ctx: id(t) for t in targets if t._ctx is not None}
            needed = self.needed = set()
            for ctx in reversed(nodes):  # creation order: parents before the ops reading them
                if any(id(p) in target_ids or p._ctx in needed for p in ctx.parents or ()):
                    needed.add(ctx)


def _walk(roots: list[tuple[Tensor, Any]], targets: list[Tensor] | None, graph: bool,
          retain_graph: bool) -> list[Any]:
    """Run the rules of every op behind ``roots`` (each with its upstream gradient) in reverse
    creation order.

    Without ``targets`` every leaf that requires grad accumulates into ``.grad``; with
    ``targets`` nothing is accumulated, only ops that lead to a target run, and the gradient
    that reached each target is returned (None where none did). Under ``graph`` the rules run
    on tensors and record (see ``_graph_rule``). The plain first-order walk (the training
    step's) does not come here: ``backward`` runs it directly, paying one test per op for all
    this; here it only meets a leaf as the root.
    """
    grads: dict[Function, Any] = {}
    found: dict[int, Any] = {}  # id(target) -> its gradient so far
    for root, g in roots:
        if root._ctx is None:
            if targets is None:
                _accumulate(root, g)  # g is fresh (see _seed)
            elif any(t is root for t in targets):
                found[id(root)] = g if id(root) not in found else found[id(root)] + g
        else:
            previous = grads.get(root._ctx)
            grads[root._ctx] = g if previous is None else previous + g
    if grads:
        nodes = _graph_nodes(list(grads))
        if _last_change > nodes[-1].order:  # something changed in place since the oldest op ran
            for root, _ in roots:
                if root._ctx is not None:
                    _check_versions(root, root._ctx, nodes)
        hooked = _hooked_leaves(nodes) if _any_accumulate_hooks and targets is None else None
        special = _Targets(roots, nodes, targets, graph, found)
        if graph:
            global _recorded_passes
            _recorded_passes += 1
        with enable_grad() if graph else contextlib.nullcontext():
            _run_rules(nodes, grads, special, hooked, retain_graph)
    return [found.get(id(t)) for t in targets or ()]


def _run_rules(nodes: list[Function], grads: dict[Function, Any], special: _Targets | None,
               hooked: dict[Tensor, int] | None, retain_graph: bool) -> None:
    """The loop of ``_walk``: each op's rule on the sum of the gradients its output received,
    its results passed on to the ops that made its inputs or to the leaves."""
    given_to_leaves: set[int] = set()  # ids of the arrays that became a leaf's .grad
    for ctx in nodes:
        g = grads.pop(ctx, None)
        if g is None:  # every consumer returned None for this output
            if hooked is not None:
                _edges_done(ctx, hooked)
            continue
        if ctx.hooks is not None:
            for hook in list(ctx.hooks.values()):
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
        if special is None:
            input_grads = ctx.backward(g)
        else:
            if ctx in special.target_ops:
                special.found[special.target_ops[ctx]] = g
            if special.needed is not None and ctx not in special.needed:
                continue
            input_grads = _graph_rule(ctx, g, special.outputs[ctx]) if special.graph \
                else ctx.backward(g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        parents = ctx.parents
        assert parents is not None  # the walk raised for a freed op
        for parent, pg in zip(parents, input_grads):
            if pg is None or not parent.requires_grad:
                continue
            data = parent._data
            if pg.shape != data.shape:
                raise RuntimeError(
                    f"{ctx.name}.backward returned a gradient of shape {pg.shape} for an "
                    f"input of shape {data.shape}"
                )
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:  # `is`: the common case
                pg = pg.astype(data.dtype)
            parent_ctx = parent._ctx
            if parent_ctx is not None:
                previous = grads.get(parent_ctx)
                grads[parent_ctx] = pg if previous is None else previous + pg
            elif special is not None:
                if special.target_ids is None:  # graph: .grad becomes a recorded tensor
                    parent.grad = pg if parent.grad is None else parent.grad + pg
                elif id(parent) in special.target_ids:
                    previous = special.found.get(id(parent))
                    special.found[id(parent)] = pg if previous is None else previous + pg
            elif parent.grad is None:
                # A rule may pass one array to several inputs, or a view of another;
                # optimizers and clip_grad_norm_ update .grad in place, so each leaf gets
                # memory of its own.
                if pg.base is not None or id(pg) in given_to_leaves or not pg.flags.writeable:
                    pg = pg.copy(order="K")
                given_to_leaves.add(id(pg))
                parent.grad = pg
            else:
                # Out of place: ``pg`` may still be pending for another op. asarray keeps
                # 0-d results arrays (NumPy returns scalars for 0-d + 0-d).
                parent.grad = array_module(pg).asarray(parent.grad + pg)
        if hooked is not None:
            _edges_done(ctx, hooked)
        if not retain_graph:
            vars(ctx).clear()  # frees saved arrays; ctx.parents falls back to None ("freed")


def _graph_rule(ctx: Function, grad: Tensor, output: Tensor) -> Any:
    """Run ``ctx``'s rule on tensors, recording it (see the module's "Double backward").

    The rule runs on a copy of ``ctx`` whose saved inputs and output are the tensors
    themselves (found by identity of their arrays; saved constants stay arrays), so the
    instance itself stays intact for another backward. Every input keeps its place in the
    recorded graph, even one that leads to no target: the gradient with respect to ``x``
    depends on the weights, and a later backward differentiates it with respect to them."""
    cls = type(ctx)
    rule = cls.backward_graph
    if rule is None:
        if not cls.replayable:
            raise RuntimeError(
                f"create_graph=True: {ctx.name} has no double-backward rule (it neither is "
                "replayable nor defines backward_graph), so its gradient cannot be "
                "differentiated again; see CONTRIBUTING.md, 'Add an op'")
        rule = cls.backward
    saved = vars(ctx)
    parents = ctx.parents
    assert parents is not None
    tensors = {id(output._data): output}
    if "generic_output" in saved:  # a 0-d result as the rule saw it (see Function.apply)
        tensors[id(saved["generic_output"])] = output
    tensors.update((id(p._data), p) for p in parents)  # an input wins over an equal output
    clone = object.__new__(cls)
    clone.__dict__.update({k: tensors.get(id(v), v) for k, v in saved.items()})
    return rule(clone, grad)


_creation_order = operator.attrgetter("order")


def _graph_nodes(starts: tuple[Function, ...] | list[Function]) -> list[Function]:
    """The ops reachable from ``starts``, latest first (a topological order, see the module)."""
    nodes = []
    seen = set(starts)
    stack = list(starts)
    while stack:
        ctx = stack.pop()
        parents = ctx.parents
        if parents is None:
            raise RuntimeError(
                "backward() through a graph that was already freed by an earlier backward(); "
                "call the first backward(retain_graph=True) to run through it again"
            )
        nodes.append(ctx)
        for parent in parents:
            parent_ctx = parent._ctx
            if parent_ctx is not None and parent_ctx not in seen:
                seen.add(parent_ctx)
                stack.append(parent_ctx)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


def _check_versions(root: Tensor, start: Function, nodes: list[Function]) -> None:
    """Raise, naming the op, if a tensor an op may have saved changed in place since it ran:
    an input of the op, or the output of the op that made it (``start`` made ``root``)."""
    if _version(root) > start.order:
        raise _changed_in_place(start, "its output", root.shape)
    for ctx in nodes:
        for i, parent in enumerate(ctx.parents or ()):
            made_by = parent._ctx
            if made_by is None and _version(parent) > ctx.order:
                raise _changed_in_place(ctx, f"its input {i}", parent.shape)
            if made_by is not None and _version(parent) > made_by.order:
                # stale for the op that made it (if it saved its output) and for this one
                raise _changed_in_place(made_by, "its output", parent.shape)


def _version(tensor: Tensor) -> int:
    # Unset until the tensor is first changed in place: ops do not spend a store on it.
    version: int = getattr(tensor, "_version", 0)
    return version


def _hooked_leaves(nodes: list[Function]) -> dict[Tensor, int]:
    """For each leaf with post-accumulate hooks, the number of edges of the graph that lead to it
    (its hooks run when the last of them is done)."""
    hooked: dict[Tensor, int] = {}
    for ctx in nodes:
        for parent in ctx.parents or ():
            if parent._ctx is None and parent.requires_grad and getattr(
                    parent, "_accumulate_hooks", None):
                hooked[parent] = hooked.get(parent, 0) + 1
    return hooked


def _edges_done(ctx: Function, hooked: dict[Tensor, int]) -> None:
    """Count ``ctx``'s edges to hooked leaves as done; a leaf whose last edge this was has its
    final ``.grad`` for this backward, so its post-accumulate hooks run now."""
    for parent in ctx.parents or ():
        remaining = hooked.get(parent)
        if remaining is None:
            continue
        if remaining > 1:
            hooked[parent] = remaining - 1
        else:
            del hooked[parent]
            if parent.grad is not None:
                _call_accumulate_hooks(parent)


def _call_accumulate_hooks(leaf: Tensor) -> None:
    for hook in list(getattr(leaf, "_accumulate_hooks", {}).values()):
        hook(leaf)


def register_post_accumulate_grad_hook(tensor: Tensor, hook: Callable[[Tensor], None]
                                       ) -> RemovableHandle:
    """Call ``hook(tensor)`` in each backward once the leaf's ``.grad`` is final (see
    ``Tensor.register_post_accumulate_grad_hook``, which calls this)."""
    global _any_accumulate_hooks
    if tensor._ctx is not None or not tensor.requires_grad:
        raise RuntimeError(
            "register_post_accumulate_grad_hook() is for leaf tensors that require grad "
            "(parameters); for a tensor made by an op use register_hook"
        )
    hooks = getattr(tensor, "_accumulate_hooks", None)
    if hooks is None:
        hooks = tensor._accumulate_hooks = {}
    _any_accumulate_hooks = True  # from now on backward looks for hooked leaves
    return RemovableHandle(hooks, hook)
