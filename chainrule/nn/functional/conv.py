"""``conv2d``: the checks of a 2-d convolution call, then the fused op
(``chainrule.ops.conv.Conv2d``)."""

from __future__ import annotations

import numbers

from ...ops.conv import Conv2d
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor
from .windows import IntOrPair, padding_pairs, pair, sweep

__all__ = ["conv2d"]


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of a batch of images with a bank of filters (PyTorch's ``conv2d``).

    ``y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x̃[n, c, y·sh + i·dh, x·sw + j·dw]``, with ``x̃``
    the zero-padded input and the sum over ``c`` restricted to the output channel's group.

    Args:
        x: input batch (N, C, H, W).
        weight: filters (O, C / groups, kh, kw).
        bias: optional (O,).
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, ``'valid'`` (0) or ``'same'`` (stride 1 only).
        groups: split the channels into this many independent convolutions.

    Shape:
        - x: (N, C, H, W); output: (N, O, OH, OW) with
          ``OH = ⌊(H + 2·ph - dh·(kh - 1) - 1) / sh⌋ + 1`` (and likewise OW).

    Raises:
        ValueError: naming the shapes when the channels do not match the weight or the kernel
            is larger than the padded input.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.ones((1, 1, 4, 4), dtype=np.float32))
        >>> w = cr.tensor(np.ones((2, 1, 3, 3), dtype=np.float32))
        >>> cr.nn.functional.conv2d(x, w, padding=1).shape
        (1, 2, 4, 4)
    """
    where = "conv2d"
    require_tensor(where, x)
    if weight.ndim != 4:
        raise ArgumentValueError(where, f"weight must be (out_channels, in_channels/groups, kh, "
                                        f"kw), got shape {weight.shape}")
    out_channels, cg, kh, kw = weight.shape
    if not isinstance(groups, numbers.Integral) or groups < 1 or out_channels % groups:
        raise ArgumentValueError(where, f"groups must be a positive divisor of out_channels "
                                        f"({out_channels}), got {groups!r}")
    if x.ndim != 4 or x.shape[1] != cg * groups:
        raise ArgumentValueError(
            where, f"expected input of shape (N, {cg * groups}, H, W), got {x.shape}")
    require_float(where, x, like=weight.dtype)
    if bias is not None and bias.shape != (out_channels,):
        raise ArgumentValueError(where, f"bias must have shape ({out_channels},), got "
                                        f"{bias.shape}")
    stride = pair(where, stride, "stride", 1)
    dilation = pair(where, dilation, "dilation", 1)
    pads = padding_pairs(where, padding, (kh, kw), dilation, stride)
    windows = sweep(where, x.shape, (kh, kw), stride, pads, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, windows=windows, groups=int(groups))
