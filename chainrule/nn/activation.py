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
from .functional._checks import require_one_of, require_real
from .linear import Identity
from .module import Module, module_from_name

__all__ = [
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "Hardtanh", "ReLU6", "Hardswish", "SiLU", "Mish", "Softsign", "CELU", "SELU",
    "get_activation",
]


class Sigmoid(Module):
    """``σ(x) = 1 / (1 + e⁻ˣ)``, element-wise; ``σ'(x) = σ(x)(1 - σ(x))``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x) = (eˣ - e⁻ˣ) / (eˣ + e⁻ˣ)``, element-wise; ``tanh'(x) = 1 - tanh²(x)``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

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

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """``x`` for x > 0, else ``negative_slope · x``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        require_real("LeakyReLU", "negative_slope", negative_slope)
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

    stateless = True

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        require_real("ELU", "alpha", alpha)
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

    stateless = True

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

    stateless = True

    def __init__(self, beta: float = 1.0):
        super().__init__()
        require_real("Softplus", "beta", beta, 0.0, low_open=True)
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

    stateless = True

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


class Hardtanh(Module):
    """``min(max(x, min_val), max_val)``, element-wise (gradient 1 on the closed interval).

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardtanh(-0.5, 0.5)(cr.tensor([-1.0, 0.25, 1.0]))
        tensor([-0.5 ,  0.25,  0.5 ])
    """

    stateless = True

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__()
        require_real("Hardtanh", "min_val", min_val)
        require_real("Hardtanh", "max_val", max_val, float(min_val))
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    """``min(max(x, 0), 6)``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(x)


class Hardswish(Module):
    """``x · relu6(x + 3) / 6``, element-wise (MobileNetV3).

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


class SiLU(Module):
    """``x σ(x)`` (SiLU, swish), element-wise; ``y' = σ(x)(1 + x(1 - σ(x)))``.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Mish(Module):
    """``x tanh(softplus(x))``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x)


class Softsign(Module):
    """``x / (1 + |x|)``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class CELU(Module):
    """``max(0, x) + min(0, α(e^(x/α) - 1))``, element-wise.

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        require_real("CELU", "alpha", alpha, 0.0, low_open=True)
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """``scale · elu(x, α)``, α ≈ 1.6733 and scale ≈ 1.0507 (self-normalising networks).

    Shape:
        - Input: ``(*)``, any shape; output: the same shape.
    """

    stateless = True

    def forward(self, x: Tensor) -> Tensor:
        return F.selu(x)


_ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
    "gelu": GELU, "softplus": Softplus, "softmax": Softmax, "log_softmax": LogSoftmax,
    "hardtanh": Hardtanh, "relu6": ReLU6, "hardswish": Hardswish, "silu": SiLU, "mish": Mish,
    "softsign": Softsign, "celu": CELU, "selu": SELU,
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
