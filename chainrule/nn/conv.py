"""``Conv2d``: a bank of learned 2-d filters slid over a batch of images (NCHW)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..random import resolve
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.windows import IntOrPair, pair
from .module import Module, Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-d convolution (cross-correlation) layer, PyTorch's ``Conv2d``.

    Each output channel ``o`` slides a filter ``W[o]`` of shape ``(C/groups, kh, kw)`` over the
    zero-padded input and adds a bias:
    ``y[n, o, y, x] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x̃[n, c, y·sh + i·dh, x·sw + j·dw]``,
    with ``c`` running over the input channels of ``o``'s group: ``nn.functional.conv2d``
    (im2col and one matrix product per group).

    Initialisation (PyTorch's default): ``W, b ~ U(-1/√fan_in, 1/√fan_in)`` with
    ``fan_in = C/groups · kh · kw`` (``kaiming_uniform_(W, a=√5)``).

    Args:
        in_channels: C, channels of the input.
        out_channels: O, number of filters.
        kernel_size: an int or an (kh, kw) pair.
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, ``'valid'`` or ``'same'`` (stride 1).
        groups: split channels into this many independent convolutions (``groups ==
            in_channels`` is a depthwise convolution); must divide both channel counts.
        bias: learn a bias per output channel.
        dtype: dtype of the parameters (float32 by default).
        generator: ``numpy.random.Generator`` or int seed for the initial weights (the global
            generator when None). Not part of the saved configuration.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: ``(N, O, OH, OW)`` with ``OH = ⌊(H + 2·ph - dh·(kh - 1) - 1) / sh⌋ + 1``
          (and likewise ``OW``).
        - ``weight``: ``(O, C/groups, kh, kw)``; ``bias``: ``(O,)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> conv = cr.nn.Conv2d(1, 8, 5)
        >>> conv(cr.tensor(np.zeros((2, 1, 28, 28), dtype=np.float32))).shape
        (2, 8, 24, 24)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        name = f"Conv2d({in_channels}, {out_channels})"
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels and out_channels")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(name, kernel_size, "kernel_size", 1)
        self.stride = pair(name, stride, "stride", 1)
        self.dilation = pair(name, dilation, "dilation", 1)
        self.padding = padding if isinstance(padding, str) else pair(name, padding, "padding", 0)
        gen = resolve(generator)
        self.weight = Parameter(np.empty(
            (out_channels, in_channels // groups, *self.kernel_size), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=gen)
        if bias:
            bound = 1 / math.sqrt(init.calculate_fan_in_and_fan_out(self.weight)[0])
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, generator=gen)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        for name, default in (("padding", (0, 0)), ("dilation", (1, 1)), ("groups", 1)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)!r}"
        if self.bias is None:
            text += ", bias=False"
        if self.weight.dtype != np.float32:
            text += f", dtype={self.weight.dtype}"
        return text
