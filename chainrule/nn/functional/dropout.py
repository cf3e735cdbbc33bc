"""``dropout``: inverted dropout on any tensor."""

from __future__ import annotations

import numpy as np

from ...backend import array_module
from ...ops.dropout import Dropout
from ...tensor import Tensor
from ._checks import require_float, require_probability, require_tensor

__all__ = ["dropout"]


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | int | None = None) -> Tensor:
    """Inverted dropout: ``y = x ⊙ m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per element in
    training, ``y = x`` otherwise. The mask comes from ``generator`` (Generator or int seed) or
    the global generator, and is in ``x``'s dtype.

    Shape:
        x: any shape ``(*)``; output: the same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.dropout(cr.tensor([1.0, 2.0, 3.0, 4.0]), 0.5, generator=0)
        tensor([2., 4., 6., 0.])
    """
    require_tensor("dropout", x)
    require_probability("dropout", "p", p)
    if not training or p == 0:
        return x
    require_float("dropout", x)
    data = x.data
    if p == 1:
        return x * Tensor(array_module(data).zeros(x.shape, dtype=x.dtype))
    return Dropout.apply(x, p=p, generator=generator)
