"""The windows of a convolution or pooling sweep as recorded ops on a tensor: the composite
forms that ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` differentiate under ``create_graph``
(their fast rules read patch copies and window maxima kept as arrays).

Padding is ``Pad`` (the input placed inside ``fill``; its adjoint crops with an ``Index``) and
the patch gather one ``Index`` with broadcast row and column indices; both are linear, so
every derivative of the composites is recorded too. Slow (one patch copy per call), so only for
double backward.
"""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ..backend.windows import Windows
from .indexing import Pad

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
    xp = array_module(x.data)
    (top, bottom), (left, right) = windows.padding
    if top or bottom or left or right:
        x = Pad.apply(x, pad_width=((0, 0), (0, 0), (top, bottom), (left, right)), value=fill)
    (kh, kw), (sh, sw), (dh, dw) = windows.kernel, windows.stride, windows.dilation
    oh, ow = windows.out
    rows = (xp.arange(oh) * sh)[:, None, None, None] + (xp.arange(kh) * dh)[None, None, :, None]
    cols = (xp.arange(ow) * sw)[None, :, None, None] + (xp.arange(kw) * dw)[None, None, None, :]
    return x[:, :, rows, cols]
