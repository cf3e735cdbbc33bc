"""``group_norm`` and ``instance_norm``: the checks, then layer norm's fused op over groups of
channels (``chainrule.ops.norm.LayerNorm`` on an (N, G, -1) view) and a per-channel affine
map."""

from __future__ import annotations

import numbers

from ...ops.norm import LayerNorm
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor

__all__ = ["group_norm", "instance_norm"]


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation (Wu & He, 2018; PyTorch's ``group_norm``): the channels split into
    ``num_groups`` groups, each standardised per sample over its channels and positions.

    ``y[n, c] = γ[c] (x[n, c] - μ[n, g]) / √(σ²[n, g] + ε) + β[c]`` with μ, σ² (biased) over
    the channels of c's group ``g`` and all positions. The same in training and evaluation.

    Args:
        x: (N, C, *) with C divisible by ``num_groups``.
        num_groups: G; 1 is layer norm over (C, *), C is instance norm.
        weight, bias: optional γ and β of shape (C,).
        eps: added to the variance for stability.

    Shape:
        - x: ``(N, C, *)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.arange(8.0).reshape(1, 4, 2))
        >>> cr.nn.functional.group_norm(x, 2).data.round(3)
        array([[[-1.342, -0.447],
                [ 0.447,  1.342],
                [-1.342, -0.447],
                [ 0.447,  1.342]]])
    """
    return _grouped("group_norm", x, num_groups, weight, bias, eps)


def instance_norm(x: Tensor, *, weight: Tensor | None = None, bias: Tensor | None = None,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation (PyTorch's ``instance_norm`` without running statistics):
    each channel of each sample standardised over its positions, then ``γ[c] x̂ + β[c]``.

    Shape:
        - x: ``(N, C, *)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor(np.array([[[1.0, 3.0], [2.0, 2.0]]]))
        >>> cr.nn.functional.instance_norm(x).data.round(3)
        array([[[-1.,  1.],
                [ 0.,  0.]]])
    """
    require_tensor("instance_norm", x)
    return _grouped("instance_norm", x, x.shape[1] if x.ndim > 1 else 0, weight, bias, eps)


def _grouped(where: str, x: Tensor, groups: int, weight: Tensor | None,
             bias: Tensor | None, eps: float) -> Tensor:
    require_tensor(where, x)
    if x.ndim < 2:
        raise ArgumentValueError(where, f"expected input of shape (N, C, *), got {x.shape}")
    channels = x.shape[1]
    if not isinstance(groups, numbers.Integral) or groups < 1 or channels % groups:
        raise ArgumentValueError(where, f"num_groups must be a positive divisor of the "
                                        f"{channels} channels of input {x.shape}, got {groups!r}")
    require_float(where, x)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.shape != (channels,):
            raise ArgumentValueError(where, f"{name} must have shape ({channels},), got "
                                            f"{value.shape}")
    grouped = LayerNorm.apply(x.reshape(x.shape[0], int(groups), -1), ndim=1, eps=eps)
    y = grouped.reshape(x.shape)
    per_channel = (channels,) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y
