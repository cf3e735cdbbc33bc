"""Functional forms of layers, activations and losses (``cr.nn.functional``, PyTorch's ``F``).

The math lives in ``chainrule.ops``; these functions check arguments and pick the op.
"""

from __future__ import annotations

import numpy as np

from ...ops import activation, linalg, loss
from ...ops.conv import conv2d
from ...ops.norm import batch_norm, layer_norm
from ...ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ...random import resolve
from ...tensor import Tensor, where
from ._checks import ArgumentValueError, require_float, require_tensor

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
    "log_softmax", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "huber_loss", "nll_loss", "binary_cross_entropy", "dropout",
    # re-exported from chainrule.ops, where they live, for PyTorch's ``F.conv2d`` habit
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm",
]


def _constant(value, dtype=None):
    """A loss target or weight as a plain array (targets carry no gradient)."""
    if value is None:
        return None
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if dtype is not None and array.dtype.kind == "f":
        array = array.astype(dtype, copy=False)
    return array


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` fused into one op: ``z = W a + b`` with batches as rows.

    Shape:
        x: (..., in_features); weight: (out_features, in_features); bias: (out_features,);
        output: (..., out_features).

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0, 4.0]])
        >>> cr.nn.functional.linear(x, w, cr.tensor([0.5]))
        tensor([[11.5]])
    """
    require_tensor("linear", x)
    if x.shape[-1:] != weight.shape[1:]:
        raise ArgumentValueError(
            "linear", f"expected input of shape (..., {weight.shape[1]}), got {x.shape}"
        )
    require_float("linear", x, like=weight.dtype)
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
    target = _regression_target("mse_loss", pred, target)
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
        logits, target=_constant(target, logits.dtype),
        weight=_constant(weight, logits.dtype), reduction=reduction,
        label_smoothing=label_smoothing, ignore_index=ignore_index,
    )


def binary_cross_entropy_with_logits(logits: Tensor, target, weight=None, pos_weight=None,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits, stable for any logit: ``-[y log σ(x) + (1-y) log(1-σ(x))]``.

    ``pos_weight`` (per class, broadcast over the last axis) multiplies the positive term.
    """
    return loss.BCEWithLogits.apply(
        logits, target=_constant(target, logits.dtype),
        weight=_constant(weight, logits.dtype),
        pos_weight=_constant(pos_weight, logits.dtype), reduction=reduction,
    )


def _check_reduction(caller: str, reduction: str) -> None:
    if reduction not in loss.REDUCTIONS:
        raise ValueError(f"{caller}: reduction must be one of {loss.REDUCTIONS}, got {reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    """Per-element losses reduced by 'mean', 'sum' or (as they are) 'none'."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _regression_target(caller: str, pred: Tensor, target) -> Tensor:
    """``target`` as a tensor in ``pred``'s dtype (so integer or float64 data never upcasts a
    float32 loss); a floating-point tensor is kept as it is, gradient included. The shapes must
    match: broadcasting (N,) against (N, 1) silently gives an (N, N) loss."""
    if not isinstance(target, Tensor) or target.dtype.kind != "f":
        target = Tensor(np.asarray(_constant(target), dtype=pred.dtype))
    if pred.shape != target.shape:
        raise ValueError(
            f"{caller}: prediction shape {pred.shape} and target shape {target.shape} differ "
            "(broadcasting them is almost always a bug; reshape one of them)"
        )
    return target


def l1_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``reduce(|pred - target|)``; the gradient at ``pred == target`` is 0.

    Shape:
        pred and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """
    _check_reduction("l1_loss", reduction)
    target = _regression_target("l1_loss", pred, target)
    return _reduce((pred - target).abs(), reduction)


def huber_loss(pred: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic near the target, linear far from it (robust to outliers).

    With ``d = |pred - target|``: ``L = ½ d²`` if ``d <= delta``, else ``delta (d - ½ delta)``,
    computed as ``q (d - ½ q)`` with ``q = min(d, delta)``; ``dL/dpred = clip(pred - target,
    -delta, delta)``.

    Shape:
        pred and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    target = _regression_target("huber_loss", pred, target)
    distance = (pred - target).abs()
    capped = distance.clip(hi=delta)
    return _reduce(capped * (distance - 0.5 * capped), reduction)


def nll_loss(log_probs: Tensor, target, weight=None, reduction: str = "mean",
             ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of the labelled class: ``Lᵢ = -w[yᵢ] · log_probs[i, yᵢ]``.

    Takes log-probabilities (e.g. from ``log_softmax``); ``cross_entropy`` on logits is the
    same loss fused with the softmax. 'mean' divides by ``Σᵢ w[yᵢ]`` over the counted samples
    (PyTorch's convention); samples labelled ``ignore_index`` add nothing.

    Shape:
        log_probs: ``(N, C)`` or ``(N, C, d1, …)``; target: integer labels ``(N,)`` or
        ``(N, d1, …)``; weight: ``(C,)``; output: scalar, or the target's shape for 'none'.
    """
    _check_reduction("nll_loss", reduction)
    labels = _constant(target)
    if log_probs.ndim < 2:
        raise ValueError(f"nll_loss: needs log_probs of shape (N, C, ...), got {log_probs.shape}")
    expected = (log_probs.shape[0], *log_probs.shape[2:])
    if labels.dtype.kind not in "iu" or labels.shape != expected:
        raise ValueError(
            f"nll_loss: expected integer labels of shape {expected} for log_probs of shape "
            f"{log_probs.shape}, got {labels.dtype} labels of shape {labels.shape}"
        )
    n_classes = log_probs.shape[1]
    flat, counted = loss.class_labels("nll_loss", labels.reshape(-1), n_classes, ignore_index)
    scores = log_probs
    if log_probs.ndim > 2:  # classes last, one row per position
        scores = log_probs.transpose(0, *range(2, log_probs.ndim), 1).reshape(-1, n_classes)
    weight = _constant(weight, log_probs.dtype)
    row_weight = np.ones(flat.size, log_probs.dtype) if weight is None else weight[flat]
    if counted is not None:
        row_weight = row_weight * counted
    losses = scores[np.arange(flat.size), flat] * Tensor(-row_weight)
    if reduction == "none":
        return losses.reshape(labels.shape)
    return losses.sum() if reduction == "sum" else losses.sum() / row_weight.sum()


_LOG_FLOOR = -100.0  # PyTorch's floor for log in binary_cross_entropy: a finite loss at p = 0


def _floored_log(x: Tensor) -> Tensor:
    """``max(log x, -100)`` whose gradient is finite everywhere: where ``x`` is at or below the
    floor the gradient is 0 and ``log`` never sees that element (no 0/0 → NaN in backward).
    The floor is raised to the dtype's smallest normal number (float32: log ≈ -87.3) so that
    ``1/x`` cannot overflow."""
    floor = max(np.exp(_LOG_FLOOR), float(np.finfo(x.dtype).tiny))
    above = x.data > floor
    return where(above, where(above, x, 1.0).log(), _LOG_FLOOR)


def binary_cross_entropy(probs: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities: ``L = -w [y log p + (1 - y) log(1 - p)]``.

    Each log is floored at -100 (as PyTorch), so p = 0 or 1 gives a finite loss and gradient;
    for saturating logits prefer ``binary_cross_entropy_with_logits``, which is exact there.

    Shape:
        probs and target: the same shape ``(*)``, probs in [0, 1]; weight: broadcastable to
        it; output: scalar, or ``(*)`` for 'none'.
    """
    _check_reduction("binary_cross_entropy", reduction)
    target = _regression_target("binary_cross_entropy", probs, target)
    if probs.size and not (0 <= probs.data.min() and probs.data.max() <= 1):
        raise ValueError(
            f"binary_cross_entropy: probs must lie in [0, 1], got values in "
            f"[{probs.data.min()}, {probs.data.max()}]; pass logits to "
            "binary_cross_entropy_with_logits instead"
        )
    losses = -(target * _floored_log(probs) + (1 - target) * _floored_log(1 - probs))
    if weight is not None:
        losses = losses * Tensor(_constant(weight, probs.dtype))
    return _reduce(losses, reduction)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Inverted dropout: ``y = x ⊙ m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per element in
    training, ``y = x`` otherwise. The mask comes from ``generator`` (Generator or int seed) or
    the global generator, and is in ``x``'s dtype.

    Shape:
        x: any shape ``(*)``; output: the same.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: needs floating-point input, got dtype {x.dtype}")
    if p == 1:
        return x * Tensor(np.zeros(x.shape, dtype=x.dtype))
    keep = resolve(generator).random(x.shape, dtype=np.float32) >= p
    return x * Tensor(keep * x.dtype.type(1 / (1 - p)))
