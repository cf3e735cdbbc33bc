"""``conv2d``: the checks of a 2-d convolution call, then the fused op
(``chainrule.ops.conv.Conv2d``); ``conv1d`` and ``conv3d`` as one ``conv2d`` each."""

from __future__ import annotations

from ...ops.conv import Conv2d
from ...tensor import Tensor, stack
from ._checks import ArgumentValueError, require_filters, require_tensor
from .windows import IntOrPair, ints, padding_pairs, pair, sweep

__all__ = ["conv1d", "conv2d", "conv3d"]


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
    require_filters(where, x, weight, bias, groups, "H, W")
    kh, kw = weight.shape[2:]
    stride = pair(where, stride, "stride", 1)
    dilation = pair(where, dilation, "dilation", 1)
    pads = padding_pairs(where, padding, (kh, kw), dilation, stride)
    windows = sweep(where, x.shape, (kh, kw), stride, pads, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, windows=windows, groups=int(groups))


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation of a batch of sequences with a bank of filters (PyTorch's
    ``conv1d``): ``conv2d`` on a height-1 view (same kernels, no copies).

    ``y[n, o, t] = b[o] + Σ_c Σ_i W[o, c, i] · x̃[n, c, t·s + i·d]``

    Args:
        x: input batch (N, C, L).
        weight: filters (O, C / groups, k).
        bias: optional (O,).
        stride, dilation: an int.
        padding: an int, ``'valid'`` or ``'same'`` (stride 1 only).
        groups: split the channels into this many independent convolutions.

    Shape:
        - x: (N, C, L); output: (N, O, OL) with ``OL = ⌊(L + 2p - d(k - 1) - 1) / s⌋ + 1``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.ones((1, 2, 5), dtype=np.float32))
        >>> w = cr.tensor(np.ones((3, 2, 3), dtype=np.float32))
        >>> cr.nn.functional.conv1d(x, w, padding=1)
        tensor([[[4., 6., 6., 6., 4.],
                 [4., 6., 6., 6., 4.],
                 [4., 6., 6., 6., 4.]]])
    """
    where = "conv1d"
    require_tensor(where, x)
    if weight.ndim != 3:
        raise ArgumentValueError(where, f"weight must be (out_channels, in_channels/groups, k), "
                                        f"got shape {weight.shape}")
    if x.ndim != 3:
        raise ArgumentValueError(where, f"expected input of shape (N, C, L), got {x.shape}")
    (s,), (d,) = ints(where, stride, "stride", 1, 1), ints(where, dilation, "dilation", 1, 1)
    pad = padding if isinstance(padding, str) else (0, ints(where, padding, "padding", 0, 1)[0])
    try:
        y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), pad, (1, d), groups)
    except ArgumentValueError as error:  # name this function and its 1-d shapes
        raise ArgumentValueError(where, f"{error.problem} (as conv2d; input {x.shape}, weight "
                                        f"{weight.shape})") from None
    return y.squeeze(2)


def conv3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """3-d cross-correlation of a batch of volumes with a bank of filters (PyTorch's
    ``conv3d``).

    ``y[n, o, z, y, x] = b[o] + Σ_c Σ_kij W[o, c, k, i, j] · x̃[n, c, z·sd + k·dd, y·sh + i·dh,
    x·sw + j·dw]``. Computed as one ``conv2d``: the ``kd`` depth taps of every output depth
    become input channels (a copy the size of the input times ``kd``, as im2col's), and the
    output depths a batch axis.

    Args:
        x: input batch (N, C, D, H, W).
        weight: filters (O, C / groups, kd, kh, kw).
        bias: optional (O,).
        stride, padding, dilation: an int or a (d, h, w) triple.
        groups: split the channels into this many independent convolutions.

    Shape:
        - x: (N, C, D, H, W); output: (N, O, OD, OH, OW), each
          ``⌊(n + 2p - d(k - 1) - 1) / s⌋ + 1``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.ones((1, 1, 4, 4, 4), dtype=np.float32))
        >>> w = cr.tensor(np.ones((2, 1, 3, 3, 3), dtype=np.float32))
        >>> cr.nn.functional.conv3d(x, w).shape
        (1, 2, 2, 2, 2)
    """
    where = "conv3d"
    out_channels = require_filters(where, x, weight, None, groups, "D, H, W")
    cg, kd = weight.shape[1:3]
    sd, sh, sw = ints(where, stride, "stride", 1, 3)
    dd, dh, dw = ints(where, dilation, "dilation", 1, 3)
    pd, ph, pw = ints(where, padding, "padding", 0, 3)
    n, channels, depth, height, width = x.shape
    out_depth = (depth + 2 * pd - dd * (kd - 1) - 1) // sd + 1
    if out_depth < 1:
        raise ArgumentValueError(where, f"kernel depth {kd} with dilation {dd} spans more than "
                                        f"the padded input depth {depth + 2 * pd} (input "
                                        f"{x.shape})")
    if pd:
        x = x.pad(((0, 0), (0, 0), (pd, pd), (0, 0), (0, 0)))
    # (N, C, kd, OD, H, W) -> (N, OD, groups, kd, C/groups, H, W): the taps of each group's
    # channels side by side, so one grouped conv2d sums over taps and channels together.
    taps = [x[:, :, k * dd:k * dd + sd * (out_depth - 1) + 1:sd] for k in range(kd)]
    stacked = stack(taps, axis=2).reshape(n, groups, cg, kd, out_depth, height, width)
    frames = stacked.transpose(0, 4, 1, 3, 2, 5, 6).reshape(n * out_depth, groups * kd * cg,
                                                           height, width)
    w2 = weight.transpose(0, 2, 1, 3, 4).reshape(out_channels, kd * cg, *weight.shape[3:])
    try:
        y = conv2d(frames, w2, bias, (sh, sw), (ph, pw), (dh, dw), groups)
    except ArgumentValueError as error:
        raise ArgumentValueError(where, f"{error.problem} (as conv2d; input {x.shape}, weight "
                                        f"{weight.shape})") from None
    return y.reshape(n, out_depth, *y.shape[1:]).transpose(0, 2, 1, 3, 4)
