"""Ops that place elements by position: constant padding, broadcasting to a shape, and
scattering values along an axis (``scatter``, ``scatter_add``). Gathering along an axis
(``take_along_axis``, ``gather``) is an ``Index`` with the index from ``along_axis``.

Backward rules use operators and indexing on the gradient with saved constants (index tuples,
masks, shapes) only, so they can be recorded again for a second derivative.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module, scatter_add
from .elementwise import unbroadcast

__all__ = ["along_axis", "Pad", "BroadcastTo", "Scatter", "ScatterAdd"]


def along_axis(indices: Any, axis: int) -> tuple[Any, ...]:
    """The integer-array index that picks ``indices`` along ``axis`` and, along every other
    axis, the position itself: ``x[along_axis(i, a)]`` is ``take_along_axis(x, i, a)`` (and
    PyTorch's ``gather(x, a, i)``, whose ``i`` may be shorter than ``x`` on other axes).

    Example:
        >>> import numpy as np
        >>> x = np.array([[10, 11, 12], [20, 21, 22]])
        >>> x[along_axis(np.array([[2], [0]]), 1)]
        array([[12],
               [20]])
    """
    xp = array_module(indices)
    ndim = indices.ndim
    return tuple(indices if a == axis else
                 xp.arange(n).reshape((1,) * a + (n,) + (1,) * (ndim - a - 1))
                 for a, n in enumerate(indices.shape))


class Pad(Function):
    """y = x with ``pad_width`` ((before, after) per axis) filled with a constant;
    dL/dx = dL/dy without the border"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any, pad_width: Any, value: float = 0.0) -> Any:
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return array_module(x).pad(x, pad_width, constant_values=value)

    def backward(self, grad: Any) -> Any:
        return grad[self.inner]


class BroadcastTo(Function):
    """y = x broadcast to ``shape`` (a read-only view, as PyTorch's ``expand``);
    dL/dx = dL/dy summed over the broadcast axes"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any, shape: Any) -> Any:
        self.shape = x.shape
        return array_module(x).broadcast_to(x, shape)

    def backward(self, grad: Any) -> Any:
        return unbroadcast(grad, self.shape)


class Scatter(Function):
    """y = x with y[index] = src (``index`` from ``along_axis``, each position written once);
    dL/dx = dL/dy where not overwritten (0 where overwritten), dL/dsrc = dL/dy[index]

    # NOTE: where ``index`` repeats a position, which source value lands there is unspecified
    # (as in PyTorch), and each of them gets that position's gradient.
    """

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any, src: Any, index: Any) -> Any:
        self.index = index
        out = x.copy()
        out[index] = src
        self.kept = array_module(x).ones(x.shape, dtype=bool)  # a constant mask
        self.kept[index] = False
        return out

    def backward(self, grad: Any) -> Any:
        needs = [p.requires_grad for p in self.parents or ()]
        gx = grad * self.kept if needs[0] else None
        gsrc = grad[self.index] if needs[1] else None
        return gx, gsrc


class ScatterAdd(Function):
    """y = x with src added at ``index`` (from ``along_axis``; repeated positions accumulate);
    dL/dx = dL/dy, dL/dsrc = dL/dy[index]"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any, src: Any, index: Any) -> Any:
        self.index = index
        out = x.copy()
        scatter_add(out, index, src)
        return out

    def backward(self, grad: Any) -> Any:
        needs = [p.requires_grad for p in self.parents or ()]
        gx = grad if needs[0] else None
        gsrc = grad[self.index] if needs[1] else None
        return gx, gsrc
