"""Products and running totals: ``prod`` (a reduction), ``cumsum`` and ``cumprod`` (scans).

Backward rules use operators and ``array_module`` functions on the saved input and output
only, so they can be recorded again for a second derivative.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, composite_gradients
from ..backend import array_module
from .reduce import _expand

__all__ = ["Prod", "CumSum", "CumProd"]


def _reverse_cumsum(xp: Any, g: Any, axis: int) -> Any:
    """``Σ_{j ≥ i} g_j`` along ``axis``: the adjoint of a cumulative sum."""
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


class Prod(Function):
    """y = Π x over ``axis``; dy/dxᵢ = Π_{j ≠ i} xⱼ

    The product of the others is y / xᵢ where the slice holds no zero; with one zero it is
    the product of the non-zeros at the zero and 0 elsewhere; with two or more, 0 everywhere.
    (Exact, unlike y / x, and no division by zero.)
    """

    def backward_graph(self, grad: Any) -> Any:
        # The rule's cases by zeros are constants to a replay, but the second derivative at a
        # zero is not 0: differentiate the product as a recorded running product instead.
        (x,) = self.parents or ()
        xp = array_module(x)
        axes = range(x.ndim) if self.axis is None else self.axis
        kept = [a for a in range(x.ndim) if a not in axes]
        rows = x.transpose(kept + list(axes)).reshape(*(x.shape[a] for a in kept), -1)
        shape = [1 if a in axes else n for a, n in enumerate(x.shape)] if self.keepdims \
            else [x.shape[a] for a in kept]
        out = xp.cumprod(rows, axis=-1)[..., -1].reshape(shape)
        return composite_gradients(self, out, grad)

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, grad: Any) -> Any:
        x = self.x
        xp = array_module(x)
        zero = x == 0
        safe = xp.where(zero, 1, x)  # a derived differentiable intermediate (x with 1 at zeros)
        nonzero_product = safe.prod(axis=self.axis, keepdims=True)
        zeros = zero.sum(axis=self.axis, keepdims=True)
        others = xp.where(zero, nonzero_product * (zeros == 1),
                          nonzero_product / safe * (zeros == 0))
        return _expand(grad, self.axis, self.keepdims, x.shape) * others


class CumSum(Function):
    """yᵢ = Σ_{j ≤ i} xⱼ along ``axis``; dL/dxᵢ = Σ_{j ≥ i} gⱼ"""

    replayable = True  # a linear rule on the gradient alone

    def forward(self, x: Any, axis: Any) -> Any:
        self.axis = axis
        return array_module(x).cumsum(x, axis=axis)

    def backward(self, grad: Any) -> Any:
        return _reverse_cumsum(array_module(grad), grad, self.axis)


class CumProd(Function):
    """yᵢ = Π_{j ≤ i} xⱼ along ``axis``; dL/dxᵢ = Σ_{j ≥ i} gⱼ yⱼ / xᵢ

    Where a slice holds a zero the division is undefined, and those slices take the exact
    rule instead: dL/dxᵢ = Π_{j < i} xⱼ · (gᵢ + Σ_{j > i} gⱼ Π_{i < k ≤ j} xₖ), one pass per
    position along ``axis`` (zeros are rare; the common case stays one scan).
    """

    def backward_graph(self, grad: Any) -> Any:
        # The rule divides by x and switches on zeros, which a replay would freeze: record the
        # running product as a chain of products instead (exact at zeros, to every order).
        (x,) = self.parents or ()
        xp = array_module(x)
        lead = (slice(None),) * self.axis
        running = [x[lead + (0,)]]
        for i in range(1, x.shape[self.axis]):
            running.append(running[-1] * x[lead + (i,)])
        return composite_gradients(self, xp.stack(running, axis=self.axis), grad)

    def forward(self, x: Any, axis: Any) -> Any:
        xp = array_module(x)
        self.x, self.axis = x, axis
        self.out = xp.cumprod(x, axis=axis)
        return self.out

    def backward(self, grad: Any) -> Any:
        x, y, axis = self.x, self.out, self.axis
        xp = array_module(x)
        zero = x == 0
        safe = xp.where(zero, 1, x)  # a derived differentiable intermediate
        gx = _reverse_cumsum(xp, grad * y, axis) / safe
        if not zero.any():
            return gx
        # Slices with a zero: the exact rule, position by position along the axis.
        xm, gm = xp.moveaxis(x, axis, -1), xp.moveaxis(grad, axis, -1)
        n = xm.shape[-1]
        exact = []
        for i in range(n):
            before = xm[..., :i].prod(axis=-1)
            after = xp.cumprod(xm[..., i + 1:], axis=-1)
            exact.append(before * (gm[..., i] + (gm[..., i + 1:] * after).sum(axis=-1)))
        exact = xp.moveaxis(xp.stack(exact, axis=-1), -1, axis)
        has_zero = zero.any(axis=axis, keepdims=True)
        return xp.where(has_zero, exact, gx)
