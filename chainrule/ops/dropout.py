"""Inverted dropout as one op whose forward draws its own mask, so a captured training step
(``chainrule.compile``) that replays the op draws a fresh mask from the same random stream."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import device_generator, device_of, to_device
from ..random import resolve

__all__ = ["Dropout"]


class Dropout(Function):
    """y = x ⊙ m / (1 - p) with m ~ Bernoulli(1 - p) per element; dy/dx = m / (1 - p)

    The mask is drawn in forward as ``generator.random(x.shape, float32) >= p`` (``generator``
    resolved by ``chainrule.random.resolve``: None is the global generator at call time, an int
    a new generator seeded with it; None on a GPU: that device's seeded stream) and kept,
    scaled, in ``x``'s dtype. ``0 <= p < 1``.
    """

    # The rule reads the mask, a constant (it does not depend on x): replaying it on tensors
    # (double backward) differentiates it correctly.
    replayable = True

    def forward(self, x: Any, p: float = 0.5, generator: Any = None) -> Any:
        # On a GPU the mask is drawn there, from the device's seeded stream; an explicit
        # generator (or the CPU) draws on the host, so a given generator gives the same mask on
        # any device.
        stream = None if generator is not None else device_generator(x)
        if stream is not None:
            uniform = stream.random(x.shape, dtype=np.float32)
        else:
            uniform = to_device(resolve(generator).random(x.shape, dtype=np.float32),
                                device_of(x))
        keep = uniform >= p
        self.mask = keep * x.dtype.type(1 / (1 - p))
        return x * self.mask

    def backward(self, grad: Any) -> Any:
        return grad * self.mask
