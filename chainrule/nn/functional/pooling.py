"""Pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d`` check their arguments,
then run the ops of ``chainrule.ops.pool``."""

from __future__ import annotations

from collections.abc import Sequence

from ...backend import array_module
from ...backend.windows import Windows
from ...ops import pool
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor
from .windows import IntOrPair, pair, sweep

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"]


def _images(where: str, x: Tensor) -> None:
    """``x`` must be a floating-point (N, C, H, W) tensor."""
    require_tensor(where, x)
    if x.ndim != 4:
        raise ArgumentValueError(where, f"expected input of shape (N, C, H, W), got {x.shape}")
    require_float(where, x)


def _pool_windows(where: str, x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None,
                  padding: IntOrPair, dilation: IntOrPair = 1) -> Windows:
    """The checked windows of a pooling call (PyTorch's rules: padding at most half the
    kernel, so every window holds at least one real element)."""
    _images(where, x)
    kernel = pair(where, kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else pair(where, stride, "stride", 1)
    pad = pair(where, padding, "padding", 0)
    dilation = pair(where, dilation, "dilation", 1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ArgumentValueError(where, f"padding {pad} must be at most half the kernel {kernel}")
    return sweep(where, x.shape, kernel, stride, tuple((p, p) for p in pad), dilation)


def max_pool2d(x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1) -> Tensor:
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
        >>> x = cr.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
        >>> cr.nn.functional.max_pool2d(x, 2).data[0, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    windows = _pool_windows("max_pool2d", x, kernel_size, stride, padding, dilation)
    return pool.MaxPool2d.apply(x, windows=windows)


def avg_pool2d(x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, count_include_pad: bool = True) -> Tensor:
    """Mean over each ``kernel_size`` window (PyTorch's ``avg_pool2d``, floor mode).

    ``y[n, c, y, x] = (1/m) Σ_ij x̃[n, c, y·sh + i, x·sw + j]`` with ``x̃`` zero-padded and
    ``m = kh·kw`` (``count_include_pad``) or the number of unpadded elements in the window.

    Shape:
        - x: (N, C, H, W); output: (N, C, OH, OW), ``OH = ⌊(H + 2·ph - kh) / sh⌋ + 1``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
        >>> cr.nn.functional.avg_pool2d(x, 2).data[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """
    windows = _pool_windows("avg_pool2d", x, kernel_size, stride, padding)
    return pool.AvgPool2d.apply(x, windows=windows, count_include_pad=count_include_pad)


def adaptive_avg_pool2d(x: Tensor, output_size: int | None | Sequence[int | None]) -> Tensor:
    """Mean over ``output_size`` windows that split the input as evenly as possible
    (PyTorch's ``adaptive_avg_pool2d``): output cell ``y`` averages input rows
    ``⌊y·H/OH⌋ … ⌈(y+1)·H/OH⌉ - 1`` (and likewise for columns).

    ``output_size`` is an int, or an (OH, OW) pair where None keeps that input size.

    Shape:
        - x: (N, C, H, W); output: (N, C, OH, OW).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.functional.adaptive_avg_pool2d(cr.tensor(np.ones((2, 3, 5, 7))), 1).shape
        (2, 3, 1, 1)
    """
    where = "adaptive_avg_pool2d"
    _images(where, x)
    size = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    size = tuple(n if s is None else s for s, n in zip(size, x.shape[2:]))
    return _adaptive_average(x, pair(where, size, "output_size", 1))


def _adaptive_average(x: Tensor, size: tuple[int, int]) -> Tensor:
    """1x1 (global average pooling) is one mean; sizes that divide the input are ``AvgPool2d``;
    others are two products with averaging matrices, ``A_h x A_wᵀ``."""
    height, width = x.shape[2:]
    if size == (1, 1):
        return x.mean(axis=(2, 3), keepdims=True)
    if height % size[0] == 0 and width % size[1] == 0:
        kernel = (height // size[0], width // size[1])
        windows = Windows.over((height, width), kernel, kernel, ((0, 0), (0, 0)), (1, 1))
        return pool.AvgPool2d.apply(x, windows=windows)
    xp = array_module(x.data)
    rows, cols = (Tensor(pool.averaging_matrix(xp, n, s, x.dtype))
                  for s, n in zip(size, (height, width)))
    return rows @ x @ cols.T
