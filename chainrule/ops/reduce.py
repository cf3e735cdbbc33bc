"""Reductions over axes: sum, mean, max, min. Their gradients broadcast back over the axes."""

from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module

__all__ = ["Sum", "Mean", "Max", "Min"]


def _expand(grad, axis, keepdims: bool, shape: tuple):
    """Re-insert the reduced axes of ``grad`` (as length 1) so it broadcasts against ``shape``."""
    if keepdims or axis is None:
        return grad.reshape([1] * len(shape)) if axis is None and not keepdims else grad
    return array_module(grad).expand_dims(grad, axis)


def _count(shape: tuple, axis) -> int:
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


class Sum(Function):
    """y = Σ x over ``axis``; dy/dx = 1 (the gradient is broadcast back)"""

    replayable = True

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        g = _expand(grad, self.axis, self.keepdims, self.shape)
        return array_module(g).broadcast_to(g, self.shape)


class Mean(Function):
    """y = (1/n) Σ x over ``axis``; dy/dx = 1/n"""

    replayable = True

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.mean(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        g = _expand(grad, self.axis, self.keepdims, self.shape) / _count(self.shape, self.axis)
        return array_module(g).broadcast_to(g, self.shape)


class _Extreme(Function):
    """Shared rule of ``Max`` and ``Min``: the gradient goes to the elements that were picked.

    # NOTE: when several elements tie for the extreme, they share the gradient equally
    # (each gets g / number of ties), as PyTorch's amax/amin do.
    """

    replayable = True

    reduce = ""  # the array method that reduces

    def forward(self, x, axis=None, keepdims=False):
        out = getattr(x, self.reduce)(axis=axis, keepdims=True)
        self.picked = x == out
        self.axis, self.keepdims = axis, keepdims
        return out if keepdims else out.reshape(
            () if axis is None else tuple(n for i, n in enumerate(x.shape) if i not in axis)
        )

    def backward(self, grad):
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
