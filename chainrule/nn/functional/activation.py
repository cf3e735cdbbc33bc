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
from ...ops import gated
from ...tensor import Tensor
from ._checks import ArgumentValueError, not_a_tensor, require_one_of

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
           "log_softmax", "hardtanh", "relu6", "hardswish", "silu", "mish", "softsign", "celu",
           "selu"]


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


# The activations of issue 13: fused ops for the self-gated ones (``ops.gated``), the others
# composed from existing primitives (clip, ELU, abs and division), which are as fast.
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # Klambauer et al. (2017)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``min(max(x, min_val), max_val)``.

    The gradient is 1 on ``[min_val, max_val]``, bounds included (``clip``'s convention;
    PyTorch's ``hardtanh`` gives 0 at the bounds themselves).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.hardtanh(cr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1. ,  0.5,  1. ])
    """
    if not isinstance(x, Tensor):
        raise not_a_tensor("hardtanh", x)
    if not min_val < max_val:
        raise ArgumentValueError("hardtanh", f"min_val must be below max_val, got {min_val} "
                                             f"and {max_val}")
    return x.clip(min_val, max_val)


def relu6(x: Tensor) -> Tensor:
    """``min(max(x, 0), 6)`` (``hardtanh(x, 0, 6)``)."""
    return hardtanh(x, 0.0, 6.0)


def hardswish(x: Tensor) -> Tensor:
    """``x · relu6(x + 3) / 6`` (MobileNetV3), one fused op."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("hardswish", x)
    return gated.Hardswish.apply(x)


def silu(x: Tensor) -> Tensor:
    """``x σ(x)`` (SiLU, swish), one fused op.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.silu(cr.tensor([0.0, 1.0]))
        tensor([0.       , 0.7310586])
    """
    if not isinstance(x, Tensor):
        raise not_a_tensor("silu", x)
    return gated.SiLU.apply(x)


def mish(x: Tensor) -> Tensor:
    """``x tanh(softplus(x))`` (Misra, 2019), one fused op."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("mish", x)
    return gated.Mish.apply(x)


def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("softsign", x)
    return x / (abs(x) + 1)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, α (e^(x/α) - 1))``, which is ``α · elu(x / α)``."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("celu", x)
    if alpha == 0:
        raise ArgumentValueError("celu", "alpha must not be 0")
    if alpha == 1:
        return ops.ELU.apply(x, alpha=1.0)
    return ops.ELU.apply(x / alpha, alpha=1.0) * alpha


def selu(x: Tensor) -> Tensor:
    """``scale · elu(x, α)`` with the self-normalising constants α ≈ 1.6733, scale ≈ 1.0507."""
    if not isinstance(x, Tensor):
        raise not_a_tensor("selu", x)
    return ops.ELU.apply(x, alpha=SELU_ALPHA) * SELU_SCALE
