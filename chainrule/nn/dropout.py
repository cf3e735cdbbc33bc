"""``Dropout``: randomly zeroes inputs during training (inverted dropout)."""

from __future__ import annotations

import numpy as np

from ..random import resolve
from ..tensor import Tensor
from . import functional as F
from .functional._checks import require_probability
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training, ``y = x ⊙ m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` drawn per element and
    per call; in eval mode ``y = x``.

    Scaling the kept inputs by ``1 / (1 - p)`` keeps each output's expected value equal to its
    input, so evaluation needs no rescaling.

    Args:
        p: probability of zeroing an element, in [0, 1].
        generator: ``numpy.random.Generator`` or int seed for the masks; None draws from the
            global generator (``cr.manual_seed``) at each call. Not part of the saved
            configuration.

    Shape:
        - Input: any shape ``(*)``; output: the same shape.

    Example:
        >>> import chainrule as cr
        >>> drop = cr.nn.Dropout(0.5).eval()
        >>> drop(cr.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | int | None = None):
        super().__init__()
        require_probability(type(self).__name__, "p", p)
        self.p = p
        # An int seed becomes one generator now, so successive calls draw different masks.
        self.generator = None if generator is None else resolve(generator)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
