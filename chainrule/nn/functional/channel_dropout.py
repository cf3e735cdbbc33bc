"""``dropout2d``: dropout of whole channels (spatial dropout)."""

from __future__ import annotations

import numpy as np

from ...backend import array_module
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor
from .dropout import dropout

__all__ = ["dropout2d"]


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True,
              generator: np.random.Generator | int | None = None) -> Tensor:
    """Channel-wise inverted dropout: ``y[n, c] = x[n, c] · m[n, c] / (1 - p)`` with one
    ``m[n, c] ~ Bernoulli(1 - p)`` per sample and channel, in training; ``y = x`` otherwise.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    (``dropout``) barely regularises a convolutional layer; dropping whole maps does.

    Shape:
        - x: ``(N, C, H, W)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.ones((4, 6, 3, 3)))
        >>> y = cr.nn.functional.dropout2d(x, 0.5, generator=0).data
        >>> sorted(set(np.unique(y[:, :, 0, 0]).tolist())), bool((y == y[:, :, :1, :1]).all())
        ([0.0, 2.0], True)
    """
    where = "dropout2d"
    require_tensor(where, x)
    if x.ndim != 4:
        raise ArgumentValueError(where, f"expected input of shape (N, C, H, W), got {x.shape}")
    if not 0 <= p <= 1:
        raise ArgumentValueError(where, f"p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    require_float(where, x)
    # One mask value per (sample, channel), broadcast over the feature map.
    ones = array_module(x.data).ones(x.shape[:2] + (1, 1), dtype=x.dtype)
    return x * dropout(Tensor(ones), p, training, generator)
