"""``conv_transpose2d``: the checks of a 2-d transposed convolution call, then the op
(``chainrule.ops.transpose_conv.ConvTranspose2d``)."""

from __future__ import annotations

from ...ops.transpose_conv import ConvTranspose2d
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_filters
from .windows import IntOrPair, pair, sweep

__all__ = ["conv_transpose2d"]


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1) -> Tensor:
    """2-d transposed convolution (PyTorch's ``conv_transpose2d``, its argument order): the
    adjoint of ``conv2d`` with the same weight, stride, padding and dilation, used to
    upsample (a "deconvolution").

    ``y[n, o, y·sh + i·dh - ph, x·sw + j·dw - pw] += Σ_c x[n, c, y, x] · W[c, o, i, j]`` (``c``
    over the input channels of ``o``'s group), plus ``b[o]``.

    Args:
        x: input batch (N, C, H, W).
        weight: filters (C, O / groups, kh, kw) (PyTorch's layout: input channels first).
        bias: optional (O,).
        stride, padding, dilation: an int or an (h, w) pair.
        output_padding: extra rows and columns at the bottom and right of the output (an int
            or a pair, each smaller than the stride): picks among the input sizes that a
            strided ``conv2d`` maps to the same output size.
        groups: split the channels into this many independent convolutions.

    Shape:
        - x: (N, C, H, W); output: (N, O, OH, OW) with
          ``OH = (H - 1)·sh - 2·ph + dh·(kh - 1) + oph + 1`` (and likewise OW).

    Raises:
        ValueError: naming the shapes when the channels do not match the weight, or an
            argument is out of range.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.ones((1, 2, 3, 3), dtype=np.float32))
        >>> w = cr.tensor(np.ones((2, 4, 3, 3), dtype=np.float32))
        >>> cr.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape
        (1, 4, 6, 6)
    """
    where = "conv_transpose2d"
    out_channels = require_filters(where, x, weight, bias, groups, "H, W", transposed=True)
    kh, kw = weight.shape[2:]
    stride = pair(where, stride, "stride", 1)
    dilation = pair(where, dilation, "dilation", 1)
    ph, pw = pair(where, padding, "padding", 0)
    extra = pair(where, output_padding, "output_padding", 0)
    if any(e >= s for e, s in zip(extra, stride)):
        raise ArgumentValueError(where, f"output_padding {extra} must be smaller than the "
                                        f"stride {stride}")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in zip(
        x.shape[2:], stride, (ph, pw), dilation, (kh, kw), extra))
    if min(size) < 1:
        raise ArgumentValueError(where, f"padding ({ph}, {pw}) leaves an empty output {size} "
                                        f"for input {x.shape} and kernel ({kh}, {kw})")
    shape = (x.shape[0], out_channels, *size)
    windows = sweep(where, shape, (kh, kw), stride, ((ph, ph), (pw, pw)), dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, windows=windows, groups=int(groups), shape=shape)
