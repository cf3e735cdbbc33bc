"""Where a non-finite training loss came from, for ``fit``'s one warning about it.

A NaN or infinite loss silently turns every weight NaN (its gradient is NaN), so ``fit`` warns
at the first one and says where to look: the batch's inputs or targets, or else the forward
pass (weights diverged by a too-large learning rate, or an overflow such as ``exp`` of a large
value), where ``chainrule.explain.GradientMonitor`` traces a NaN to the layer that made it.
The check runs after the step, so it reads only the batch: the weights were just updated with
the non-finite gradient and say nothing about the cause.

Example:
    >>> import numpy as np, chainrule as cr
    >>> model = cr.nn.Linear(2, 1)
    >>> x = cr.tensor(np.array([[np.nan, 1.0]], np.float32))
    >>> nonfinite_origin(model, x, cr.tensor(np.zeros((1, 1), np.float32)))
    'the inputs x of the batch hold 1 non-finite value(s) of 2'
"""

from __future__ import annotations

import warnings

import numpy as np

from ..backend import array_module
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["NonFiniteLoss", "nonfinite_origin"]


class NonFiniteLoss:
    """One run's warning: the first non-finite loss is reported with its origin, later ones
    are not (they follow from the first)."""

    def __init__(self, model: Module):
        self.model, self.epoch, self.warned = model, 0, False

    def warn(self, loss: float, batch: int, x: Tensor, y: Tensor) -> None:
        if self.warned:
            return
        self.warned = True
        warnings.warn(f"fit: the training loss is {loss} in batch {batch + 1} of epoch "
                      f"{self.epoch + 1}; {nonfinite_origin(self.model, x, y)}. Training goes "
                      "on (the TerminateOnNaN callback stops it)", RuntimeWarning, stacklevel=4)


def _bad(array: np.ndarray) -> int:
    """How many values of a numeric array are NaN or infinite (0 for integer arrays)."""
    if array.dtype.kind not in "fc":
        return 0
    return int(array.size - array_module(array).isfinite(array).sum())


def nonfinite_origin(model: Module, x: Tensor, y: Tensor) -> str:
    """One sentence naming the first place a non-finite loss can come from."""
    for name, value in (("inputs x", x), ("targets y", y)):
        bad = _bad(value.data)
        if bad:
            return f"the {name} of the batch hold {bad} non-finite value(s) of {value.size}"
    return (f"the batch is finite, so the forward pass of {type(model).__name__} made it (an "
            "overflow, or weights diverging: a learning rate too large?); "
            "chainrule.explain.GradientMonitor finds the layer where the first NaN appears")
