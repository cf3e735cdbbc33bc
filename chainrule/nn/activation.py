"""Activation modules over the functions in ``cr.nn.functional``, and ``get_activation``,
the one lookup from a name such as ``"relu"`` to a module.

Every activation here is element-wise except ``Softmax``/``LogSoftmax``, which normalise along
``axis``.

Shape:
    - Input: any shape ``(*)``; output: the same shape.
"""

from __future__ import annotations

from typing import Any

from ..ops.activation import GELU_APPROXIMATIONS
from ..tensor import Tensor
from . import functional as F
from .functional._checks import require_one_of
from .linear import Identity
from .module import Module, module_from_name

__all__ = [
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "get_activation",
]


class Sigmoid(Module):
    """``σ(x) = 1 / (1 + e⁻ˣ)``, element-wise; ``σ'(x) = σ(x)(1 - σ(x))``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x) = (eˣ - e⁻ˣ) / (eˣ + e⁻ˣ)``, element-wise; ``tanh'(x) = 1 - tanh²(x)``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class ReLU(Module):
    """``max(x, 0)``, element-wise (gradient 0 at x = 0, as PyTorch).

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReLU()(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """``x`` for x > 0, else ``negative_slope · x``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for x > 0, else ``alpha · (eˣ - 1)``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x Φ(x)`` with Φ the standard normal CDF, element-wise; ``approximate='tanh'`` uses
    ``Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715 x³)))``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        require_one_of(type(self).__name__, "approximate", approximate, GELU_APPROXIMATIONS)
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``ln(1 + e^(βx)) / β``, element-wise: a smooth ReLU; the derivative is ``σ(βx)``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class Softmax(Module):
    """``yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ)`` along ``axis`` (shifted by the max, so it never overflows).

    For classification train on logits with ``CrossEntropyLoss``, which fuses this softmax with
    the log for stability; use ``Softmax`` to read probabilities.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """``yᵢ = xᵢ - log Σⱼ e^(xⱼ)`` along ``axis``; pairs with ``NLLLoss``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)


_ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
    "gelu": GELU, "softplus": Softplus, "softmax": Softmax, "log_softmax": LogSoftmax,
    "identity": Identity, "linear": Identity,  # "linear": Keras's name for no activation
}


def get_activation(name: str | Module | type[Module] | None, **kwargs: Any) -> Module:
    """The activation module for ``name``: the one lookup behind ``activation="relu"`` options.

    Args:
        name: a name ("relu", "leaky_relu", "log_softmax"; "identity", "linear" or None for
            none) or a class name ("LeakyReLU"), case, "-" and "_" ignored; a module
            (returned as is) or a module class (instantiated).
        kwargs: constructor arguments, e.g. ``negative_slope=0.2``.

    Raises:
        ValueError: for an unknown name, listing the known ones.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.get_activation("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
    """
    return module_from_name("activation", "identity" if name is None else name, _ACTIVATIONS,
                            kwargs)
