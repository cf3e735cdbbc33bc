"""Convolution layers: banks of learned filters slid over sequences (``Conv1d``), images
(``Conv2d``, NCHW) and volumes (``Conv3d``), and the transposed 2-d convolution that
upsamples (``ConvTranspose2d``). They share their set-up and initialisation (PyTorch's)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..random import resolve
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional._checks import require_flags, require_size
from .functional.windows import IntOrPair, ints
from .module import Module, Parameter
from .sizes import shape_size, size

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d"]


class _ConvNd(Module):
    """What the convolution layers share: their attributes, the checks of their arguments, their
    parameters and initialisation (PyTorch's: ``W, b ~ U(-1/√fan_in, 1/√fan_in)``, that is
    ``kaiming_uniform_(W, a=√5)``), and their ``extra_repr``."""

    in_channels: int
    out_channels: int
    groups: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...] | str
    weight: Parameter
    bias: Parameter | None
    _dims: ClassVar[int] = 2  # spatial axes of the kernel

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, dtype, generator)

    def _setup(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
               stride: IntOrPair, padding: IntOrPair | str, dilation: IntOrPair, groups: int,
               bias: bool, dtype: npt.DTypeLike, generator: np.random.Generator | int | None,
               transposed: bool = False) -> None:
        """Check the arguments of a ``_dims``-d convolution, set the attributes and make the
        parameters: W of shape (O, C/groups, *k), or (C, O/groups, *k) when ``transposed``."""
        name = f"{type(self).__name__}({in_channels!r:.20}, {out_channels!r:.20})"
        dims = self._dims
        for argument, value in (("in_channels", in_channels), ("out_channels", out_channels),
                                ("groups", groups)):
            require_size(name, argument, value)
        require_flags(name, bias=bias)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels and out_channels")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ints(name, kernel_size, "kernel_size", 1, dims)
        self.stride = ints(name, stride, "stride", 1, dims)
        self.dilation = ints(name, dilation, "dilation", 1, dims)
        self.padding = padding if isinstance(padding, str) else ints(name, padding, "padding",
                                                                     0, dims)
        gen = resolve(generator)
        channels = (in_channels, out_channels // groups) if transposed else (
            out_channels, in_channels // groups)
        self.weight = Parameter(np.empty((*channels, *self.kernel_size), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=gen)
        if bias:
            bound = 1 / math.sqrt(init.calculate_fan_in_and_fan_out(self.weight)[0])
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, generator=gen)
        else:
            self.register_parameter("bias", None)

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int:
        # W holds in·out/groups·Πk values whichever way round its channels are (transposed).
        name = cls.__name__
        out_channels = size(name, arguments, "out_channels")
        weight = (out_channels * size(name, arguments, "in_channels")
                  // size(name, arguments, "groups", 1)
                  * shape_size(name, arguments, "kernel_size", cls._dims))
        return weight + (out_channels if arguments["bias"] else 0)

    def extra_repr(self) -> str:
        dims = len(self.kernel_size)
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        defaults = (("padding", (0,) * dims), ("output_padding", (0,) * dims),
                    ("dilation", (1,) * dims), ("groups", 1))
        for name, default in defaults:
            if getattr(self, name, default) != default:
                text += f", {name}={getattr(self, name)!r}"
        if self.bias is None:
            text += ", bias=False"
        if self.weight.dtype != np.float32:
            text += f", dtype={self.weight.dtype}"
        return text


class Conv2d(_ConvNd):
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

    # Pairs: the 2-d sizes (ONNX export and the window checks read them as (h, w)).
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int] | str

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)



class Conv1d(_ConvNd):
    """1-d convolution (cross-correlation) layer over sequences, PyTorch's ``Conv1d``:
    ``y[n, o, t] = b[o] + Σ_c Σ_i W[o, c, i] · x̃[n, c, t·s + i·d]`` (``nn.functional.conv1d``,
    a ``conv2d`` over a height-1 view). Arguments and initialisation as ``Conv2d``'s, with
    ints for the sizes.

    Shape:
        - Input: ``(N, C, L)``; output: ``(N, O, OL)`` with
          ``OL = ⌊(L + 2p - d(k - 1) - 1) / s⌋ + 1``.
        - ``weight``: ``(O, C/groups, k)``; ``bias``: ``(O,)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> conv = cr.nn.Conv1d(2, 4, 3, padding=1)
        >>> conv(cr.tensor(np.zeros((8, 2, 16), dtype=np.float32))).shape
        (8, 4, 16)
    """

    _dims = 1

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)



class Conv3d(_ConvNd):
    """3-d convolution (cross-correlation) layer over volumes, PyTorch's ``Conv3d``:
    ``y[n, o, z, y, x] = b[o] + Σ_c Σ_kij W[o, c, k, i, j] · x̃[n, c, z·sd + k·dd, y·sh + i·dh,
    x·sw + j·dw]`` (``nn.functional.conv3d``). Arguments and initialisation as ``Conv2d``'s,
    with (d, h, w) triples; padding is an int or a triple.

    Shape:
        - Input: ``(N, C, D, H, W)``; output: ``(N, O, OD, OH, OW)``, each
          ``⌊(n + 2p - d(k - 1) - 1) / s⌋ + 1``.
        - ``weight``: ``(O, C/groups, kd, kh, kw)``; ``bias``: ``(O,)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> conv = cr.nn.Conv3d(1, 2, 3, padding=1)
        >>> conv(cr.tensor(np.zeros((1, 1, 4, 5, 6), dtype=np.float32))).shape
        (1, 2, 4, 5, 6)
    """

    padding: tuple[int, ...]  # ints only: conv3d takes no 'same'
    _dims = 3

    def forward(self, x: Tensor) -> Tensor:
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)



class ConvTranspose2d(_ConvNd):
    """Transposed 2-d convolution layer (PyTorch's ``ConvTranspose2d``, its argument order):
    the adjoint of ``Conv2d`` with the same sizes, which upsamples by the stride
    (``nn.functional.conv_transpose2d``). Initialisation as PyTorch's, with the fan-in taken
    from the weight's second axis.

    Args:
        in_channels: C, channels of the input.
        out_channels: O, channels of the output.
        kernel_size: an int or an (kh, kw) pair.
        stride: an int or an (h, w) pair: the upsampling factor.
        padding: an int or an (h, w) pair, cropped from each side of the output.
        output_padding: rows and columns added at the bottom and right of the output (smaller
            than the stride), to reach the size a strided ``Conv2d`` came from.
        groups: split the channels into this many independent convolutions.
        bias: learn a bias per output channel.
        dilation: an int or an (h, w) pair.
        dtype: dtype of the parameters (float32 by default).
        generator: ``numpy.random.Generator`` or int seed for the initial weights.

    Shape:
        - Input: ``(N, C, H, W)``; output: ``(N, O, OH, OW)`` with
          ``OH = (H - 1)·sh - 2·ph + dh·(kh - 1) + oph + 1`` (and likewise ``OW``).
        - ``weight``: ``(C, O/groups, kh, kw)``; ``bias``: ``(O,)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> up = cr.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(cr.tensor(np.zeros((2, 8, 7, 7), dtype=np.float32))).shape
        (2, 4, 14, 14)
    """

    padding: tuple[int, ...]  # never 'same' or 'valid'

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOrPair = 1,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        Module.__init__(self)  # PyTorch's argument order for this layer; _setup does the rest
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d({in_channels}, {out_channels}): padding must be "
                             f"an int or a pair, got {padding!r}")
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, dtype, generator, transposed=True)
        self.output_padding: tuple[int, ...] = ints(type(self).__name__, output_padding,
                                                    "output_padding", 0, 2)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

