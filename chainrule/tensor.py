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
from .ops import exponential, rounding, trig
from .ops.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .ops.device import ToDevice
from .ops.einsum import Einsum, parse_subscripts
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
from .ops.indexing import BroadcastTo, Pad, Scatter, ScatterAdd, along_axis
from .ops.linalg import MatMul
from .ops.reduce import Max, Mean, Min, Sum
from .ops.scan import CumProd, CumSum, Prod
from .ops.shape import Concatenate, Index, Reshape, Stack, Transpose, Where

__all__ = ["Tensor", "tensor", "from_dlpack", "concatenate", "stack", "where", "maximum",
           "minimum", "einsum", "one_hot"]

Axis = int | Sequence[int] | None  # an axis or axes of a reduction (None: all)
# Tensor.pad's modes that pick existing elements, and NumPy's names for them.
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "edge": "edge", "circular": "wrap"}


def _default_dtype(array: np.ndarray) -> np.ndarray:
    """float64 that came from Python floats becomes float32, the library's default."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    return array


def _unary(op: type[Function]) -> Callable[[Tensor], Tensor]:
    """A method applying the element-wise ``op``, documented by the op's formula."""
    def method(self: Tensor) -> Tensor:
        return op.apply(self)

    method.__name__ = method.__qualname__ = op.__name__.lower()
    method.__doc__ = f"Element-wise ``{(op.__doc__ or '').strip()}``."
    return method


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
        if type(data) is not np.ndarray and backend.kind_of(data).name != "cpu":
            array = data if dtype is None else data.astype(dtype, copy=False)  # a device array
        elif dtype is not None:
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
    def device(self) -> backend.Device:
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return backend.device_of(self._data)

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
                tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad

        self.register_hook(keep)

    # ------------------------------------------------------------------ Python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_host(self._data), separator=", ", prefix="tensor(")
        extras = []
        if type(self._data) is not np.ndarray and backend.kind_of(self._data).name != "cpu":
            extras.append(f"device='{self.device}'")
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
        """The data as a NumPy array: the array itself on the CPU (shared, not copied), a copy
        on the host for a tensor on a GPU."""
        return backend.to_host(self._data)

    def to(self, device: str | backend.Device) -> Tensor:
        """This tensor on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``): itself when it is
        there already, else a copy, which is differentiable (the gradient flows back to this
        device), as PyTorch's ``Tensor.to``.

        Raises:
            RuntimeError: ``"cuda"`` without CuPy (saying how to install it) or without a GPU.

        Example:
            >>> import chainrule as cr
            >>> x = cr.tensor([1.0, 2.0])
            >>> x.to("cpu") is x, x.device
            (True, device(type='cpu'))
        """
        device = backend.as_device(device)
        if backend.device_of(self._data) == device:
            return self
        return ToDevice.apply(self, device=device)

    def cpu(self) -> Tensor:
        """This tensor on the CPU (``to("cpu")``)."""
        return self.to(backend.CPU)

    def cuda(self, index: int = 0) -> Tensor:
        """This tensor on CUDA device ``index`` (``to(f"cuda:{index}")``)."""
        return self.to(backend.Device("cuda", index))

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
        if type(self._data) is not np.ndarray and backend.kind_of(self._data).name != "cpu":
            raise TypeError(f"cannot convert a tensor on {self.device} to a NumPy array "
                            "implicitly: copy it to the host with .numpy() or .cpu()")
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

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Position of the largest value (of the flattened tensor when ``axis`` is None)."""
        return Tensor(self._xp.argmax(self._data, axis=axis, keepdims=keepdims))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Position of the smallest value (of the flattened tensor when ``axis`` is None)."""
        return Tensor(self._xp.argmin(self._data, axis=axis, keepdims=keepdims))

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

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        """Merge the axes ``start_axis`` to ``end_axis`` (both included) into one."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (_axis(a, self.ndim, "flatten") for a in (start_axis, end_axis))
        if start > end:
            raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} "
                             f"for a {self.ndim}-d tensor")
        return self.reshape(*self.shape[:start], math.prod(self.shape[start:end + 1]),
                            *self.shape[end + 1:])

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at ``axis``."""
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        return self.reshape(*shape)

    def squeeze(self, axis: int | None = None) -> Tensor:
        """Remove axes of length 1 (all, or the given one)."""
        return self.reshape(*self._data.squeeze(axis=axis).shape)

    # ------------------------------------------------------------------ more math (issue 13)
    # Element-wise functions with NumPy's names, each one op; PyTorch's names are aliases.
    sin = _unary(trig.Sin)
    cos = _unary(trig.Cos)
    tan = _unary(trig.Tan)
    arcsin = asin = _unary(trig.Arcsin)
    arccos = acos = _unary(trig.Arccos)
    arctan = atan = _unary(trig.Arctan)
    sinh = _unary(trig.Sinh)
    cosh = _unary(trig.Cosh)
    arcsinh = asinh = _unary(trig.Arcsinh)
    arccosh = acosh = _unary(trig.Arccosh)
    arctanh = atanh = _unary(trig.Arctanh)
    log2 = _unary(exponential.Log2)
    log10 = _unary(exponential.Log10)
    log1p = _unary(exponential.Log1p)
    expm1 = _unary(exponential.Expm1)
    exp2 = _unary(exponential.Exp2)
    rsqrt = _unary(exponential.Rsqrt)
    sign = _unary(rounding.Sign)
    floor = _unary(rounding.Floor)
    ceil = _unary(rounding.Ceil)
    trunc = _unary(rounding.Trunc)

    def round(self, decimals: int = 0) -> Tensor:
        """Round to ``decimals`` places, halves to even; the gradient is 0."""
        return rounding.Round.apply(self, decimals=decimals)

    def logaddexp(self, other: Any) -> Tensor:
        """``ln(eˣ + eʸ)`` element-wise, without overflow."""
        return _binary(exponential.LogAddExp, self, other)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """``self + weight · (end - self)`` (PyTorch's ``lerp``), built from primitives."""
        return _binary(Add, self, (_as_tensor(end, self) - self) * weight)

    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Standard deviation ``√var`` (``ddof=1``: PyTorch's default, the unbiased one)."""
        return self.var(axis=axis, keepdims=keepdims, ddof=ddof).sqrt()

    def prod(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Product over ``axis``; exact gradients where elements are 0."""
        return Prod.apply(self, axis=_norm_axis(axis, self.ndim), keepdims=keepdims)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``ln Σ eˣ`` over ``axis``, without overflow."""
        return exponential.LogSumExp.apply(self, axis=_norm_axis(axis, self.ndim),
                                           keepdims=keepdims)

    def cumsum(self, axis: int | None = None) -> Tensor:
        """Running sum along ``axis`` (of the flattened tensor when None, as NumPy)."""
        x = self.reshape(-1) if axis is None else self
        return CumSum.apply(x, axis=_axis(0 if axis is None else axis, x.ndim, "cumsum"))

    def cumprod(self, axis: int | None = None) -> Tensor:
        """Running product along ``axis`` (of the flattened tensor when None, as NumPy)."""
        x = self.reshape(-1) if axis is None else self
        return CumProd.apply(x, axis=_axis(0 if axis is None else axis, x.ndim, "cumprod"))

    def pad(self, pad_width: Any, mode: str = "constant", value: Any = 0.0) -> Tensor:
        """Pad with ``pad_width`` (NumPy's: an int, a (before, after) pair, or one pair per
        axis). ``mode``: ``'constant'`` (``value``), ``'reflect'`` (mirror without repeating
        the edge), ``'replicate'`` (repeat the edge; NumPy's ``'edge'``) or ``'circular'``
        (wrap around; NumPy's ``'wrap'``)."""
        pairs = _pad_pairs(pad_width, self.ndim)
        if mode == "constant":
            return Pad.apply(self, pad_width=pairs, value=value)
        numpy_mode = _PAD_MODES.get(mode)
        if numpy_mode is None:
            raise ValueError(f"pad: mode must be 'constant' or one of {sorted(_PAD_MODES)}, "
                             f"got {mode!r}")
        out, xp = self, self._xp
        for axis, (before, after) in enumerate(pairs):
            if before or after:
                n = self.shape[axis]
                if mode in ("reflect", "circular") and max(before, after) > n - (
                        mode == "reflect"):
                    raise ValueError(f"pad: {mode} padding ({before}, {after}) of axis {axis} "
                                     f"is too wide for its length {n}")
                picks = xp.pad(xp.arange(n), (before, after), mode=numpy_mode)
                out = out[(slice(None),) * axis + (picks,)]
        return out

    def flip(self, axis: Axis = None) -> Tensor:
        """Reverse the order of elements along ``axis`` (all axes when None)."""
        axes = _norm_axis(axis, self.ndim)
        return self[tuple(slice(None, None, -1) if axes is None or a in axes else slice(None)
                          for a in range(self.ndim))]

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """A read-only view broadcast to ``shape`` (NumPy's ``broadcast_to``)."""
        shape = tuple(int(n) for n in shape)
        try:
            fits = np.broadcast_shapes(self.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"broadcast_to: a tensor of shape {self.shape} cannot be broadcast "
                             f"to shape {shape}")
        return BroadcastTo.apply(self, shape=shape)

    def expand(self, *shape: Any) -> Tensor:
        """PyTorch's ``expand``: ``broadcast_to`` where -1 keeps an axis's length."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        lead = len(shape) - self.ndim
        return self.broadcast_to([self.shape[i - lead] if n == -1 and i >= lead else n
                                  for i, n in enumerate(shape)])

    def tile(self, reps: int | Sequence[int]) -> Tensor:
        """The tensor repeated ``reps`` times along each axis (NumPy's ``tile``; PyTorch's
        ``repeat``)."""
        counts = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(reps)
        ndim = max(len(counts), self.ndim)
        counts = (1,) * (ndim - len(counts)) + counts
        shape = (1,) * (ndim - self.ndim) + self.shape
        interleaved = [n for pair in zip(counts, shape) for n in pair]
        x = self.reshape([n for m in shape for n in (1, m)])
        return x.broadcast_to(interleaved).reshape([r * m for r, m in zip(counts, shape)])

    def repeat(self, repeats: Any, axis: int | None = None) -> Tensor:
        """Each element repeated ``repeats`` times along ``axis`` (NumPy's ``repeat``;
        PyTorch's ``repeat_interleave``). For PyTorch's ``repeat``, see ``tile``."""
        x = self.reshape(-1) if axis is None else self
        axis = _axis(0 if axis is None else axis, x.ndim, "repeat")
        if isinstance(repeats, numbers.Integral):
            shape = x.shape[:axis + 1] + (int(repeats),) + x.shape[axis + 1:]
            merged = x.shape[:axis] + (x.shape[axis] * int(repeats),) + x.shape[axis + 1:]
            return x.unsqueeze(axis + 1).broadcast_to(shape).reshape(merged)
        # A host list of counts: CuPy's repeat takes counts as an int, list or tuple only.
        counts = backend.to_host(_raw(repeats)).tolist()
        picks = x._xp.repeat(x._xp.arange(x.shape[axis]), counts)
        return x[(slice(None),) * axis + (picks,)]

    repeat_interleave = repeat

    def take_along_axis(self, indices: Any, axis: int) -> Tensor:
        """Pick ``indices`` along ``axis`` (NumPy's ``take_along_axis``): indices has this
        tensor's number of axes; the gradient adds up at repeated picks."""
        return self._take(indices, axis, "take_along_axis")

    def gather(self, axis: int, index: Any) -> Tensor:
        """PyTorch's ``gather(dim, index)``: ``take_along_axis`` whose index may be shorter
        than this tensor on the other axes."""
        return self._take(index, axis, "gather")

    def _take(self, indices: Any, axis: int, where: str) -> Tensor:
        index = _index_array(indices, self, axis, where)
        return self[along_axis(index, _axis(axis, self.ndim, where))]

    def scatter(self, axis: int, index: Any, src: Any) -> Tensor:
        """PyTorch's ``scatter(dim, index, src)``: a copy with ``src`` (a tensor, cropped to
        index's shape, or a number) written at ``index`` along ``axis``."""
        return self._scatter(Scatter, axis, index, src, "scatter")

    def scatter_add(self, axis: int, index: Any, src: Any) -> Tensor:
        """PyTorch's ``scatter_add(dim, index, src)``: a copy with ``src`` added at ``index``
        along ``axis`` (repeated positions accumulate)."""
        return self._scatter(ScatterAdd, axis, index, src, "scatter_add")

    def _scatter(self, op: type[Function], axis: int, index: Any, src: Any,
                 where: str) -> Tensor:
        array = _index_array(index, self, axis, where)
        src = _as_tensor(src, self)
        if src.ndim == 0:
            src = src.broadcast_to(array.shape)
        elif src.ndim != array.ndim or any(s < i for s, i in zip(src.shape, array.shape)):
            raise ValueError(f"{where}: src of shape {src.shape} must be at least as large as "
                             f"index {array.shape} on every axis")
        elif src.shape != array.shape:
            src = src[tuple(slice(0, n) for n in array.shape)]
        return op.apply(self, src, index=along_axis(array, _axis(axis, self.ndim, where)))

    def tril(self, k: int = 0) -> Tensor:
        """The lower triangle of the last two axes (elements above diagonal ``k`` zeroed)."""
        return _triangle(self, self._xp.tril, k)

    def triu(self, k: int = 0) -> Tensor:
        """The upper triangle of the last two axes (elements below diagonal ``k`` zeroed)."""
        return _triangle(self, self._xp.triu, k)

    def unflatten(self, axis: int, sizes: Sequence[int]) -> Tensor:
        """Split ``axis`` into axes of ``sizes`` (one may be -1), the inverse of ``flatten``."""
        axis = _axis(axis, self.ndim, "unflatten")
        return self.reshape(*self.shape[:axis], *sizes, *self.shape[axis + 1:])

    # Logical and bitwise operators: no gradient (their results are bool or int).
    @property
    def _xp(self) -> Any:
        """The array module of the tensor's data (NumPy, or CuPy on a GPU)."""
        return backend.array_module(self._data)

    def __invert__(self) -> Tensor:
        return Tensor(self._xp.invert(_bits(self, "~")))

    def __and__(self, other: Any) -> Tensor:
        return Tensor(self._xp.bitwise_and(_bits(self, "&"), _bits(other, "&")))

    def __or__(self, other: Any) -> Tensor:
        return Tensor(self._xp.bitwise_or(_bits(self, "|"), _bits(other, "|")))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor(self._xp.bitwise_xor(_bits(self, "^"), _bits(other, "^")))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def logical_not(self) -> Tensor:
        """``not x`` element-wise (any dtype: 0 is false), a bool tensor."""
        return Tensor(self._xp.logical_not(self._data))

    def logical_and(self, other: Any) -> Tensor:
        return Tensor(self._xp.logical_and(self._data, _raw(other)))

    def logical_or(self, other: Any) -> Tensor:
        return Tensor(self._xp.logical_or(self._data, _raw(other)))

    def logical_xor(self, other: Any) -> Tensor:
        return Tensor(self._xp.logical_xor(self._data, _raw(other)))


autograd.register_tensor_class(Tensor)


# ---------------------------------------------------------------------------- functions
def tensor(data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None,
           device: str | backend.Device | None = None) -> Tensor:
    """Make a tensor (see ``Tensor``); NumPy arrays keep their dtype and memory. With ``device``
    (``"cpu"``, ``"cuda"``, ``"cuda:1"``) the data is copied there unless it is there already.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0], device="cpu").device
        device(type='cpu')
    """
    if device is None:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype)
    data = Tensor(data, dtype=dtype)._data
    return Tensor(backend.to_device(data, device), requires_grad=requires_grad)


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
    a, b = _tensors((a, b))
    condition = backend.array_module(a._data).asarray(condition, dtype=bool)
    return Where.apply(a, b, condition=condition)


def maximum(a: Any, b: Any) -> Tensor:
    """Element-wise maximum; where ``a == b`` each gets half the gradient."""
    return _binary(Maximum, a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Element-wise minimum; where ``a == b`` each gets half the gradient."""
    return _binary(Minimum, a, b)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation (NumPy's and PyTorch's ``einsum``): ``"ij,jk->ik"`` is a matrix
    product, ``"bij->bji"`` a transpose, ``"...i,i"`` a product with a vector; ellipses and
    the implicit output (the letters used once, sorted) as in NumPy. A letter repeated within
    one operand (a diagonal) is not supported.

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0], [4.0]])
        >>> cr.einsum("ij,jk->ik", a, b)
        tensor([[11.]])
    """
    tensors = _tensors(operands)
    inputs, output = parse_subscripts(subscripts, [t.shape for t in tensors])
    for letter in set(output).union(*inputs):
        sizes = {t.shape[s.index(letter)] for s, t in zip(inputs, tensors) if letter in s}
        if len(sizes - {1}) > 1:
            raise ValueError(f"einsum: subscript {letter!r} has sizes {sorted(sizes)} in "
                             f"operands of shapes {[t.shape for t in tensors]}")
    return Einsum.apply(*tensors, inputs=inputs, output=output)


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: ``out[..., c] = 1`` where ``labels == c`` (PyTorch's
    ``one_hot``; ``num_classes=-1``: the largest label + 1). Not differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.one_hot(cr.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    raw = _raw(labels)
    xp = backend.array_module(raw)  # the labels' device
    array = xp.asarray(raw)
    if array.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {array.dtype}")
    if num_classes == -1:
        num_classes = int(array.max()) + 1 if array.size else 0
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got values from "
                         f"{array.min()} to {array.max()}")
    return Tensor((array[..., None] == xp.arange(num_classes)).astype(np.int64))


# ---------------------------------------------------------------------------- helpers
def _axis(axis: int, ndim: int, where: str) -> int:
    """One axis as a non-negative int, checked against ``ndim``."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis {axis} is out of range for a {ndim}-d tensor")
    return int(axis) % ndim


def _raw(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _bits(value: Any, operator_: str) -> Any:
    """The array (or Python scalar, which stays weak: int8 & 1 is int8) of a bool or integer
    operand of a bitwise operator."""
    raw = _raw(value)
    dtype = raw.dtype if hasattr(raw, "dtype") else np.result_type(raw)
    if dtype.kind not in "biu":
        raise TypeError(f"{operator_} is for bool and integer tensors (and has no gradient), "
                        f"got dtype {dtype}; compare first (x > 0) or use logical_*")
    return raw


def _index_array(indices: Any, x: Tensor, axis: int, where: str) -> Any:
    """An integer index array with ``x``'s number of axes, in range along ``axis``."""
    array = x._xp.asarray(_raw(indices))  # on x's device
    if array.dtype.kind not in "iu" or array.ndim != x.ndim:
        raise ValueError(f"{where}: index must be an integer array with {x.ndim} axes like the "
                         f"input {x.shape}, got dtype {array.dtype} and shape {array.shape}")
    n = x.shape[_axis(axis, x.ndim, where)]
    if array.size and (array.min() < -n or array.max() >= n):
        raise IndexError(f"{where}: index values from {array.min()} to {array.max()} are out "
                         f"of range for axis {axis} of length {n}")
    others = [a for a in range(x.ndim) if a != axis % x.ndim]
    if any(array.shape[a] > x.shape[a] for a in others):
        raise ValueError(f"{where}: index of shape {array.shape} is larger than the input "
                         f"{x.shape} on an axis other than {axis}")
    return array % n


def _pad_pairs(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """NumPy's ``pad_width`` (an int, a (before, after) pair, or one pair per axis) as one
    (before, after) pair of ints per axis."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: widths must be >= 0, got {pad_width!r}")
    return tuple((int(a), int(b)) for a, b in widths)


def _triangle(x: Tensor, keep: Callable[..., Any], k: int) -> Tensor:
    if x.ndim < 2:
        raise ValueError(f"tril/triu need at least 2 axes, got shape {x.shape}")
    mask = keep(x._xp.ones(x.shape[-2:], dtype=bool), k)
    return where(mask, x, 0)


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
    xp = backend.array_module(like._data)  # the constant lives on like's device
    if isinstance(value, (int, float, complex)):
        # NumPy's rules for a Python scalar beside an array: float32 stays float32.
        return Tensor(xp.asarray(value, dtype=np.result_type(like._data.dtype, value)))
    return Tensor(xp.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else None))


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
