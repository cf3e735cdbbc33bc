"""The Tensor, the Function contract every op follows, ``no_grad`` and the backward engine.

A ``Tensor`` wraps a NumPy array (``.data``). When an op is applied to tensors that require
gradients, the op's ``Function`` instance is recorded as the output's ``_ctx`` together with its
inputs (``parents``). ``backward()`` sorts that graph topologically (iteratively, so long chains
do not hit Python's recursion limit) and applies each op's backward rule in reverse, which is the
chain rule: ``dL/dx = dL/dy · dy/dx``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import numbers
import operator
import weakref

import numpy as np
from numpy.typing import DTypeLike

from . import backend

__all__ = ["Tensor", "Function", "tensor", "from_dlpack", "no_grad", "enable_grad",
           "is_grad_enabled"]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph for ``backward``."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._previous: list[bool] = []

    def __enter__(self):
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous.pop()
        return False


def no_grad() -> _GradMode:
    """Record no graph inside the block (inference, optimizer updates).

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
    """Record the graph inside the block even within ``no_grad``."""
    return _GradMode(True)


_op_counter = itertools.count()  # creation order of ops: a topological order of any graph


class Function:
    """One differentiable primitive: ``forward`` and ``backward`` side by side.

    Subclasses implement ``forward(*arrays, **params) -> array`` and ``backward(grad)``, which
    returns one gradient per tensor input (a tuple, or a bare array for one input), each of its
    input's exact shape, or ``None`` where an input needs none. ``backward`` may read
    ``self.parents[i].requires_grad`` to skip work, saves on ``self`` what it needs, and must
    never modify ``grad`` in place (the same array may flow to several inputs).
    """

    parents: tuple | None = None  # the input tensors while the graph is alive; None once freed
    hooks: list | None = None  # functions called with the output's gradient (register_hook)

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the node when a gradient is needed."""
        # The hot path of every op. The common arities are unrolled (a list comprehension costs
        # more than a small op's forward) and the creation order is drawn only for the ops that
        # are recorded, the only ones sorted by it.
        ctx = cls()
        arity = len(inputs)
        if arity == 1:
            data = ctx.forward(inputs[0].data, **params)
        elif arity == 2:
            data = ctx.forward(inputs[0].data, inputs[1].data, **params)
        elif arity == 3:
            data = ctx.forward(inputs[0].data, inputs[1].data, inputs[2].data, **params)
        else:
            data = ctx.forward(*[t.data for t in inputs], **params)
        if type(data) is not np.ndarray and isinstance(data, np.generic):
            data = np.asarray(data)  # ufuncs on 0-d arrays return NumPy scalars
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out.requires_grad = False
        out._ctx = None
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    ctx.order = next(_op_counter)
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


def _default_dtype(array: np.ndarray) -> np.ndarray:
    """float64 that came from Python floats becomes float32, the library's default."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    return array


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like. A NumPy array keeps its dtype and is not copied; Python numbers and
            lists of floats become float32, of ints int64, of bools bool.
        requires_grad: record operations on this tensor so ``backward`` fills ``.grad``.
        dtype: convert to this dtype.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators (array * tensor)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            array = np.asarray(data, dtype=dtype)
        elif isinstance(data, np.ndarray):
            array = data
        elif isinstance(data, np.generic):
            array = np.asarray(data)  # a NumPy scalar keeps its dtype, like an array
        else:
            array = _default_dtype(np.asarray(data))
        self.data = array
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements (NumPy's ``size``)."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        """The op that produced this tensor (None for leaves)."""
        return self._ctx

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only floating-point tensors can require gradients."""
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}; "
                "convert first, e.g. cr.tensor(x, dtype='float32', requires_grad=True)"
            )
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook) -> None:
        """Call ``hook(grad)`` with ``dL/dself`` when backward reaches this tensor.

        The hook may return a replacement gradient. Tensors made by ops only: a leaf's gradient
        is its ``.grad``.
        """
        if self._ctx is None:
            raise RuntimeError("register_hook() is for tensors made by ops; read a leaf's .grad")
        ctx = self._ctx
        if ctx.hooks is None:
            ctx.hooks = []
        ctx.hooks.append(hook)

    def retain_grad(self) -> None:
        """Keep ``dL/dself`` in ``.grad`` after backward, for a tensor made by an op."""
        if self._ctx is None:
            return
        target = weakref.ref(self)

        def keep(grad):
            tensor = target()
            if tensor is not None:  # a copy: the same array may become a leaf's .grad
                tensor.grad = np.array(grad) if tensor.grad is None else tensor.grad + grad

        self.register_hook(keep)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__  # comparisons return tensors, so hash by identity

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(tensor)``: a read-only view of the data, without a copy.

        Read-only so that NumPy code cannot change, unseen, values a graph saved for
        ``backward``; ``np.array(tensor)`` (or ``copy=True``) gives a writable copy, and
        ``.data`` is the array itself. Another ``dtype`` needs a copy, which ``copy=False``
        refuses (NumPy 2's contract).

        Example:
            >>> import numpy as np
            >>> import chainrule as cr
            >>> x = cr.tensor([1.0, 2.0])
            >>> view = np.asarray(x)
            >>> np.shares_memory(view, x.data), view.flags.writeable
            (True, False)
            >>> np.array(x).flags.writeable
            True
        """
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            if copy is False:
                raise ValueError(f"cannot view a {self.data.dtype} tensor as {np.dtype(dtype)} "
                                 "without a copy, and copy=False forbids one")
            return self.data.astype(dtype)
        view = self.data.view()
        view.flags.writeable = False
        return view

    def __dlpack__(self, **kwargs: object) -> object:
        """Share the data with another array library by DLPack, without a copy:
        ``torch.from_dlpack(t)``, ``jax.numpy.from_dlpack(t)``, ``np.from_dlpack(t)``.

        The other library's array is the same memory as ``.data``: writes on either side are
        seen by the other (through it, as through ``.data``, no graph is recorded). The
        keywords of the array API (``stream``, ``max_version``, ``dl_device``, ``copy``) are
        passed on to the array's own ``__dlpack__``.
        """
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        """The DLPack (device type, device id) of the data: ``(1, 0)`` for the CPU."""
        return self.data.__dlpack_device__()

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype) -> Tensor:
        """A copy in another dtype (differentiable between float dtypes)."""
        from .ops.elementwise import Cast

        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    # ------------------------------------------------------------------ backward
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate ``d self / d leaf`` into the ``.grad`` of every leaf that requires it.

        Args:
            grad: the upstream gradient ``dL/dself``; may be omitted only for one-element
                tensors (then 1).
            retain_graph: keep the graph so ``backward`` can run through it again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation "
                "had requires_grad=True (or it ran under no_grad)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape {self.shape}; "
                    "reduce it first (e.g. .sum()) or pass grad=<array of that shape>"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...) got shape {grad.shape}, expected {self.shape}"
                )
        _run_backward(self, grad, retain_graph)

    # ------------------------------------------------------------------ operators
    def __add__(self, other):
        return _binary(_ops().Add, self, other)

    def __radd__(self, other):
        return _binary(_ops().Add, other, self)

    def __sub__(self, other):
        return _binary(_ops().Sub, self, other)

    def __rsub__(self, other):
        return _binary(_ops().Sub, other, self)

    def __mul__(self, other):
        return _binary(_ops().Mul, self, other)

    def __rmul__(self, other):
        return _binary(_ops().Mul, other, self)

    def __truediv__(self, other):
        return _binary(_ops().Div, self, other)

    def __rtruediv__(self, other):
        return _binary(_ops().Div, other, self)

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool):
            return _ops().PowScalar.apply(self, exponent=exponent)
        return _binary(_ops().Pow, self, exponent)

    def __rpow__(self, base):
        return _binary(_ops().Pow, base, self)

    def __matmul__(self, other):
        from .ops.linalg import MatMul

        return MatMul.apply(self, _as_tensor(other, self))

    def __rmatmul__(self, other):
        from .ops.linalg import MatMul

        return MatMul.apply(_as_tensor(other, self), self)

    def __neg__(self):
        return _ops().Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __getitem__(self, index):
        from .ops.shape import Index

        return Index.apply(self, index=_unwrap_index(index))

    # ------------------------------------------------------------------ math methods
    def exp(self):
        return _ops().Exp.apply(self)

    def log(self):
        return _ops().Log.apply(self)

    def sqrt(self):
        return _ops().Sqrt.apply(self)

    def abs(self):
        return _ops().Abs.apply(self)

    def clip(self, lo=None, hi=None):
        """Limit values to ``[lo, hi]``; the gradient passes where ``lo <= x <= hi``."""
        if lo is None and hi is None:
            raise ValueError("clip() needs lo, hi or both")
        return _ops().Clip.apply(self, lo=lo, hi=hi)

    def tanh(self):
        return _act().Tanh.apply(self)

    def sigmoid(self):
        return _act().Sigmoid.apply(self)

    def relu(self):
        return _act().ReLU.apply(self)

    def softmax(self, axis: int = -1):
        return _act().Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1):
        return _act().LogSoftmax.apply(self, axis=axis)

    def sum(self, axis=None, keepdims: bool = False):
        from .ops.reduce import Sum

        return Sum.apply(self, axis=_norm_axis(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        from .ops.reduce import Mean

        return Mean.apply(self, axis=_norm_axis(axis, self.ndim), keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False):
        """Largest value; ties share the gradient equally."""
        from .ops.reduce import Max

        return Max.apply(self, axis=_norm_axis(axis, self.ndim), keepdims=keepdims)

    def min(self, axis=None, keepdims: bool = False):
        """Smallest value; ties share the gradient equally."""
        from .ops.reduce import Min

        return Min.apply(self, axis=_norm_axis(axis, self.ndim), keepdims=keepdims)

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        """Variance ``mean((x - mean(x))²)``, built from primitives."""
        from .ops.reduce import _count

        centred = self - self.mean(axis=axis, keepdims=True)
        count = _count(self.shape, _norm_axis(axis, self.ndim))
        return (centred * centred).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    def argmax(self, axis=None) -> Tensor:
        return Tensor(self.data.argmax(axis=axis))

    def argmin(self, axis=None) -> Tensor:
        return Tensor(self.data.argmin(axis=axis))

    # ------------------------------------------------------------------ shape methods
    def reshape(self, *shape):
        from .ops.shape import Reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        from .ops.shape import Transpose

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.ndim - 1, -1, -1))
        if sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
            raise ValueError(
                f"transpose axes {axes} are not a permutation of a {self.ndim}-d shape"
            )
        return Transpose.apply(self, axes=tuple(a % self.ndim for a in axes))

    @property
    def T(self) -> Tensor:
        """Axes reversed, as NumPy's ``.T``."""
        return self.transpose()

    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from ``start_axis`` on into one."""
        start_axis %= max(self.ndim, 1)
        return self.reshape(*self.shape[:start_axis], -1)

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at ``axis``."""
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        return self.reshape(*shape)

    def squeeze(self, axis=None) -> Tensor:
        """Remove axes of length 1 (all, or the given one)."""
        return self.reshape(*self.data.squeeze(axis=axis).shape)


# ---------------------------------------------------------------------------- helpers
def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a tensor (see ``Tensor``); NumPy arrays keep their dtype and memory."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_dlpack(array: object) -> Tensor:
    """A tensor sharing memory with another library's array, by DLPack (no copy).

    ``array`` is anything with ``__dlpack__``: a PyTorch tensor (``.detach()`` it first if it
    requires grad), a JAX, CuPy or NumPy array. Writes on either side are seen by the other
    where the exporter allows them (a read-only exporter gives a read-only tensor). The array
    module that receives it is the backend for the array's device (NumPy for the CPU).

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> source = np.arange(3.0)
        >>> x = cr.from_dlpack(source)
        >>> source[0] = 7.0
        >>> x
        tensor([7., 1., 2.], dtype=float64)
    """
    return Tensor(backend.from_dlpack(array))


@functools.cache
def _ops():
    from .ops import elementwise

    return elementwise


@functools.cache
def _act():
    from .ops import activation

    return activation


def _as_tensor(value, like: Tensor) -> Tensor:
    """Wrap a constant so it computes in ``like``'s dtype (Python scalars never upcast)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value)
    if isinstance(value, np.generic):
        value = value.item()  # a NumPy scalar counts as a Python scalar: it never upcasts
    if isinstance(value, numbers.Number):
        # NumPy's rules for a Python scalar beside an array: float32 stays float32.
        return Tensor(np.asarray(value, dtype=np.result_type(like.data, value)))
    return Tensor(np.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else None))


def _binary(op, a, b) -> Tensor:
    if not isinstance(a, Tensor):
        a = _as_tensor(a, b)
    elif not isinstance(b, Tensor):
        b = _as_tensor(b, a)
    return op.apply(a, b)


def _norm_axis(axis, ndim: int):
    """An int or tuple axis as a sorted tuple of non-negative axes (None stays None)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a {ndim}-d tensor")
    if ndim == 0:
        return None  # axis 0 (or -1) of a 0-d tensor is the whole tensor, as in PyTorch
    return tuple(sorted(a % ndim for a in axes))


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _graph_nodes(root: Function) -> list[Function]:
    """The ops reachable from ``root``, latest first: an op's inputs were all made before it,
    so descending creation order is a topological order (no recursion, no post-order)."""
    nodes = []
    seen = {root}
    stack = [root]
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


_creation_order = operator.attrgetter("order")


def _run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """Apply each op's backward rule from ``root`` down, summing the gradients an op's output
    receives from all its consumers before that op runs. Gradients of non-leaf tensors are
    kept per op (one output each); leaves accumulate into ``.grad`` as soon as they arrive."""
    given_to_leaves: set[int] = set()
    if root._ctx is None:
        _accumulate_leaf(root, grad, given_to_leaves)
        return
    grads = {root._ctx: grad}
    for ctx in _graph_nodes(root._ctx):
        g = grads.pop(ctx, None)
        if g is None:  # every consumer returned None for this output
            continue
        if ctx.hooks is not None:
            for hook in ctx.hooks:
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
        input_grads = ctx.backward(g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for parent, pg in zip(ctx.parents, input_grads):
            if pg is None or not parent.requires_grad:
                continue
            data = parent.data
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
        if not retain_graph:
            vars(ctx).clear()  # frees saved arrays; ctx.parents falls back to None ("freed")


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, given_to_leaves: set[int]) -> None:
    """``leaf.grad += g``, making sure every leaf owns its gradient array."""
    if leaf.grad is None:
        # A rule may pass one array to several inputs, or a view of another; optimizers and
        # clip_grad_norm_ update .grad in place, so each leaf gets memory of its own.
        if g.base is not None or id(g) in given_to_leaves or not g.flags.writeable:
            g = np.array(g)
        given_to_leaves.add(id(g))
        leaf.grad = g
    else:
        # Out of place: ``g`` may still be pending for another op. asarray keeps 0-d results
        # arrays (NumPy returns scalars for 0-d + 0-d).
        leaf.grad = np.asarray(leaf.grad + g)
