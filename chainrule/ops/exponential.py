"""Logarithms and exponentials beyond ``exp``/``log`` (other bases, the accurate ``log1p`` and
``expm1`` near 0, ``rsqrt``), the stable ``logaddexp`` and the ``logsumexp`` reduction.

Backward rules use operators and ``array_module`` functions on the saved inputs and outputs
only, so they can be recorded again for a second derivative.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import array_module
from .elementwise import _OfInput, _OfOutput, unbroadcast
from .reduce import _expand

__all__ = ["Log2", "Log10", "Log1p", "Expm1", "Exp2", "Rsqrt", "LogAddExp", "LogSumExp"]


class Log2(_OfInput):
    """y = log₂ x; dy/dx = 1 / (x ln 2)"""

    function = "log2"

    def backward(self, grad: Any) -> Any:
        return grad / (self.x * math.log(2))


class Log10(_OfInput):
    """y = log₁₀ x; dy/dx = 1 / (x ln 10)"""

    function = "log10"

    def backward(self, grad: Any) -> Any:
        return grad / (self.x * math.log(10))


class Log1p(_OfInput):
    """y = ln(1 + x), accurate for small x; dy/dx = 1 / (1 + x)"""

    function = "log1p"

    def backward(self, grad: Any) -> Any:
        return grad / (1 + self.x)


class Expm1(_OfOutput):
    """y = eˣ - 1, accurate for small x; dy/dx = y + 1"""

    function = "expm1"

    def backward(self, grad: Any) -> Any:
        return grad * (self.out + 1)


class Exp2(_OfOutput):
    """y = 2ˣ; dy/dx = y ln 2"""

    function = "exp2"

    def backward(self, grad: Any) -> Any:
        return grad * (self.out * math.log(2))


class Rsqrt(Function):
    """y = 1 / √x; dy/dx = -y³ / 2"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        self.out = xp.reciprocal(xp.sqrt(x))
        return self.out

    def backward(self, grad: Any) -> Any:
        y = self.out
        return grad * (y * y * y) * -0.5


class LogAddExp(Function):
    """y = ln(eᵃ + eᵇ), without overflow; dy/da = e^(a - y), dy/db = e^(b - y)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.out = array_module(a).logaddexp(a, b)
        return self.out

    def backward(self, grad: Any) -> Any:
        needs = [p.requires_grad for p in self.parents or ()]
        xp = array_module(self.a)
        a, b, y = self.a, self.b, self.out
        ga = unbroadcast(grad * xp.exp(a - y), a.shape) if needs[0] \
            else None
        gb = unbroadcast(grad * xp.exp(b - y), b.shape) if needs[1] \
            else None
        return ga, gb


class LogSumExp(Function):
    """y = ln Σ eˣ over ``axis`` (shifted by the max, so it never overflows);
    dy/dx = e^(x - y), the softmax over ``axis``"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        xp = array_module(x)
        peak = x.max(axis=axis, keepdims=True)
        peak = xp.where(xp.isfinite(peak), peak, 0)  # all -inf (or an inf) must not give nan
        out = xp.log(xp.exp(x - peak).sum(axis=axis, keepdims=True)) + peak
        if not keepdims:
            out = out.reshape(
                () if axis is None else tuple(n for i, n in enumerate(x.shape) if i not in axis))
        self.x, self.out, self.axis, self.keepdims = x, out, axis, keepdims
        return out

    def backward(self, grad: Any) -> Any:
        x, axis, keepdims = self.x, self.axis, self.keepdims
        y = _expand(self.out, axis, keepdims, x.shape)
        return _expand(grad, axis, keepdims, x.shape) * array_module(x).exp(x - y)
