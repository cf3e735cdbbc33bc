"""Reductions over axes: sum, mean, max, min. Their gradients broadcast back over the axes."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import array_module

__all__ = ["Sum", "Mean", "Max", "Min"]


def _expand(grad: Any, axis: tuple[int, ...] | None, keepdims: bool, shape: tuple[int, ...]) -> Any:
    """Re-insert the reduced axes of ``grad`` (as length 1) so it broadcasts against ``shape``."""
    if keepdims or axis is None:
        return grad.reshape([1] * len(shape)) if axis is None and not keepdims else grad
    return array_module(grad).expand_dims(grad, axis)


def _count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


class Sum(Function):
    """y = Σ x over ``axis``; dy/dx = 1 (the gradient is broadcast back)"""

    replayable = True

    def forward(self, x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad: Any) -> Any:
        g = _expand(grad, self.axis, self.keepdims, self.shape)
        return array_module(g).broadcast_to(g, self.shape)


class Mean(Function):
    """y = (1/n) Σ x over ``axis``; dy/dx = 1/n"""

    replayable = True

    def forward(self, x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.mean(axis=axis, keepdims=keepdims)

    def backward(self, grad: Any) -> Any:
        g = _expand(grad, self.axis, self.keepdims, self.shape) / _count(self.shape, self.axis)
        return array_module(g).broadcast_to(g, self.shape)


class _Extreme(Function):
    """Shared rule of ``Max`` and ``Min``: the gradient goes to the elements that were picked.

    # NOTE: when several elements tie for the extreme, they share the gradient equally
    # (each gets g / number of ties), as PyTorch's amax/amin do. A NaN is the extreme of its
    # slice: the slice's NaNs share the gradient (as torch.max), and no NaN reaches the rest.
    """

    replayable = True

    reduce = ""  # the array method that reduces

    def forward(self, x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
        out = getattr(x, self.reduce)(axis=axis, keepdims=True)
        self.picked = x == out
        xp = array_module(x)
        if x.dtype.kind in "fc" and xp.isnan(out).any():
            self.picked |= xp.isnan(x) & xp.isnan(out)
        self.axis, self.keepdims = axis, keepdims
        return out if keepdims else out.reshape(
            () if axis is None else tuple(n for i, n in enumerate(x.shape) if i not in axis)
        )

    def backward(self, grad: Any) -> Any:
        picked = self.picked
        g = _expand(grad, self.axis, self.keepdims, picked.shape)
        ties = picked.sum(axis=self.axis, keepdims=True).astype(grad.dtype)
        return picked * (g / ties)


class Max(_Extreme):
    """y = max x over ``axis``; dy/dx = [x = y] / (number of ties)"""

    reduce = "max"


class Min(_Extreme):
    """y = min x over ``axis``; dy/dx = [x = y] / (number of ties)"""

    reduce = "min"
