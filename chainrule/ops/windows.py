"""The windows of a convolution or pooling sweep as recorded ops on a tensor: the composite
forms that ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` differentiate under ``create_graph``
(their fast rules read patch copies and window maxima kept as arrays).

Padding is ``IndexAdjoint`` (the input placed inside zeros) and the patch gather one ``Index``
with broadcast row and column indices; both are linear, each the other's adjoint, so every
derivative of the composites is recorded too. Slow (one patch copy per call), so only for
double backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend.windows import Windows
from .shape import IndexAdjoint

__all__ = ["window_patches"]


def window_patches(x: Any, windows: Windows, fill: float = 0.0) -> Any:
    """P[n, c, y, x', i, j] = x̃[n, c, y·sh + i·dh, x'·sw + j·dw] for an NCHW tensor ``x``, x̃
    being ``x`` padded with ``fill``: shape (N, C, out_h, out_w, kh, kw).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.backend.windows import Windows
        >>> x = cr.tensor([[[[1.0, 2.0, 3.0]]]], requires_grad=True)
        >>> window_patches(x, Windows.over((1, 3), (1, 2), (1, 1), ((0, 0), (0, 1)), (1, 1)),
        ...                fill=-1.0).reshape(3, 2)
        tensor([[ 1.,  2.],
               [ 2.,  3.],
               [ 3., -1.]], grad_fn=<ReshapeBackward>)
    """
    n, c, h, w = x.shape
    (top, bottom), (left, right) = windows.padding
    if top or bottom or left or right:
        inner = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
        x = IndexAdjoint.apply(x, shape=(n, c, h + top + bottom, w + left + right), index=inner)
        if fill:
            border = np.full(x.shape[2:], fill, dtype=x.dtype)
            border[inner[2:]] = 0
            x = x + border
    (kh, kw), (sh, sw), (dh, dw) = windows.kernel, windows.stride, windows.dilation
    oh, ow = windows.out
    rows = (np.arange(oh) * sh)[:, None, None, None] + (np.arange(kh) * dh)[None, None, :, None]
    cols = (np.arange(ow) * sw)[None, :, None, None] + (np.arange(kw) * dw)[None, None, None, :]
    return x[:, :, rows, cols]
