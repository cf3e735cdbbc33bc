"""Functional forms of layers, activations and losses (``cr.nn.functional``, PyTorch's ``F``).

The math lives in ``chainrule.ops``; these functions check arguments and pick the op.
"""

from __future__ import annotations

import numpy as np

from ..ops import activation, linalg, loss
from ..tensor import Tensor

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
    "log_softmax", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
]


def _constant(value, name: str, dtype=None):
    """A loss target or weight as a plain array (targets carry no gradient)."""
    if value is None:
        return None
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if dtype is not None and array.dtype.kind == "f":
        array = array.astype(dtype, copy=False)
    return array


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` fused into one op.

    Shape:
        x: (..., in_features); weight: (out_features, in_features); bias: (out_features,);
        output: (..., out_features).
    """
    if x.shape[-1:] != weight.shape[1:]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape {x.shape}) but "
            f"weight expects {weight.shape[1]} (weight shape {weight.shape})"
        )
    if bias is None:
        return linalg.Linear.apply(x, weight)
    return linalg.Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    return activation.ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return activation.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    return activation.Tanh.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return activation.LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return activation.ELU.apply(x, alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU ``x Φ(x)``; ``approximate='tanh'`` for the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation.GELU.apply(x, approximate=approximate)


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    return activation.Softplus.apply(x, beta=beta)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return activation.Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return activation.LogSoftmax.apply(x, axis=axis)


def mse_loss(pred: Tensor, target, reduction: str = "mean", scale: float = 1.0) -> Tensor:
    """Mean squared error ``scale · mean((pred - target)²)``.

    ``scale=0.5`` gives the textbook ``J = 1/(2m) Σ (h(x) - y)²``. ``target`` may be a tensor
    that requires a gradient. Shapes must match exactly.
    """
    if not isinstance(target, Tensor):
        target = Tensor(_constant(target, "target", pred.dtype))
    return loss.MSE.apply(pred, target, reduction=reduction, scale=scale)


def cross_entropy(logits: Tensor, target, weight=None, reduction: str = "mean",
                  label_smoothing: float = 0.0, ignore_index: int = -100) -> Tensor:
    """Softmax cross-entropy from logits, fused: ``-log softmax(logits)[label]``.

    Args:
        logits: (N, C) or (N, C, d1, ...) unnormalised scores.
        target: integer labels (N,) / (N, d1, ...), or class probabilities shaped like logits.
        weight: optional per-class weights (C,).
        reduction: 'mean' (over counted labels, weighted), 'sum' or 'none'.
        label_smoothing: ε in [0, 1): the target becomes (1 - ε) onehot + ε / C.
        ignore_index: label whose samples add nothing (padding).

    Example:
        >>> import chainrule as cr
        >>> logits = cr.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(cr.nn.functional.cross_entropy(logits, [0, 1]).item(), 4)
        0.1269
    """
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    return loss.CrossEntropy.apply(
        logits, target=_constant(target, "target", logits.dtype),
        weight=_constant(weight, "weight", logits.dtype), reduction=reduction,
        label_smoothing=label_smoothing, ignore_index=ignore_index,
    )


def binary_cross_entropy_with_logits(logits: Tensor, target, weight=None, pos_weight=None,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits, stable for any logit: ``-[y log σ(x) + (1-y) log(1-σ(x))]``.

    ``pos_weight`` (per class, broadcast over the last axis) multiplies the positive term.
    """
    return loss.BCEWithLogits.apply(
        logits, target=_constant(target, "target", logits.dtype),
        weight=_constant(weight, "weight", logits.dtype),
        pos_weight=_constant(pos_weight, "pos_weight", logits.dtype), reduction=reduction,
    )
