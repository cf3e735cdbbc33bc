"""2-d max and average pooling on NCHW batches, and the averaging matrices of adaptive average
pooling (which ``chainrule.nn.functional.adaptive_avg_pool2d`` builds from these ops).

Window maxima and sums run as two strided 1-d passes; see ``chainrule.backend.pooling``.
Arguments are checked by ``chainrule.nn.functional`` (``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, composite_gradients
from ..backend import array_module
from ..backend import pooling as kernels
from ..backend.workspace import empty
from .windows import window_patches

__all__ = ["AvgPool2d", "MaxPool2d", "averaging_matrix"]


class MaxPool2d(Function):
    """y[n, c, y, x] = max over the window of x̃[n, c, y·sh + i·dh, x·sw + j·dw]  (x̃: x padded
    with -∞); dL/dx = G routed to the element that gave each maximum

    Parameter: ``windows`` (a ``backend.windows.Windows``).

    # NOTE: when several elements of a window tie for the maximum, the first one in row-major
    # window order gets the whole gradient, as in PyTorch.
    """

    def forward(self, x: Any, windows: Any) -> Any:
        self.windows = windows
        y, self.picks = kernels.window_max(x, windows)
        return y

    def backward(self, grad: Any) -> Any:
        return kernels.max_grad(grad, self.windows, self.picks)

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads the picks kept as an array; the composite picks the same elements
        # (argmax: the first of tied ones) from the patches as a recorded Index.
        (x,) = self.parents or ()
        patches = window_patches(x, self.windows, fill=-np.inf)
        n, c, oh, ow, kh, kw = patches.shape
        patches = patches.reshape(n, c, oh, ow, kh * kw)
        picked = (*np.ogrid[:n, :c, :oh, :ow], patches.data.argmax(axis=-1))
        return composite_gradients(self, patches[picked], grad)


class AvgPool2d(Function):
    """y[n, c, y, x] = (1/m) Σ over the window of x̃[n, c, y·sh + i, x·sw + j]  (x̃: x padded
    with 0; m = kh·kw, or the number of unpadded elements in the window when padding is not
    counted); dL/dx̃ = G / m spread over each window

    Parameters: ``windows`` (a ``backend.windows.Windows``) and ``count_include_pad``.
    """

    def forward(self, x: Any, windows: Any, count_include_pad: bool = True) -> Any:
        xp = array_module(x)
        self.windows, self.shape = windows, x.shape
        divisor = windows.kernel[0] * windows.kernel[1]
        if not count_include_pad and any(p for pair in windows.padding for p in pair):
            ones = xp.ones((1, 1) + x.shape[2:], dtype=x.dtype)
            divisor = kernels.window_sum(ones, windows)  # the real elements of each window
        self.divisor = divisor
        sums = kernels.window_sum(x, windows)
        return xp.divide(sums, divisor, out=empty(xp, sums.shape, sums.dtype))

    def backward(self, grad: Any) -> Any:
        return kernels.sum_grad(grad / self.divisor, self.windows, self.shape)

    def backward_graph(self, grad: Any) -> Any:
        # Linear: the window sums as recorded ops (patches gathered by Index), differentiated.
        (x,) = self.parents or ()
        sums = window_patches(x, self.windows).sum(axis=(4, 5))
        return composite_gradients(self, sums / self.divisor, grad)


def averaging_matrix(xp: Any, n: int, size: int, dtype: Any) -> Any:
    """(size, n) matrix whose row ``k`` averages inputs ``⌊k·n/size⌋ … ⌈(k+1)·n/size⌉ - 1``."""
    k = xp.arange(size)
    start, stop = (k * n) // size, -((-(k + 1) * n) // size)
    positions = xp.arange(n)
    inside = (positions >= start[:, None]) & (positions < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(dtype)
