"""Piecewise-constant functions: ``sign``, ``floor``, ``ceil``, ``round``, ``trunc``.

Their derivative is 0 wherever it exists; at the jumps it does not, and the gradient is taken
as 0 there too, as PyTorch does. They stay in the graph (rather than cutting it) so that a
gradient flowing through ``x - x.round()`` (a straight-through trick) reaches ``x``.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module

__all__ = ["Sign", "Floor", "Ceil", "Round", "Trunc"]


class _Step(Function):
    """y = a piecewise-constant f(x); dy/dx = 0

    # NOTE: at a jump (sign at 0, floor at an integer, round at a half) the gradient is 0.
    """

    replayable = True  # the rule reads nothing: its gradient is 0
    function = ""  # the array-module function

    def forward(self, x: Any, **kwargs: Any) -> Any:
        return getattr(array_module(x), self.function)(x, **kwargs)

    def backward(self, grad: Any) -> Any:
        return grad * 0


class Sign(_Step):
    """y = sign x (-1, 0 or 1); dy/dx = 0"""

    function = "sign"


class Floor(_Step):
    """y = ⌊x⌋; dy/dx = 0"""

    function = "floor"


class Ceil(_Step):
    """y = ⌈x⌉; dy/dx = 0"""

    function = "ceil"


class Round(_Step):
    """y = x rounded to ``decimals`` places, halves to even (NumPy's and PyTorch's rule);
    dy/dx = 0"""

    function = "round"


class Trunc(_Step):
    """y = x rounded toward 0; dy/dx = 0"""

    function = "trunc"
