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

**Version counters.** Every tensor has a version: 0 when made, and a fresh value of the clock
whenever it is changed in place (assigning ``.data``, as ``w.data += 1`` does after updating the
array; an in-place operator under ``no_grad``; an optimizer step, through
``increment_version``). Because versions and op orders come from the same clock, "changed after
op f ran" is one compare, ``version > f.order``: no bookkeeping per op, no array compares.
Before any rule runs, ``backward`` checks every input of every op it will visit (and every
intermediate tensor against the op that made it) and names the op whose saved values are stale.
The check is conservative: it assumes every op saved all its inputs and its output (PyTorch
tracks each saved tensor), so changing an input that an op's rule never reads (the addend of an
``Add``) also raises. What is not tracked: writes through an array obtained earlier
(``a = w.data; a += 1``, ``w.data[0] = 1``, ``np.add(w.data, 1, out=w.data)``) and through
another tensor sharing the memory (``w.detach()``, a ``reshape`` view): versions belong to
tensors, not to memory. Code that writes such arrays in place calls ``increment_version``.

**Grad mode** is per thread, as in PyTorch: ``no_grad`` in one thread leaves recording on in the
others. While no thread has it off, ``apply`` reads one module global, as cheap as a
process-wide flag; only then does it read the thread's own state.

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
from typing import TYPE_CHECKING

import numpy as np

from .backend import array_module

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = [
    "Function", "RemovableHandle", "backward", "no_grad", "enable_grad", "is_grad_enabled",
    "creation_mark", "increment_version", "recorded_ops", "register_tensor_class",
]


# ---------------------------------------------------------------------------- grad mode
class _ThreadState(threading.local):
    """Grad mode of one thread; each thread starts with it on."""

    enabled = True

    def __init__(self):
        self.previous: list[bool] = []  # what each open no_grad/enable_grad block replaced


_state = _ThreadState()
_threads_off = 0  # threads whose grad mode is off now; while 0, apply skips the thread-local read
_threads_off_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """Whether ops record a graph for ``backward`` in the calling thread."""
    return _state.enabled


def _set_grad_enabled(enabled: bool) -> None:
    global _threads_off
    if enabled == _state.enabled:
        return
    with _threads_off_lock:  # `+=` on a global is not atomic between threads
        _threads_off += -1 if enabled else 1
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

    def __exit__(self, *exc) -> bool:
        _set_grad_enabled(_state.previous.pop())
        return False


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
_Tensor: type  # the class of op outputs (see register_tensor_class)


def register_tensor_class(cls: type) -> None:
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


def increment_version(tensor: Tensor) -> None:
    """Record that ``tensor``'s array was changed in place, so a ``backward`` through an op that
    saved it raises instead of using the new values.

    Assigning ``.data`` and the in-place operators do this themselves; code that writes the
    array directly (optimizers, ``np.add(w.data, d, out=w.data)``) calls it after the write.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = (w * w).sum()
        >>> np.add(w.data, 10, out=w.data)  # doctest: +ELLIPSIS
        array(...)
        >>> cr.autograd.increment_version(w)
        >>> y.backward()
        Traceback (most recent call last):
        RuntimeError: backward through Mul: its input 0 (shape (2,)) was changed in place ...
    """
    tensor._version = next(_clock)


def _changed_in_place(op: Function, what: str, shape: tuple) -> RuntimeError:
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

    A recorded instance is a tensor's ``grad_fn``: ``name`` is the op's name (``"Tanh"``, used
    in error messages and by ``explain``), ``parents`` its input tensors (``None`` once the graph
    is freed), ``order`` its place in creation order. It prints as ``<TanhBackward>``, as
    PyTorch's do, so an op never reads like the layer of the same name.

    Example:
        >>> import chainrule as cr
        >>> class Square(cr.autograd.Function):
        ...     '''y = x²; dy/dx = 2x'''
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

    parents: tuple | None = None  # the input tensors while the graph is alive; None once freed
    hooks: dict | None = None  # functions called with the output's gradient (register_hook)

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
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
            data = np.asarray(data)  # NumPy ufuncs on 0-d arrays return scalars (CuPy's do not)
        out = _Tensor.__new__(_Tensor)
        out._data = data
        out.grad = None
        out.requires_grad = False
        out._ctx = None
        out._version = 0
        out._accumulate_hooks = None
        if not _threads_off or _state.enabled:
            for t in inputs:
                if t.requires_grad:
                    ctx.order = next(_clock)
                    ctx.parents = inputs
                    out.requires_grad = True
                    out._ctx = ctx
                    break
        return out

    def forward(self, *arrays, **params):  # pragma: no cover - the contract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - the contract
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

    def __init__(self, hooks: dict, hook: Callable):
        self._hooks, self._key = hooks, next(self._keys)
        hooks[self._key] = hook

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


# ---------------------------------------------------------------------------- reading the graph
def recorded_ops(output: Tensor, since: int) -> list[tuple[Tensor, Function]]:
    """The ops recorded after ``since`` (a ``creation_mark()``) that ``output`` depends on, each
    with the tensor it made, in creation order. The walk stops at ops recorded before ``since``
    and at leaves. See ``creation_mark`` for an example."""
    found = []
    seen: set[int] = set()
    stack = [output]
    while stack:
        t = stack.pop()
        op = t._ctx
        if op is None or id(t) in seen or op.order < since:
            continue
        seen.add(id(t))
        found.append((t, op))
        stack.extend(op.parents)
    found.sort(key=lambda pair: pair[1].order)
    return found


# ---------------------------------------------------------------------------- backward
def backward(tensor: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Accumulate ``d tensor / d leaf`` into the ``.grad`` of every leaf that requires it
    (``Tensor.backward`` calls this; see there)."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad)"
        )
    data = tensor._data
    xp = array_module(data)
    if grad is None:
        if data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar output, got shape {data.shape}; "
                "reduce it first (e.g. .sum()) or pass grad=<array of that shape>"
            )
        grad = xp.ones_like(data)
    else:
        grad = xp.array(grad._data if isinstance(grad, _Tensor) else grad, dtype=data.dtype)
        if grad.shape != data.shape:
            raise ValueError(f"backward(grad=...) got shape {grad.shape}, expected {data.shape}")
    _run_backward(tensor, grad, retain_graph)


_creation_order = operator.attrgetter("order")


def _graph_nodes(root: Tensor) -> tuple[list[Function], dict[Tensor, int]]:
    """The ops reachable from ``root``, latest first (a topological order, see the module), and
    for each leaf with post-accumulate hooks the number of edges that lead to it. Raises when an
    op's saved values were changed in place since it ran."""
    start = root._ctx
    if start.parents is not None and root._version > start.order:  # (freed: raised below)
        raise _changed_in_place(start, "its output", root.shape)
    nodes = []
    hooked: dict[Tensor, int] = {}
    seen = {start}
    stack = [start]
    while stack:
        ctx = stack.pop()
        parents = ctx.parents
        if parents is None:
            raise RuntimeError(
                "backward() through a graph that was already freed by an earlier backward(); "
                "call the first backward(retain_graph=True) to run through it again"
            )
        nodes.append(ctx)
        order = ctx.order
        for i, parent in enumerate(parents):
            parent_ctx = parent._ctx
            if parent_ctx is None:
                if parent._version > order:
                    raise _changed_in_place(ctx, f"its input {i}", parent.shape)
                if parent._accumulate_hooks and parent.requires_grad:
                    hooked[parent] = hooked.get(parent, 0) + 1
            else:
                # An intermediate tensor changed since the op that made it ran: stale for that
                # op (if it saved its output) and for this one.
                if parent._version > parent_ctx.order:
                    raise _changed_in_place(parent_ctx, "its output", parent.shape)
                if parent_ctx not in seen:
                    seen.add(parent_ctx)
                    stack.append(parent_ctx)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes, hooked


def _run_backward(root: Tensor, grad, retain_graph: bool) -> None:
    """Apply each op's backward rule from ``root`` down, summing the gradients an op's output
    receives from all its consumers before that op runs. Gradients of non-leaf tensors are
    kept per op (one output each); leaves accumulate into ``.grad`` as soon as they arrive."""
    given_to_leaves: set[int] = set()
    if root._ctx is None:
        _accumulate_leaf(root, grad, given_to_leaves)
        if root._accumulate_hooks:
            _call_accumulate_hooks(root)
        return
    nodes, hooked = _graph_nodes(root)
    grads = {root._ctx: grad}
    for ctx in nodes:
        g = grads.pop(ctx, None)
        if g is None:  # every consumer returned None for this output
            if hooked:
                _edges_done(ctx, hooked)
            continue
        if ctx.hooks is not None:
            for hook in list(ctx.hooks.values()):
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
        input_grads = ctx.backward(g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for parent, pg in zip(ctx.parents, input_grads):
            if pg is None or not parent.requires_grad:
                continue
            data = parent._data
            if pg.shape != data.shape:
                raise RuntimeError(
                    f"{ctx.name}.backward returned a gradient of shape {pg.shape} for an input of "
                    f"shape {data.shape}"
                )
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:  # `is`: the common case
                pg = pg.astype(data.dtype)
            parent_ctx = parent._ctx
            if parent_ctx is None:
                _accumulate_leaf(parent, pg, given_to_leaves)
            else:
                previous = grads.get(parent_ctx)
                grads[parent_ctx] = pg if previous is None else previous + pg
        if hooked:
            _edges_done(ctx, hooked)
        if not retain_graph:
            vars(ctx).clear()  # frees saved arrays; ctx.parents falls back to None ("freed")


def _edges_done(ctx: Function, hooked: dict[Tensor, int]) -> None:
    """Count ``ctx``'s edges to hooked leaves as done; a leaf whose last edge this was has its
    final ``.grad`` for this backward, so its post-accumulate hooks run now."""
    for parent in ctx.parents:
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
    for hook in list(leaf._accumulate_hooks.values()):
        hook(leaf)


def _accumulate_leaf(leaf: Tensor, g, given_to_leaves: set[int]) -> None:
    """``leaf.grad += g``, making sure every leaf owns its gradient array."""
    if leaf.grad is None:
        # A rule may pass one array to several inputs, or a view of another; optimizers and
        # clip_grad_norm_ update .grad in place, so each leaf gets memory of its own.
        if g.base is not None or id(g) in given_to_leaves or not g.flags.writeable:
            g = g.copy()
        given_to_leaves.add(id(g))
        leaf.grad = g
    else:
        # Out of place: ``g`` may still be pending for another op. asarray keeps 0-d results
        # arrays (NumPy returns scalars for 0-d + 0-d).
        leaf.grad = array_module(g).asarray(leaf.grad + g)
