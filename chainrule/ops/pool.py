"""2-d max and average pooling on NCHW batches, and adaptive average pooling built from them.

Window maxima and sums run as two strided 1-d passes; see ``chainrule.backend.pooling``.
Arguments are checked by ``chainrule.nn.functional`` (``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d``).
"""

from __future__ import annotations

from ..backend import array_module
from ..backend import pooling as kernels
from ..backend.windows import Windows
from ..backend.workspace import empty
from ..tensor import Function, Tensor

__all__ = ["AvgPool2d", "MaxPool2d", "adaptive_avg_pool2d", "averaging_matrix"]


class MaxPool2d(Function):
    """y[n, c, y, x] = max over the window of x̃[n, c, y·sh + i·dh, x·sw + j·dw]  (x̃: x padded
    with -∞); dL/dx = G routed to the element that gave each maximum

    Parameter: ``windows`` (a ``backend.windows.Windows``).

    # NOTE: when several elements of a window tie for the maximum, the first one in row-major
    # window order gets the whole gradient, as in PyTorch.
    """

    def forward(self, x, windows):
        self.windows = windows
        y, self.picks = kernels.window_max(x, windows)
        return y

    def backward(self, grad):
        return kernels.max_grad(grad, self.windows, self.picks)


class AvgPool2d(Function):
    """y[n, c, y, x] = (1/m) Σ over the window of x̃[n, c, y·sh + i, x·sw + j]  (x̃: x padded
    with 0; m = kh·kw, or the number of unpadded elements in the window when padding is not
    counted); dL/dx̃ = G / m spread over each window

    Parameters: ``windows`` (a ``backend.windows.Windows``) and ``count_include_pad``.
    """

    def forward(self, x, windows, count_include_pad=True):
        xp = array_module(x)
        self.windows, self.shape = windows, x.shape
        divisor = windows.kernel[0] * windows.kernel[1]
        if not count_include_pad and any(p for pair in windows.padding for p in pair):
            ones = xp.ones((1, 1) + x.shape[2:], dtype=x.dtype)
            divisor = kernels.window_sum(ones, windows)  # the real elements of each window
        self.divisor = divisor
        sums = kernels.window_sum(x, windows)
        return xp.divide(sums, divisor, out=empty(xp, sums.shape, sums.dtype))

    def backward(self, grad):
        return kernels.sum_grad(grad / self.divisor, self.windows, self.shape)


def adaptive_avg_pool2d(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Mean over ``size`` = (OH, OW) windows that split the input as evenly as possible: output
    cell ``y`` averages input rows ``⌊y·H/OH⌋ … ⌈(y+1)·H/OH⌉ - 1`` (likewise columns).

    1x1 (global average pooling) is one mean; sizes that divide the input are ``AvgPool2d``;
    others are two products with averaging matrices, ``A_h x A_wᵀ``.
    """
    height, width = x.shape[2:]
    if size == (1, 1):
        return x.mean(axis=(2, 3), keepdims=True)
    if height % size[0] == 0 and width % size[1] == 0:
        kernel = (height // size[0], width // size[1])
        windows = Windows.over((height, width), kernel, kernel, ((0, 0), (0, 0)), (1, 1))
        return AvgPool2d.apply(x, windows=windows)
    xp = array_module(x.data)
    rows, cols = (Tensor(averaging_matrix(xp, n, s, x.dtype))
                  for s, n in zip(size, (height, width)))
    return rows @ x @ cols.T


def averaging_matrix(xp, n: int, size: int, dtype):
    """(size, n) matrix whose row ``k`` averages inputs ``⌊k·n/size⌋ … ⌈(k+1)·n/size⌉ - 1``."""
    k = xp.arange(size)
    start, stop = (k * n) // size, -((-(k + 1) * n) // size)
    positions = xp.arange(n)
    inside = (positions >= start[:, None]) & (positions < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(dtype)
