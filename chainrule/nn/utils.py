"""Gradient utilities: clip the gradients of a set of parameters in place before ``step()``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from ..backend import squared_norm
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm(grad: np.ndarray, norm_type: float) -> float:
    """‖grad‖_p as a Python float, without temporary arrays for the common p = 2 and ∞."""
    if norm_type == 2:
        return math.sqrt(squared_norm(grad))
    if grad.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(max(grad.max(), -grad.min()))
    if norm_type == 1:
        return float(np.abs(grad).sum())
    norm: float = float((np.abs(grad) ** norm_type).sum()) ** (1.0 / norm_type)
    return norm


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``, in place.

    .. math::
        N = \\big\\| (\\|g_1\\|_p, …, \\|g_k\\|_p) \\big\\|_p, \\qquad
        g_i ← g_i \\cdot \\min\\!\\Big(1, \\frac{\\text{max\\_norm}}{N + 10^{-6}}\\Big)

    The norm is taken over all gradients as if concatenated into one vector; parameters
    without a gradient are skipped.

    Args:
        parameters: a parameter or an iterable of them (``model.parameters()``).
        max_norm: the largest allowed norm.
        norm_type: p: a positive number, or ``inf`` / ``"inf"`` for the largest magnitude.
        error_if_nonfinite: raise when the norm is NaN or infinite (else gradients are scaled
            by a NaN factor, as in PyTorch).

    Returns:
        N, the total norm before clipping, as a Python float.

    Shape:
        Gradients of any shapes; returns a scalar.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([0.0, 0.0])
        >>> w.grad = cr.tensor([3.0, 4.0]).data
        >>> cr.nn.utils.clip_grad_norm_([w], max_norm=1.0)
        5.0
        >>> w.grad.round(4)
        array([0.6, 0.8], dtype=float32)
    """
    norm_type = math.inf if norm_type in ("inf", math.inf) else norm_type
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or 'inf', got "
                         f"{norm_type!r}")
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm!r}")
    grads = _grads(parameters)
    norms = [_norm(g, norm_type) for g in grads]
    if not norms:
        return 0.0
    if norm_type == math.inf:
        total = max(norms)
    else:
        total = sum(n ** norm_type for n in norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is "
                           f"{total}; pass error_if_nonfinite=False to scale anyway")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # also scales when the norm is NaN, so a bad step shows up as NaN
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a parameter or an iterable of them.
        clip_value: the largest allowed magnitude (>= 0).

    Shape:
        Gradients of any shapes, unchanged.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([0.0, 0.0])
        >>> w.grad = cr.tensor([-3.0, 0.5]).data
        >>> cr.nn.utils.clip_grad_value_([w], 1.0)
        >>> w.grad
        array([-1. ,  0.5], dtype=float32)
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) or \
            not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got "
                         f"{clip_value!r}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
