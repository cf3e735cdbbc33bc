"""``Dropout2d``: zeroes whole channels during training (spatial dropout)."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .dropout import Dropout

__all__ = ["Dropout2d", "dropout2d"]


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Channel-wise inverted dropout: ``y[n, c] = x[n, c] · m[n, c] / (1 - p)`` with one
    ``m[n, c] ~ Bernoulli(1 - p)`` per sample and channel, in training; ``y = x`` otherwise.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    (``dropout``) barely regularises a convolutional layer; dropping whole maps does.

    Shape:
        - x: ``(N, C, H, W)`` (or any ``(N, C, *)``); output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> y = dropout2d(cr.tensor(np.ones((4, 6, 3, 3))), 0.5, generator=0).data
        >>> sorted(set(np.unique(y[:, :, 0, 0]).tolist())), bool((y == y[:, :, :1, :1]).all())
        ([0.0, 2.0], True)
    """
    if x.ndim < 2:
        raise ValueError(f"dropout2d: expected input of shape (N, C, ...), got {x.shape}")
    if not training or p == 0:
        return F.dropout(x, p, training, generator)  # checks p, returns x
    # One mask value per (sample, channel), broadcast over the feature map.
    mask = F.dropout(Tensor(np.ones(x.shape[:2] + (1,) * (x.ndim - 2), dtype=x.dtype)), p,
                     training, generator)
    return x * mask


class Dropout2d(Dropout):
    """In training, zeroes each channel of each sample with probability ``p`` and scales the
    kept ones by ``1 / (1 - p)``: ``y[n, c] = x[n, c] · m[n, c] / (1 - p)``,
    ``m[n, c] ~ Bernoulli(1 - p)``; in eval mode ``y = x`` (PyTorch's ``Dropout2d``).

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
        if x.ndim != 4:
            raise ValueError(f"{self!r}: expected input of shape (N, C, H, W), got {x.shape}")
        return dropout2d(x, self.p, self.training, self.generator)
