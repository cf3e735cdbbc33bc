"""Activation functions g(z) and their derivatives g'(z), mostly written from the saved output."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function, composite_gradients
from ..backend import array_module, zeros_like_readonly

__all__ = [
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "GELU_APPROXIMATIONS",
]

GELU_APPROXIMATIONS = ("none", "tanh")  # GELU's formulas for Φ: exact, or tanh's


def _sigmoid(x: Any) -> Any:
    """σ(x) = ½(1 + tanh(x/2)): never overflows, unlike 1/(1 + exp(-x)) for x ≪ 0."""
    out = array_module(x).tanh(x * 0.5)
    out += 1
    out *= 0.5
    return out


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ); dy/dx = y (1 - y)"""

    replayable = True

    def forward(self, x: Any) -> Any:
        self.out = _sigmoid(x)
        return self.out

    def backward(self, grad: Any) -> Any:
        y = self.out
        return grad * (y * (1 - y))


class Tanh(Function):
    """y = tanh(x); dy/dx = 1 - y²"""

    replayable = True

    def forward(self, x: Any) -> Any:
        self.out = array_module(x).tanh(x)
        return self.out

    def backward(self, grad: Any) -> Any:
        y = self.out
        return grad * (1 - y * y)


class ReLU(Function):
    """y = max(x, 0); dy/dx = [x > 0]

    # NOTE: at x == 0 the gradient is 0, as in PyTorch.
    """

    replayable = True

    def forward(self, x: Any) -> Any:
        # Against an array of zeros, not the scalar 0: NumPy's loop for that is ~3x faster.
        self.out = array_module(x).maximum(x, zeros_like_readonly(x))
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * (self.out > 0)


class LeakyReLU(Function):
    """y = x if x > 0 else αx; dy/dx = 1 if x > 0 else α

    # NOTE: at x == 0 the gradient is α, as in PyTorch.
    """

    replayable = True

    def forward(self, x: Any, negative_slope: float = 0.01) -> Any:
        self.positive = x > 0
        self.slope = negative_slope
        return array_module(x).where(self.positive, x, x * negative_slope)

    def backward(self, grad: Any) -> Any:
        return array_module(grad).where(self.positive, grad, grad * self.slope)


class ELU(Function):
    """y = x if x > 0 else α(eˣ - 1); dy/dx = 1 if x > 0 else y + α

    # NOTE: at x == 0 the gradient is y + α = α, as in PyTorch; its derivative there is the
    # left branch's, α (PyTorch's double backward gives 0).
    """

    replayable = True

    def forward(self, x: Any, alpha: float = 1.0) -> Any:
        xp = array_module(x)
        self.positive = x > 0
        self.alpha = alpha
        self.out = xp.where(self.positive, x, alpha * xp.expm1(xp.minimum(x, 0)))
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * array_module(grad).where(self.positive, 1, self.out + self.alpha)


def _erf(x: Any) -> Any:
    """erf(x) by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, float32's resolution)."""
    xp = array_module(x)
    t = 1 / (1 + 0.3275911 * xp.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                     + t * (-1.453152027 + t * 1.061405429))))
    return xp.sign(x) * (1 - poly * xp.exp(-x * x))


class GELU(Function):
    """y = x Φ(x); dy/dx = Φ(x) + x φ(x)   (Φ, φ: the standard normal CDF and density)

    ``approximate='tanh'`` uses Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³))) and its derivative.
    """

    def forward(self, x: Any, approximate: str = "none") -> Any:
        self.x, self.approximate = x, approximate
        out, saved = _gelu(x, approximate)
        if approximate == "tanh":
            self.inner = saved
        else:
            self.cdf = saved
        return out

    def backward(self, grad: Any) -> Any:
        x = self.x
        if self.approximate == "tanh":
            t = self.inner
            d_inner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        pdf = array_module(x).exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (self.cdf + x * pdf)

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads Φ(x) (or the tanh) saved as arrays: differentiate the forward instead.
        (x,) = self.parents or ()
        return composite_gradients(self, _gelu(x, self.approximate)[0], grad)


def _gelu(x: Any, approximate: str) -> Any:
    """GELU(x) and the Φ(x) (or, approximated, the tanh) it computed, on arrays or tensors."""
    if approximate == "tanh":
        inner = array_module(x).tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
        return 0.5 * x * (1 + inner), inner
    cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
    return x * cdf, cdf


class Softplus(Function):
    """y = ln(1 + e^(βx)) / β; dy/dx = σ(βx)"""

    def forward(self, x: Any, beta: float = 1.0) -> Any:
        self.beta_x, self.beta = beta * x, beta
        return array_module(x).logaddexp(0, self.beta_x) / beta

    def backward(self, grad: Any) -> Any:
        return grad * _sigmoid(self.beta_x)

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads βx saved as an array: differentiate the forward instead.
        (x,) = self.parents or ()
        out = array_module(x).logaddexp(0, self.beta * x) / self.beta
        return composite_gradients(self, out, grad)


class Softmax(Function):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``axis``; dL/dx = y ⊙ (g - Σ g ⊙ y)"""

    replayable = True

    def forward(self, x: Any, axis: int = -1) -> Any:
        xp = array_module(x)
        e = xp.exp(x - x.max(axis=axis, keepdims=True))  # shifting by the max avoids overflow
        e /= e.sum(axis=axis, keepdims=True)
        self.out, self.axis = e, axis
        return e

    def backward(self, grad: Any) -> Any:
        y = self.out
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """yᵢ = xᵢ - log Σⱼ e^(xⱼ) along ``axis``; dL/dx = g - softmax(x) Σ g"""

    replayable = True

    def forward(self, x: Any, axis: int = -1) -> Any:
        xp = array_module(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.out, self.axis = out, axis
        return out

    def backward(self, grad: Any) -> Any:
        softmax = array_module(grad).exp(self.out)
        return grad - softmax * grad.sum(axis=self.axis, keepdims=True)
