"""Activation functions ``g(z)`` on tensors (``F.relu``, ``F.softmax``, …): a check that the
input is a tensor (one ``isinstance``: these run once per layer and step), then the op from
``chainrule.ops.activation``, whose docstring holds the derivative.

Every function here is element-wise except ``softmax``/``log_softmax``, which normalise along
``axis``.

Shape:
    x: any shape ``(*)``; output: the same shape.

Example:
    >>> import chainrule as cr
    >>> F = cr.nn.functional
    >>> F.relu(cr.tensor([-1.0, 2.0])), F.leaky_relu(cr.tensor([-1.0, 2.0]), 0.1)
    (tensor([0., 2.]), tensor([-0.1,  2. ]))
"""

from __future__ import annotations

from ...ops import activation as ops
from ...tensor import Tensor
from ._checks import not_a_tensor, require_one_of

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
           "log_softmax"]


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``; the gradient at 0 is 0."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("relu", x)
    return ops.ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """``σ(x) = 1 / (1 + e⁻ˣ)``, stable for any x."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("sigmoid", x)
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """``tanh(x)``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("tanh", x)
    return ops.Tanh.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` for x > 0, else ``negative_slope · x``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("leaky_relu", x)
    return ops.LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` for x > 0, else ``alpha · (eˣ - 1)``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("elu", x)
    return ops.ELU.apply(x, alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU ``x Φ(x)``; ``approximate='tanh'`` for the tanh approximation of Φ."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("gelu", x)
    require_one_of("gelu", "approximate", approximate, ops.GELU_APPROXIMATIONS)
    return ops.GELU.apply(x, approximate=approximate)


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """``ln(1 + e^(βx)) / β``, a smooth ReLU."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("softplus", x)
    return ops.Softplus.apply(x, beta=beta)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``e^(xᵢ) / Σⱼ e^(xⱼ)`` along ``axis``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("softmax", x)
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``xᵢ - log Σⱼ e^(xⱼ)`` along ``axis``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("log_softmax", x)
    return ops.LogSoftmax.apply(x, axis=axis)
