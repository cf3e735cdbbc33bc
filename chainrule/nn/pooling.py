"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (the functions of
``nn.functional`` with the window sizes as configuration; they hold no parameters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import functional as F
from .functional.windows import IntOrPair
from .module import Module

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d"]


def _tuples(*values: Any) -> tuple[Any, ...]:
    """Pairs given as lists (as a saved architecture stores them) back to tuples, so a rebuilt
    layer equals the original."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


class MaxPool2d(Module):
    """Maximum over each window: ``y[n, c, y, x] = max_ij x̃[n, c, y·sh + i·dh, x·sw + j·dw]``
    (``x̃``: the input padded with -∞), PyTorch's ``MaxPool2d`` in floor mode.

    The gradient goes to the element that gave each maximum (the first one in row-major window
    order on ties, as in PyTorch).

    Args:
        kernel_size: an int or an (h, w) pair.
        stride: defaults to ``kernel_size`` (non-overlapping windows).
        padding: at most half the kernel.
        dilation: spacing between window elements.

    Shape:
        - Input: ``(N, C, H, W)``; output: ``(N, C, OH, OW)`` with
          ``OH = ⌊(H + 2·ph - dh·(kh - 1) - 1) / sh⌋ + 1`` (and likewise ``OW``).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.MaxPool2d(2)(cr.tensor(np.zeros((1, 8, 24, 24), dtype=np.float32))).shape
        (1, 8, 12, 12)
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = _tuples(
            kernel_size, stride, padding, dilation)

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")


class AvgPool2d(Module):
    """Mean over each window: ``y[n, c, y, x] = (1/m) Σ_ij x̃[n, c, y·sh + i, x·sw + j]``
    (``x̃``: zero-padded; ``m = kh·kw``, or the number of unpadded elements in the window when
    ``count_include_pad=False``), PyTorch's ``AvgPool2d`` in floor mode.

    Shape:
        - Input: ``(N, C, H, W)``; output: ``(N, C, OH, OW)`` with
          ``OH = ⌊(H + 2·ph - kh) / sh⌋ + 1`` (and likewise ``OW``).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.AvgPool2d(2)(cr.tensor(np.ones((1, 1, 4, 4), dtype=np.float32))).data.sum()
        np.float32(4.0)
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, count_include_pad: bool = True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = _tuples(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean over windows that split the input into ``output_size`` cells as evenly as possible:
    output row ``y`` averages input rows ``⌊y·H/OH⌋ … ⌈(y+1)·H/OH⌉ - 1`` (likewise columns).
    ``AdaptiveAvgPool2d(1)`` is global average pooling, the usual head of a CNN.

    Args:
        output_size: an int, or an (OH, OW) pair where None keeps that input size.

    Shape:
        - Input: ``(N, C, H, W)``; output: ``(N, C, OH, OW)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.AdaptiveAvgPool2d(1)(cr.tensor(np.ones((2, 16, 7, 7)))).shape
        (2, 16, 1, 1)
    """

    def __init__(self, output_size: int | None | Sequence[int | None]):
        super().__init__()
        self.output_size = _tuples(output_size)[0]

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
