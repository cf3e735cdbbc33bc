"""``Dropout2d``: zeroes whole channels during training (spatial dropout)."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .dropout import Dropout

__all__ = ["Dropout2d"]


class Dropout2d(Dropout):
    """In training, zeroes each channel of each sample with probability ``p`` and scales the
    kept ones by ``1 / (1 - p)``: ``y[n, c] = x[n, c] · m[n, c] / (1 - p)``,
    ``m[n, c] ~ Bernoulli(1 - p)``; in eval mode ``y = x`` (PyTorch's ``Dropout2d``;
    ``nn.functional.dropout2d``).

    Args:
        p: probability of zeroing a channel, in [0, 1].
        generator: ``numpy.random.Generator`` or int seed for the masks; None draws from the
            global generator (``cr.manual_seed``). Not part of the saved configuration.

    Shape:
        - Input: ``(N, C, H, W)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.Dropout2d(0.5).eval()(cr.tensor(np.ones((1, 2, 2, 2)))).shape
        (1, 2, 2, 2)
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training, self.generator)
