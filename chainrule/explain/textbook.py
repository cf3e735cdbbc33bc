"""The worked textbook example: a 2-2-1 sigmoid network learning XOR.

``J = 1/(2m) Σ (h − y)²`` over the four XOR points, weights drawn from a seeded generator, so
every number ``chainrule explain`` prints can be reproduced by hand.
"""

from __future__ import annotations

import numpy as np

from ..nn import Linear, MSELoss, Sequential, Sigmoid

__all__ = ["XOR_INPUTS", "XOR_TARGETS", "xor_example"]

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


def xor_example(seed: int = 0) -> tuple[Sequential, np.ndarray, np.ndarray, MSELoss]:
    """The network ``a[1] = σ(W[1] a[0] + b[1])``, ``h = a[2] = σ(W[2] a[1] + b[2])`` with
    ``W[1]`` 2×2 and ``W[2]`` 1×2 (PyTorch's default initialisation from ``seed``), the XOR
    data and the loss ``J = 1/(2m) Σ (h − y)²``.

    Returns:
        ``(model, x, y, loss)``; ``x`` and ``y`` are fresh float32 arrays.

    **Shape**: x ``(4, 2)``, y ``(4, 1)``, model output ``(4, 1)``.

    Example:
        >>> from chainrule.explain.textbook import xor_example
        >>> model, x, y, loss = xor_example()
        >>> [p.shape for p in model.parameters()]
        [(2, 2), (2,), (1, 2), (1,)]
    """
    generator = np.random.default_rng(seed)
    model = Sequential(Linear(2, 2, generator=generator), Sigmoid(),
                       Linear(2, 1, generator=generator), Sigmoid())
    return model, XOR_INPUTS.copy(), XOR_TARGETS.copy(), MSELoss(half=True)
