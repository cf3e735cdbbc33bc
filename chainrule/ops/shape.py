"""Ops that move elements without changing them: reshape, transpose, index, concatenate, stack,
where. Their gradients move the elements back."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import array_module, scatter_add
from .elementwise import unbroadcast

__all__ = ["Reshape", "Transpose", "Index", "IndexAdjoint", "Concatenate", "Stack", "Where"]


class Reshape(Function):
    """y = x viewed with another shape; dL/dx = dL/dy reshaped back"""

    replayable = True

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad: Any) -> Any:
        return grad.reshape(self.shape)


class Transpose(Function):
    """y = x with axes permuted; dL/dx = dL/dy with the inverse permutation"""

    replayable = True

    def forward(self, x: Any, axes: tuple[int, ...]) -> Any:
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad: Any) -> Any:
        return grad.transpose(tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__)))


def _selects_once(index: Any) -> bool:
    """Basic indices (ints, slices, None, ...) and boolean masks select each element at most
    once, so their gradient can be assigned rather than scatter-added."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
        or getattr(p, "dtype", None) == np.bool_
        for p in parts
    )


def _scatter(x: Any, shape: tuple[int, ...], index: Any) -> Any:
    """Zeros of ``shape`` with ``x`` added at ``index`` (repeated elements add up)."""
    out = array_module(x).zeros(shape, dtype=x.dtype)
    if _selects_once(index):
        out[index] = x
    else:
        scatter_add(out, index, x)
    return out


class Index(Function):
    """y = x[index]; dL/dx = zeros with dL/dy scatter-added at index

    Integer-array indices may repeat an element; its gradients then add up.
    """

    def forward(self, x: Any, index: Any) -> Any:
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad: Any) -> Any:
        return _scatter(grad, self.shape, self.index)

    def backward_graph(self, grad: Any) -> Any:
        return IndexAdjoint.apply(grad, shape=self.shape, index=self.index)


class IndexAdjoint(Function):
    """y = zeros(shape) with x added at ``index`` (``Index``'s adjoint: its backward, recorded
    under ``create_graph``); dL/dx = dL/dy[index]"""

    def forward(self, x: Any, shape: tuple[int, ...], index: Any) -> Any:
        self.index = index
        return _scatter(x, shape, index)

    def backward(self, grad: Any) -> Any:
        return grad[self.index]

    def backward_graph(self, grad: Any) -> Any:
        return Index.apply(grad, index=self.index)


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along ``axis``; dL/dxᵢ = the slice of dL/dy that xᵢ filled"""

    replayable = True

    def forward(self, *xs: Any, axis: int = 0) -> Any:
        xp = array_module(xs[0])
        self.axis = axis
        self.splits = list(itertools.accumulate(x.shape[axis] for x in xs))[:-1]
        return xp.concatenate(xs, axis=axis)

    def backward(self, grad: Any) -> Any:
        return tuple(array_module(grad).split(grad, self.splits, axis=self.axis))


class Stack(Function):
    """y = [x₁, x₂, …] stacked on a new ``axis``; dL/dxᵢ = dL/dy taken at i on that axis"""

    replayable = True

    def forward(self, *xs: Any, axis: int = 0) -> Any:
        self.axis = axis
        return array_module(xs[0]).stack(xs, axis=axis)

    def backward(self, grad: Any) -> Any:
        xp = array_module(grad)
        return tuple(xp.take(grad, i, axis=self.axis) for i in range(grad.shape[self.axis]))


class Where(Function):
    """y = a where cond else b; dL/da = g [cond], dL/db = g [not cond] (cond is a constant)"""

    replayable = True

    def forward(self, a: Any, b: Any, condition: Any) -> Any:
        self.condition, self.shapes = condition, (a.shape, b.shape)
        return array_module(a).where(condition, a, b)

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        xp = array_module(grad)
        zero = grad.dtype.type(0)
        a_shape, b_shape = self.shapes
        ga = gb = None
        if parents[0].requires_grad:
            ga = unbroadcast(xp.where(self.condition, grad, zero), a_shape)
        if parents[1].requires_grad:
            gb = unbroadcast(xp.where(self.condition, zero, grad), b_shape)
        return ga, gb
