"""Dense layer ``Linear`` and the shape helpers ``Identity`` and ``Flatten``."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "Flatten"]


class Linear(Module):
    """A fully connected layer: the textbook ``z = W a + b``, one sample per row.

    For one sample ``a`` (a column of ``in_features`` values) the layer computes ``z = W a + b``
    with ``W`` of shape ``(out_features, in_features)``. A batch stacks samples as *rows* of
    ``x``, so the same map over the batch reads ``Z = X Wᵀ + b`` (``b`` added to every row); that
    is what runs, fused into one op (``cr.nn.functional.linear``).

    Memory layout: ``weight`` has the textbook shape ``(out_features, in_features)`` but is
    stored column-major (Fortran order, ``weight.data.flags.f_contiguous``), so ``Wᵀ`` is a
    plain row-major matrix and the forward product ``X Wᵀ`` is an untransposed BLAS call, about
    10% faster than the transposed one; its gradient comes back in the same layout. Indexing,
    NumPy functions, saving and loading see no difference; only ``weight.data.reshape(-1)``
    makes a copy (``ravel(order="K")`` does not). Assigning a row-major array to
    ``weight.data`` works too, at the transposed product's speed.

    Initialisation (PyTorch's default, ``init.fan_in_uniform_``): ``W`` and ``b`` from
    ``U(-1/√in_features, 1/√in_features)``; for ``W`` that is ``kaiming_uniform_(W, a=√5)``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias ``b``.
        dtype: dtype of the parameters (float32 by default).
        generator: ``numpy.random.Generator`` or int seed for the initial weights (the global
            generator when None). Not part of the saved configuration.

    Shape:
        - Input: ``(N, in_features)`` or ``(*, in_features)``.
        - Output: ``(N, out_features)`` or ``(*, out_features)``.
        - ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.Linear(3, 2)
        >>> layer(cr.tensor([[1.0, 2.0, 3.0]])).shape
        (1, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype, order="F"))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        init.fan_in_uniform_(self.weight, self.bias, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
        if self.weight.dtype != np.float32:
            text += f", dtype={self.weight.dtype}"
        return text


class Identity(Module):
    """Returns its input unchanged: ``y = x`` (a placeholder, e.g. for an optional layer).

    Shape:
        - Input: any; output: the same.
    """

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merges the axes ``start_axis … end_axis`` into one (by default all but the batch axis).

    Shape:
        - Input: ``(N, d1, d2, …)``.
        - Output: ``(N, d1 · d2 · …)`` with the defaults; in general the axes from
          ``start_axis`` to ``end_axis`` (inclusive) are replaced by their product.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> cr.nn.Flatten()(cr.tensor(np.zeros((2, 3, 4), dtype=np.float32))).shape
        (2, 12)
    """

    def __init__(self, start_axis: int = 1, end_axis: int = -1):
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x: Tensor) -> Tensor:
        ndim = max(x.ndim, 1)
        start, end = self.start_axis % ndim, self.end_axis % ndim
        if not (-ndim <= self.start_axis < ndim and -ndim <= self.end_axis < ndim) or start > end:
            raise ValueError(
                f"{self!r}: cannot flatten axes {self.start_axis}..{self.end_axis} of an input "
                f"of shape {x.shape}"
            )
        shape = x.shape
        return x.reshape(*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"
