"""Normalisation: ``batch_norm`` and ``layer_norm`` check their arguments, then run the fused
ops of ``chainrule.ops.norm``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ...ops.norm import BatchNorm, LayerNorm
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor

__all__ = ["batch_norm", "layer_norm", "require_batch_layout"]


def require_batch_layout(x: Tensor, ranks: tuple[int, ...], channels: int, layout: str) -> None:
    """For the layers narrower than ``batch_norm`` (``BatchNorm2d`` takes only images): ``x``
    must have one of ``ranks`` axes and ``channels`` channels (axis 1), as ``layout`` says."""
    require_tensor("batch_norm", x)
    if x.ndim not in ranks or x.shape[1] != channels:
        raise ArgumentValueError("batch_norm", f"expected input of shape {layout}, got {x.shape}")


def _affine_inputs(where: str, x: Tensor, weight: Tensor | None, bias: Tensor | None
                   ) -> tuple[Tensor, ...]:
    if weight is None and bias is not None:
        raise ArgumentValueError(where, "a bias needs a weight (pass weight=ones to shift only)")
    return tuple(t for t in (x, weight, bias) if t is not None)


def batch_norm(x: Tensor, running_mean: np.ndarray | None = None,
               running_var: np.ndarray | None = None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5, num_batches_tracked: np.ndarray | None = None) -> Tensor:
    """Batch normalisation over all axes but the channel axis 1 (PyTorch's ``batch_norm``).

    ``y = γ (x - μ) / √(σ² + ε) + β`` per channel, with μ, σ² the batch's statistics when
    ``training`` (or when no running statistics are given), else ``running_mean``/``running_var``.
    In training the running arrays (NumPy, shape (C,)) are updated in place:
    ``r ← (1 - momentum) r + momentum · batch statistic`` (the variance unbiased), and a
    ``num_batches_tracked`` counter (a 0-d integer array), if given, is incremented in place.

    Shape:
        - x: (N, C) or (N, C, *); running statistics, weight, bias: (C,); output: like x.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> y = cr.nn.functional.batch_norm(cr.tensor([[1.0], [3.0]]), training=True)
        >>> np.round(y.data.ravel(), 3)
        array([-1.,  1.], dtype=float32)
    """
    where = "batch_norm"
    require_tensor(where, x)
    if x.ndim < 2:
        raise ArgumentValueError(where, f"expected input of shape (N, C, ...), got {x.shape}")
    require_float(where, x)
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and value.shape != (channels,):
            raise ArgumentValueError(where, f"{name} must have shape ({channels},) for input of "
                                            f"shape {x.shape}, got {value.shape}")
    if (running_mean is None) != (running_var is None):
        raise ArgumentValueError(where, "pass both running_mean and running_var, or neither")
    use_batch_stats = training or running_mean is None
    if use_batch_stats and x.size == channels:
        raise ArgumentValueError(where, f"expected more than 1 value per channel when training, "
                                        f"got input of shape {x.shape}")
    return BatchNorm.apply(*_affine_inputs(where, x, weight, bias),
                           running_mean=running_mean, running_var=running_var,
                           use_batch_stats=use_batch_stats, momentum=momentum, eps=eps,
                           num_batches_tracked=num_batches_tracked)


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last axes (PyTorch's ``layer_norm``).

    ``y = γ ⊙ (x - μ) / √(σ² + ε) + β`` with μ, σ² over the trailing ``normalized_shape``
    axes of each sample (biased σ²).

    Shape:
        - x: (*, *normalized_shape); weight, bias: normalized_shape; output: like x.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> np.round(cr.nn.functional.layer_norm(cr.tensor([[1.0, 3.0]]), 2).data, 3)
        array([[-1.,  1.]], dtype=float32)
    """
    where = "layer_norm"
    require_tensor(where, x)
    # (the type checker does not narrow an int to numbers.Integral)
    shape: tuple[int, ...] = (
        (normalized_shape,) if isinstance(normalized_shape, numbers.Integral)  # type: ignore[assignment]
        else tuple(normalized_shape))  # type: ignore[arg-type]
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise ArgumentValueError(where, f"expected input of shape (*, "
                                        f"{', '.join(map(str, shape))}), got {x.shape}")
    require_float(where, x)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.shape != shape:
            raise ArgumentValueError(where, f"{name} must have shape {shape}, got {value.shape}")
    return LayerNorm.apply(*_affine_inputs(where, x, weight, bias), ndim=len(shape), eps=eps)
