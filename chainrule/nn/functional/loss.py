"""Loss functions (``F.mse_loss``, ``F.cross_entropy``, …): the argument checks, then a fused
op from ``chainrule.ops.loss`` or a composition of primitives.

Every loss takes ``reduction``: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one value per
element or sample). Targets carry no gradient, except the regression losses' floating-point
target tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ...ops.loss import MSE, REDUCTIONS, BCEWithLogits, CrossEntropy, counted_labels
from ...tensor import Tensor, where
from ._checks import ArgumentValueError, not_a_tensor, require_one_of, require_tensor

__all__ = ["mse_loss", "l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]


def _constant(value: Any, dtype: npt.DTypeLike | None = None) -> Any:
    """A loss target or weight as a plain array (targets carry no gradient)."""
    if value is None:
        return None
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if dtype is not None and array.dtype.kind == "f":
        array = array.astype(dtype, copy=False)
    return array


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    """Per-element losses reduced by 'mean', 'sum' or (as they are) 'none'."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _regression_target(where: str, pred: Tensor, target: Tensor | npt.ArrayLike,
                       reduction: str) -> Tensor:
    """Checks a regression loss's arguments and returns ``target`` as a tensor in ``pred``'s
    dtype (so integer or float64 data never upcasts a float32 loss); a floating-point tensor is
    kept as it is, gradient included. The shapes must match: broadcasting (N,) against (N, 1)
    silently gives an (N, N) loss."""
    if not isinstance(pred, Tensor):
        raise not_a_tensor(where, pred)
    require_one_of(where, "reduction", reduction, REDUCTIONS)
    if not isinstance(target, Tensor) or target.dtype.kind != "f":
        target = Tensor(np.asarray(_constant(target), dtype=pred.dtype))
    if pred.shape != target.shape:
        raise ArgumentValueError(
            where, f"prediction shape {pred.shape} and target shape {target.shape} differ "
                   "(broadcasting them is almost always a bug; reshape one of them)"
        )
    return target


def _class_scores(where: str, scores: Tensor, what: str, reduction: str) -> tuple[int, ...]:
    """Checks the arguments every classification loss shares and returns the shape of
    ``scores``: ``(N, C, d1, …)`` (``what``: "logits", "log_probs"); a known ``reduction``."""
    if not isinstance(scores, Tensor):
        raise not_a_tensor(where, scores)
    require_one_of(where, "reduction", reduction, REDUCTIONS)
    # the array's attribute: Tensor.shape is a property call
    shape: tuple[int, ...] = scores.data.shape
    if len(shape) < 2:
        raise ArgumentValueError(where, f"expected {what} of shape (N, C, ...), got {shape}")
    return shape


def _class_labels(where: str, labels: np.ndarray, shape: tuple[int, ...], what: str,
                  ignore_index: int) -> int | None:
    """Checks integer class labels for scores of ``shape`` ``(N, C, d1, …)``: labels of shape
    ``(N, d1, …)``, each in ``[0, C)`` or equal to ``ignore_index``.

    Returns:
        ``ignore_index`` when some label equals it, else None: the ops then build no mask.
    """
    expected = (shape[0], *shape[2:])
    if labels.dtype.kind not in "iu" or labels.shape != expected:
        raise ArgumentValueError(
            where, f"got {labels.dtype} labels of shape {labels.shape} for {what} of shape "
                   f"{shape}; expected integer labels of shape {expected}"
        )
    n_classes = shape[1]
    low, high = (labels.min(), labels.max()) if labels.size else (0, -1)
    # Two reductions decide the common case: every label a class, none ignored.
    if not (low < 0 or high >= n_classes or low <= ignore_index <= high):
        return None
    counted = labels != ignore_index
    bad = counted & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        raise ArgumentValueError(
            where, f"label {labels[bad][0]} is out of range for {n_classes} classes"
        )
    return None if counted.all() else ignore_index


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean",
             scale: float = 1.0) -> Tensor:
    """Mean squared error ``scale · mean((pred - target)²)``.

    ``scale=0.5`` gives the textbook ``J = 1/(2m) Σ (h(x) - y)²``. ``target`` may be a tensor
    that requires a gradient.

    Shape:
        pred and target: the same shape ``(*)`` (no broadcasting); output: scalar, or ``(*)``
        for 'none'.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.mse_loss(cr.tensor([1.0, 3.0]), [0.0, 1.0])
        tensor(2.5)
    """
    target = _regression_target("mse_loss", pred, target, reduction)
    return MSE.apply(pred, target, reduction=reduction, scale=scale)


def l1_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``reduce(|pred - target|)``; the gradient at ``pred == target`` is 0.

    Shape:
        pred and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """
    target = _regression_target("l1_loss", pred, target, reduction)
    return _reduce((pred - target).abs(), reduction)


def huber_loss(pred: Tensor, target: Any, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic near the target, linear far from it (robust to outliers).

    With ``d = |pred - target|``: ``L = ½ d²`` if ``d <= delta``, else ``delta (d - ½ delta)``,
    computed as ``q (d - ½ q)`` with ``q = min(d, delta)``; ``dL/dpred = clip(pred - target,
    -delta, delta)``.

    Shape:
        pred and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """
    target = _regression_target("huber_loss", pred, target, reduction)
    if not delta > 0:
        raise ArgumentValueError("huber_loss", f"delta must be > 0, got {delta}")
    distance = (pred - target).abs()
    capped = distance.clip(hi=delta)
    return _reduce(capped * (distance - 0.5 * capped), reduction)


def cross_entropy(logits: Tensor, target: Any,
                  weight: Any = None, reduction: str = "mean",
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
    shape = _class_scores("cross_entropy", logits, "logits", reduction)
    if not 0 <= label_smoothing < 1:
        raise ArgumentValueError("cross_entropy",
                                 f"label_smoothing must be in [0, 1), got {label_smoothing}")
    target = _constant(target, logits.dtype)
    ignored = None  # the label the op must mask out, if any sample has it
    if target.dtype.kind in "iu":
        ignored = _class_labels("cross_entropy", target, shape, "logits", ignore_index)
    elif target.shape != shape:
        raise ArgumentValueError(
            "cross_entropy", f"probability targets of shape {target.shape} must match logits "
                             f"{shape}"
        )
    return CrossEntropy.apply(
        logits, target=target, weight=_constant(weight, logits.dtype), reduction=reduction,
        label_smoothing=label_smoothing, ignore_index=ignored,
    )


def nll_loss(log_probs: Tensor, target: Any,
             weight: Any = None, reduction: str = "mean",
             ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of the labelled class: ``Lᵢ = -w[yᵢ] · log_probs[i, yᵢ]``.

    Takes log-probabilities (e.g. from ``log_softmax``); ``cross_entropy`` on logits is the
    same loss fused with the softmax. 'mean' divides by ``Σᵢ w[yᵢ]`` over the counted samples
    (PyTorch's convention); samples labelled ``ignore_index`` add nothing.

    Shape:
        log_probs: ``(N, C)`` or ``(N, C, d1, …)``; target: integer labels ``(N,)`` or
        ``(N, d1, …)``; weight: ``(C,)``; output: scalar, or the target's shape for 'none'.
    """
    shape = _class_scores("nll_loss", log_probs, "log_probs", reduction)
    labels = _constant(target)
    ignored = _class_labels("nll_loss", labels, shape, "log_probs", ignore_index)
    flat, counted = counted_labels(labels.reshape(-1), ignored)
    n_classes = log_probs.shape[1]
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


def binary_cross_entropy_with_logits(logits: Tensor, target: Any,
                                     weight: Any = None,
                                     pos_weight: Any = None,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits, stable for any logit: ``-[y log σ(x) + (1-y) log(1-σ(x))]``.

    ``pos_weight`` (per class, broadcast over the last axis) multiplies the positive term.

    Shape:
        logits and target: the same shape ``(*)``; weight: broadcastable to it; pos_weight:
        ``(C,)`` for the last axis; output: scalar, or ``(*)`` for 'none'.
    """
    name = "binary_cross_entropy_with_logits"
    require_tensor(name, logits)
    require_one_of(name, "reduction", reduction, REDUCTIONS)
    target = _constant(target, logits.dtype)
    if target.shape != logits.shape:
        raise ArgumentValueError(
            name, f"target shape {target.shape} must match logits shape {logits.shape}"
        )
    return BCEWithLogits.apply(
        logits, target=target, weight=_constant(weight, logits.dtype),
        pos_weight=_constant(pos_weight, logits.dtype), reduction=reduction,
    )


_LOG_FLOOR = -100.0  # PyTorch's floor for log in binary_cross_entropy: a finite loss at p = 0


def _floored_log(x: Tensor) -> Tensor:
    """``max(log x, -100)`` whose gradient is finite everywhere: where ``x`` is at or below the
    floor the gradient is 0 and ``log`` never sees that element (no 0/0 → NaN in backward).
    The floor is raised to the dtype's smallest normal number (float32: log ≈ -87.3) so that
    ``1/x`` cannot overflow."""
    floor = max(np.exp(_LOG_FLOOR), float(np.finfo(x.dtype).tiny))
    above = x.data > floor
    return where(above, where(above, x, 1.0).log(), _LOG_FLOOR)


def binary_cross_entropy(probs: Tensor, target: Any,
                         weight: Any = None, reduction: str = "mean"
                         ) -> Tensor:
    """Binary cross-entropy on probabilities: ``L = -w [y log p + (1 - y) log(1 - p)]``.

    Each log is floored at -100 (as PyTorch), so p = 0 or 1 gives a finite loss and gradient;
    for saturating logits prefer ``binary_cross_entropy_with_logits``, which is exact there.

    Shape:
        probs and target: the same shape ``(*)``, probs in [0, 1]; weight: broadcastable to
        it; output: scalar, or ``(*)`` for 'none'.
    """
    target = _regression_target("binary_cross_entropy", probs, target, reduction)
    if probs.size and not (0 <= probs.data.min() and probs.data.max() <= 1):
        raise ArgumentValueError(
            "binary_cross_entropy",
            f"probs must lie in [0, 1], got values in [{probs.data.min()}, {probs.data.max()}]; "
            "pass logits to binary_cross_entropy_with_logits instead"
        )
    losses = -(target * _floored_log(probs) + (1 - target) * _floored_log(1 - probs))
    if weight is not None:
        losses = losses * Tensor(_constant(weight, probs.dtype))
    return _reduce(losses, reduction)
