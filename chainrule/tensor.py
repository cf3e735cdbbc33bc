"""The ``Tensor``, its methods, and the functions that make and join tensors.

A ``Tensor`` wraps an array (``.data``) and, when made by an op that needs a gradient, the op
that made it (``grad_fn``). Its methods are thin: each calls one op (imported once, here at the
top) or composes a few; the ops hold the math and ``chainrule.autograd`` the backward engine.
"""

from __future__ import annotations

import math
import numbers
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import autograd, backend
from .autograd import Function, RemovableHandle, increment_version, is_grad_enabled
from .ops.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    PowScalar,
    Sqrt,
    Sub,
)
from .ops.linalg import MatMul
from .ops.reduce import Max, Mean, Min, Sum
from .ops.shape import Concatenate, Index, Reshape, Stack, Transpose, Where

__all__ = ["Tensor", "tensor", "from_dlpack", "concatenate", "stack", "where", "maximum",
           "minimum"]

Axis = int | Sequence[int] | None  # an axis or axes of a reduction (None: all)


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

    In-place operators (``+=``, ``-=``, ``*=``, ``/=``, ``**=``) change the array itself when no
    graph is recorded (under ``no_grad``, or when nothing involved requires grad), which counts
    as a change for the version check of ``backward``. With grad mode on they raise on a leaf
    that requires grad, and on a tensor in a graph they make a new tensor, as ``x = x + y``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_version", "_accumulate_hooks",
                 "__weakref__")
    _data: npt.NDArray[Any]  # the array (see data; a CuPy array on a GPU)
    grad: Any  # dL/dself after backward, an array like data, or None
    requires_grad: bool
    _ctx: Function | None  # the op that made this tensor, if recorded (see grad_fn)
    # The engine's, unset until it needs them (see chainrule.autograd): the clock value of the
    # last in-place change, and the post-accumulate hooks by handle.
    _version: int
    _accumulate_hooks: dict[int, Callable[[Tensor], None]]
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators (array * tensor)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None):
        if isinstance(data, Tensor):
            data = data._data
        if dtype is not None:
            array = np.asarray(data, dtype=dtype)
        elif isinstance(data, np.ndarray):
            array = data
        elif isinstance(data, np.generic):
            array = np.asarray(data)  # a NumPy scalar keeps its dtype, like an array
        else:
            array = _default_dtype(np.asarray(data))
        self._data = array
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ attributes
    def _set_data(self, array: Any) -> None:
        self._data = array
        increment_version(self)

    # The getter is attrgetter (C), not a Python function: user code, layers and optimizers read
    # .data in every step, and a Python-level getter would cost a frame per read.
    data = property(operator.attrgetter("_data"), _set_data, doc="""The array.

        Assigning it (``w.data = a``, or ``w.data += 1``, which assigns the updated array back)
        counts as an in-place change: a ``backward`` through an op that saved this tensor earlier
        raises (see ``chainrule.autograd``).""")

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._data.dtype

    @property
    def size(self) -> int:
        """Number of elements (NumPy's ``size``)."""
        return self._data.size

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
        if requires_grad and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self._data.dtype};"
                " convert first, e.g. cr.tensor(x, dtype='float32', requires_grad=True)"
            )
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ hooks
    def register_hook(self, hook: Callable[[Any], Any]) -> RemovableHandle:
        """Call ``hook(grad)`` with ``dL/dself`` when backward reaches this tensor.

        The hook may return a replacement gradient. Tensors made by ops only: a leaf's gradient
        is its ``.grad`` (see ``register_post_accumulate_grad_hook``).

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> import chainrule as cr
            >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
            >>> h = x * 3
            >>> handle = h.register_hook(lambda g: print("dL/dh =", g))
            >>> h.sum().backward()
            dL/dh = [1. 1.]
        """
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError("register_hook() is for tensors made by ops; read a leaf's .grad "
                               "or use register_post_accumulate_grad_hook")
        if ctx.hooks is None:
            ctx.hooks = {}
        return RemovableHandle(ctx.hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]
                                           ) -> RemovableHandle:
        """Call ``hook(self)`` during backward, once this leaf's ``.grad`` holds every
        contribution of that backward pass (PyTorch's name).

        Runs as soon as the last op that reads the leaf has sent its gradient, while backward
        goes on through the rest of the graph: data-parallel training starts reducing a
        bucket of gradients as soon as all of them are final.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> import chainrule as cr
            >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
            >>> handle = w.register_post_accumulate_grad_hook(lambda p: print("final", p.grad))
            >>> (w * w + w).sum().backward()
            final [3. 5.]
        """
        return autograd.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``dL/dself`` in ``.grad`` after backward, for a tensor made by an op."""
        if self._ctx is None:
            return
        target = weakref.ref(self)

        def keep(grad: Any) -> None:
            tensor = target()
            if tensor is not None:  # a copy: the same array may become a leaf's .grad
                tensor.grad = np.array(grad) if tensor.grad is None else tensor.grad + grad

        self.register_hook(keep)

    # ------------------------------------------------------------------ Python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__  # comparisons return tensors, so hash by identity

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
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
            return np.array(self._data, dtype=dtype, copy=True)
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            if copy is False:
                raise ValueError(f"cannot view a {self._data.dtype} tensor as {np.dtype(dtype)} "
                                 "without a copy, and copy=False forbids one")
            return self._data.astype(dtype)
        view: np.ndarray = self._data.view()
        view.flags.writeable = False
        return view

    def __dlpack__(self, **kwargs: Any) -> object:
        """Share the data with another array library by DLPack, without a copy:
        ``torch.from_dlpack(t)``, ``jax.numpy.from_dlpack(t)``, ``np.from_dlpack(t)``.

        The other library's array is the same memory as ``.data``: writes on either side are
        seen by the other (through it, as through ``.data``, no graph is recorded). The
        keywords of the array API (``stream``, ``max_version``, ``dl_device``, ``copy``) are
        passed on to the array's own ``__dlpack__``.
        """
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        """The DLPack (device type, device id) of the data: ``(1, 0)`` for the CPU."""
        return self._data.__dlpack_device__()

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph."""
        return Tensor(self._data)

    def astype(self, dtype: npt.DTypeLike) -> Tensor:
        """A copy in another dtype (differentiable between float dtypes)."""
        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    # ------------------------------------------------------------------ backward
    backward = autograd.backward  # the engine's entry point is the method itself: no extra call

    # ------------------------------------------------------------------ operators
    def __add__(self, other: Any) -> Tensor:
        return _binary(Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _binary(Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _binary(Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _binary(Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(Div, other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool):
            return PowScalar.apply(self, exponent=exponent)
        return _binary(Pow, self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return _binary(Pow, base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, _as_tensor(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(_as_tensor(other, self), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    # ------------------------------------------------------------------ in-place operators
    def _in_place(self, other: Any, out_of_place: Callable[[Tensor, Any], Tensor],
                  update: Callable[[Any, Any], Any]) -> Tensor:
        """``self ∘= other``: in place (a version bump) when no graph is recorded.

        With grad mode on and a gradient involved, the array cannot change under the graph: a
        leaf that requires grad raises (Python would otherwise quietly rebind the name to a
        new, non-leaf tensor, and the parameter would stop training); any other tensor gets
        ``self ∘ other``, a new tensor the name is rebound to.
        """
        if (self.requires_grad or isinstance(other, Tensor) and other.requires_grad) \
                and is_grad_enabled():
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(
                    f"in-place operator on a leaf tensor that requires grad (shape "
                    f"{self.shape}) while grad mode is on; update it under `with "
                    "cr.no_grad():`, or write `x = x + y` for a new tensor"
                )
            return out_of_place(self, other)
        update(self._data, other._data if isinstance(other, Tensor) else other)
        increment_version(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__add__, operator.iadd)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__sub__, operator.isub)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__mul__, operator.imul)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__truediv__, operator.itruediv)

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__pow__, operator.ipow)

    # ------------------------------------------------------------------ comparisons
    def _compare(self, other: Any, op: np.ufunc) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return Tensor(op(self._data, other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __getitem__(self, index: Any) -> Tensor:
        return Index.apply(self, index=_unwrap_index(index))

    # ------------------------------------------------------------------ math methods
    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)

    def clip(self, lo: Any = None, hi: Any = None) -> Tensor:
        """Limit values to ``[lo, hi]``; the gradient passes where ``lo <= x <= hi``."""
        if lo is None and hi is None:
            raise ValueError("clip() needs lo, hi or both")
        return Clip.apply(self, lo=lo, hi=hi)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ReLU.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return LogSoftmax.apply(self, axis=axis)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=_norm_axis(axis, self._data.ndim), keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Mean.apply(self, axis=_norm_axis(axis, self._data.ndim), keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Largest value; ties share the gradient equally."""
        return Max.apply(self, axis=_norm_axis(axis, self._data.ndim), keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Smallest value; ties share the gradient equally."""
        return Min.apply(self, axis=_norm_axis(axis, self._data.ndim), keepdims=keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance ``mean((x - mean(x))²)``, built from primitives."""
        centred = self - self.mean(axis=axis, keepdims=True)
        axes = _norm_axis(axis, self.ndim)
        count = math.prod(self.shape if axes is None else (self.shape[a] for a in axes))
        # NumPy's and torch's convention: ddof >= n divides by 0 (inf, nan for an empty axis)
        return (centred * centred).sum(axis=axis, keepdims=keepdims) / max(count - ddof, 0)

    def argmax(self, axis: int | None = None) -> Tensor:
        return Tensor(self._data.argmax(axis=axis))

    def argmin(self, axis: int | None = None) -> Tensor:
        return Tensor(self._data.argmin(axis=axis))

    # ------------------------------------------------------------------ shape methods
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def transpose(self, *axes: Any) -> Tensor:
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

    def squeeze(self, axis: int | None = None) -> Tensor:
        """Remove axes of length 1 (all, or the given one)."""
        return self.reshape(*self._data.squeeze(axis=axis).shape)


autograd.register_tensor_class(Tensor)


# ---------------------------------------------------------------------------- functions
def tensor(data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None) -> Tensor:
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


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis`` (NumPy's ``concatenate``)."""
    return Concatenate.apply(*_tensors(tensors), axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis`` (NumPy's ``stack``)."""
    return Stack.apply(*_tensors(tensors), axis=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b``, with broadcasting; ``condition`` is constant."""
    condition = condition._data if isinstance(condition, Tensor) else condition
    condition = np.asarray(condition, dtype=bool)
    a, b = _tensors((a, b))
    return Where.apply(a, b, condition=condition)


def maximum(a: Any, b: Any) -> Tensor:
    """Element-wise maximum; where ``a == b`` each gets half the gradient."""
    return _binary(Maximum, a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Element-wise minimum; where ``a == b`` each gets half the gradient."""
    return _binary(Minimum, a, b)


# ---------------------------------------------------------------------------- helpers
def _tensors(tensors: Sequence[Any]) -> tuple[Tensor, ...]:
    if not tensors:
        raise ValueError("need at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        return tuple(Tensor(t) for t in tensors)
    return tuple(_as_tensor(t, like) for t in tensors)


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    """Wrap a constant so it computes in ``like``'s dtype (Python scalars never upcast)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value)
    if isinstance(value, np.generic):
        value = value.item()  # a NumPy scalar counts as a Python scalar: it never upcasts
    if isinstance(value, (int, float, complex)):
        # NumPy's rules for a Python scalar beside an array: float32 stays float32.
        return Tensor(np.asarray(value, dtype=np.result_type(like._data, value)))
    return Tensor(np.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else None))


def _binary(op: type[Function], a: Any, b: Any) -> Tensor:
    if not isinstance(a, Tensor):
        a = _as_tensor(a, b)
    elif not isinstance(b, Tensor):
        b = _as_tensor(b, a)
    return op.apply(a, b)


def _norm_axis(axis: Axis, ndim: int) -> tuple[int, ...] | None:
    """An int or tuple axis as a sorted tuple of non-negative axes (None stays None)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, numbers.Integral)) else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a {ndim}-d tensor")
    if ndim == 0:
        return None  # axis 0 (or -1) of a 0-d tensor is the whole tensor, as in PyTorch
    return tuple(sorted(a % ndim for a in axes))


def _unwrap_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index
