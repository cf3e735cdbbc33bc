"""2-d max and average pooling on NCHW batches, as two 1-d passes (columns, then rows).

A 2-d window's max (or sum) is the max (or sum) over its rows of the per-row maxima (sums), so
each pass loops over one axis' kernel offsets, comparing or adding whole strided views (no
Python loop over pixels, samples or channels, no patch copy): ``kh + kw`` passes instead of
``kh·kw``. Reducing the columns first makes the max pick the first maximum in row-major window
order, as PyTorch does. Measured on LeNet's first pooling (64x8x24x24, 2x2), this takes 0.3 ms
where a reshape to ``(…, 12, 2, 12, 2)`` and ``max`` over the two window axes takes 2 ms (NumPy
reduces short strided axes slowly), so windows that tile the input get no special path beyond
skipping the zero-fill in backward.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor
from .conv import _crop, _empty, _Geometry, _geometry, _pad, _pair, _zeros

__all__ = ["AvgPool2d", "MaxPool2d", "adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"]

_AXES = (2, 3)  # the spatial axes of NCHW


def _along(axis: int, part: slice) -> tuple:
    """An index selecting ``part`` of NCHW ``axis`` (2 or 3)."""
    return (slice(None),) * axis + (part,)


def _scatter(grad, geo: _Geometry, axis: int, shape: tuple, select=None):
    """The adjoint of reading the window slices along spatial ``axis`` (0: rows, 1: columns):
    adds ``grad`` (times ``select(i)`` for offset ``i``, when given) into an array of ``shape``
    at each offset's slice.

    Windows that do not overlap are assigned rather than added (no temporary per offset), and
    windows that tile the axis exactly (e.g. 2x2, stride 2) also skip the zero-filling."""
    xp = array_module(grad)
    k, s, d, n = geo.kernel[axis], geo.stride[axis], geo.dilation[axis], geo.out[axis]
    overlapping = k > 1 and n > 1 and s <= d * (k - 1)
    tiling = (k == 1 or d == 1) and s == k and shape[2 + axis] == n * k
    out = (_empty if tiling else _zeros)(xp, shape, grad.dtype)
    for i, part in enumerate(geo.slices(axis)):
        index = _along(2 + axis, part)
        if overlapping:
            out[index] += grad if select is None else grad * select(i)
        elif select is None:
            out[index] = grad
        else:
            xp.multiply(grad, select(i), out=out[index])
    return out


class MaxPool2d(Function):
    """y[n, c, y, x] = max over the window of x̃[n, c, y·sh + i·dh, x·sw + j·dw]  (x̃: x padded
    with -∞); dL/dx = G routed to the element that gave each maximum

    # NOTE: when several elements of a window tie for the maximum, the first one in row-major
    # window order gets the whole gradient, as in PyTorch.
    """

    def forward(self, x, geometry):
        xp = array_module(x)
        self.geo = geometry
        padded = _pad(x, geometry.padding, _AXES, value=-xp.inf)
        columns, self.column_pick = self._max(padded, 3, geometry.slices(1))
        rows, self.row_pick = self._max(columns, 2, geometry.slices(0))
        self.shapes = padded.shape, columns.shape
        if self.row_pick is None and self.column_pick is None:
            rows = rows.copy()  # a 1x1 window is a view of x; the output must own its memory
        return rows

    @staticmethod
    def _max(x, axis: int, slices):
        """Running maximum over the offsets and which offset won (bool for two, uint8 for
        more; later offsets win only when strictly larger, so ties keep the first)."""
        xp = array_module(x)
        best, pick = x[_along(axis, slices[0])], None
        for i, part in enumerate(slices[1:], 1):
            candidate = x[_along(axis, part)]
            larger = candidate > best
            # The first maximum is written to new memory (best is still a view of x), the
            # later ones over it.
            best = xp.maximum(best, candidate, out=_empty(xp, best.shape, best.dtype)
                              if i == 1 else best)
            pick = larger if pick is None else xp.where(larger, xp.uint8(i), pick)
        return best, pick

    @staticmethod
    def _selector(pick):
        if pick is None:
            return None
        if pick.dtype == bool:
            return lambda i: pick if i else ~pick
        return lambda i: pick == i

    def backward(self, grad):
        geo = self.geo
        padded_shape, columns_shape = self.shapes
        g = _scatter(grad, geo, 0, columns_shape, self._selector(self.row_pick))
        g = _scatter(g, geo, 1, padded_shape, self._selector(self.column_pick))
        return _crop(g, geo.padding, _AXES)


def _window_sums(x, geo: _Geometry):
    """Σ over each window of the zero-padded ``x``, and the shapes the backward pass needs
    (padded input, column sums)."""
    padded = _pad(x, geo.padding, _AXES)
    columns = _sum_slices(padded, 3, geo.slices(1))
    return _sum_slices(columns, 2, geo.slices(0)), (padded.shape, columns.shape)


def _sum_slices(x, axis: int, slices):
    """Σ of ``x``'s slices along ``axis`` (a view of ``x`` for a single slice)."""
    total = x[_along(axis, slices[0])]
    if len(slices) > 1:
        xp = array_module(x)
        total = xp.add(total, x[_along(axis, slices[1])],
                       out=_empty(xp, total.shape, total.dtype))
        for part in slices[2:]:
            total += x[_along(axis, part)]
    return total


class AvgPool2d(Function):
    """y[n, c, y, x] = (1/m) Σ over the window of x̃[n, c, y·sh + i, x·sw + j]  (x̃: x padded
    with 0; m = kh·kw, or the number of unpadded elements when padding is not counted);
    dL/dx̃ = G / m spread over each window"""

    def forward(self, x, geometry, divisor):
        self.geo, self.divisor = geometry, divisor
        sums, self.shapes = _window_sums(x, geometry)
        xp = array_module(sums)
        return xp.divide(sums, divisor, out=_empty(xp, sums.shape, sums.dtype))

    def backward(self, grad):
        geo = self.geo
        padded_shape, columns_shape = self.shapes
        g = _scatter(grad / self.divisor, geo, 0, columns_shape)
        g = _scatter(g, geo, 1, padded_shape)
        return _crop(g, geo.padding, _AXES)


def _pool_geometry(caller: str, x: Tensor, kernel_size, stride, padding, dilation=1):
    """Validated window sizes of a pooling call (PyTorch's rules: padding at most half the
    kernel, so every window holds at least one real element)."""
    if x.ndim != 4:
        raise ValueError(f"{caller}: expected input of shape (N, C, H, W), got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: expected floating-point input, got dtype {x.dtype}")
    kernel = _pair(kernel_size, "kernel_size", caller, 1)
    stride = kernel if stride is None else _pair(stride, "stride", caller, 1)
    pad = _pair(padding, "padding", caller, 0)
    dilation = _pair(dilation, "dilation", caller, 1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{caller}: padding {pad} must be at most half the kernel {kernel}")
    return _geometry(caller, x.shape, kernel, stride, tuple((p, p) for p in pad), dilation)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """Maximum over each ``kernel_size`` window (PyTorch's ``max_pool2d``, floor mode).

    ``y[n, c, y, x] = max_ij x̃[n, c, y·sh + i·dh, x·sw + j·dw]`` with ``x̃`` padded with -∞.

    Args:
        x: (N, C, H, W).
        kernel_size, stride, padding, dilation: an int or an (h, w) pair; ``stride`` defaults
            to ``kernel_size``; ``padding`` at most half the kernel.

    Shape:
        - x: (N, C, H, W); output: (N, C, OH, OW), ``OH = ⌊(H + 2·ph - dh·(kh - 1) - 1) / sh⌋
          + 1`` (and likewise OW).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.pool import max_pool2d
        >>> max_pool2d(cr.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)), 2).data[0, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _max_pool2d("max_pool2d", x, kernel_size, stride, padding, dilation)


def _max_pool2d(caller, x: Tensor, kernel_size, stride, padding, dilation) -> Tensor:
    geo = _pool_geometry(caller, x, kernel_size, stride, padding, dilation)
    return MaxPool2d.apply(x, geometry=geo)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each ``kernel_size`` window (PyTorch's ``avg_pool2d``, floor mode).

    ``y[n, c, y, x] = (1/m) Σ_ij x̃[n, c, y·sh + i, x·sw + j]`` with ``x̃`` zero-padded and
    ``m = kh·kw`` (``count_include_pad``) or the number of unpadded elements in the window.

    Shape:
        - x: (N, C, H, W); output: (N, C, OH, OW), ``OH = ⌊(H + 2·ph - kh) / sh⌋ + 1``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.pool import avg_pool2d
        >>> avg_pool2d(cr.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)), 2).data[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """
    return _avg_pool2d("avg_pool2d", x, kernel_size, stride, padding, count_include_pad)


def _avg_pool2d(caller, x: Tensor, kernel_size, stride, padding, count_include_pad) -> Tensor:
    geo = _pool_geometry(caller, x, kernel_size, stride, padding)
    divisor = geo.kernel[0] * geo.kernel[1]
    if not count_include_pad and any(p for pair in geo.padding for p in pair):
        ones = array_module(x.data).ones((1, 1) + x.shape[2:], dtype=x.dtype)
        divisor = _window_sums(ones, geo)[0]  # how many real elements each window holds
    return AvgPool2d.apply(x, geometry=geo, divisor=divisor)


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` windows that split the input as evenly as possible
    (PyTorch's ``adaptive_avg_pool2d``): output cell ``y`` averages input rows
    ``⌊y·H/OH⌋ … ⌈(y+1)·H/OH⌉ - 1`` (and likewise for columns).

    ``output_size`` is an int, or an (OH, OW) pair where None keeps that input size. 1 (global
    average pooling) is one mean; sizes that divide the input are ``avg_pool2d``; others are two
    products with averaging matrices ``A_h x A_wᵀ``.

    Shape:
        - x: (N, C, H, W); output: (N, C, OH, OW).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.pool import adaptive_avg_pool2d
        >>> adaptive_avg_pool2d(cr.tensor(np.ones((2, 3, 5, 7))), 1).shape
        (2, 3, 1, 1)
    """
    return _adaptive_avg_pool2d("adaptive_avg_pool2d", x, output_size)


def _adaptive_avg_pool2d(caller, x: Tensor, output_size) -> Tensor:
    if x.ndim != 4:
        raise ValueError(f"{caller}: expected input of shape (N, C, H, W), got {x.shape}")
    size = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    size = tuple(n if s is None else s for s, n in zip(size, x.shape[2:]))
    _pair(size, "output_size", caller, 1)
    if size == (1, 1):
        return x.mean(axis=(2, 3), keepdims=True)
    if all(n % s == 0 for s, n in zip(size, x.shape[2:])):
        kernel = tuple(n // s for s, n in zip(size, x.shape[2:]))
        return _avg_pool2d(caller, x, kernel, None, 0, True)
    xp = array_module(x.data)
    rows, cols = (Tensor(_averaging_matrix(xp, n, s, x.dtype)) for s, n in zip(size, x.shape[2:]))
    return rows @ x @ cols.T


def _averaging_matrix(xp, n: int, size: int, dtype):
    """(size, n) matrix whose row ``k`` averages inputs ``⌊k·n/size⌋ … ⌈(k+1)·n/size⌉ - 1``."""
    k = xp.arange(size)
    start, stop = (k * n) // size, -((-(k + 1) * n) // size)
    positions = xp.arange(n)
    inside = (positions >= start[:, None]) & (positions < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(dtype)
