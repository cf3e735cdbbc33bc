"""Self-gated activations y = x · gate(x): SiLU (swish), Mish and hard swish, each one fused
op (one node and one pass instead of three).

Backward rules use operators and ``array_module`` functions on the saved input only, so they
can be recorded again for a second derivative.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module
from .activation import _sigmoid

__all__ = ["SiLU", "Mish", "Hardswish"]


class SiLU(Function):
    """y = x σ(x); dy/dx = σ(x) (1 + x (1 - σ(x)))"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return x * _sigmoid(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        s = _sigmoid(x)  # a derived differentiable intermediate: σ(x)
        return grad * (s * (1 + x * (1 - s)))


class Mish(Function):
    """y = x tanh(softplus(x)); dy/dx = t + x (1 - t²) σ(x), t = tanh(softplus(x))"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        self.x = x
        return x * xp.tanh(xp.logaddexp(0, x))

    def backward(self, grad: Any) -> Any:
        x = self.x
        xp = array_module(x)
        t = xp.tanh(xp.logaddexp(0, x))  # derived differentiable intermediates: t and σ(x)
        return grad * (t + x * (1 - t * t) * _sigmoid(x))


class Hardswish(Function):
    """y = x · min(max(x + 3, 0), 6) / 6; dy/dx = 0 for x ≤ -3, (2x + 3) / 6 for
    -3 < x < 3, 1 for x ≥ 3

    # NOTE: at x = -3 the gradient is 0 and at x = 3 it is 1 (the outer pieces' slopes), as
    # in PyTorch.
    """

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        self.x = x
        return x * xp.clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6

    def backward(self, grad: Any) -> Any:
        x = self.x
        xp = array_module(x)
        middle = (x > -3) & (x < 3)
        return grad * xp.where(middle, x / 3 + 0.5, x >= 3)
