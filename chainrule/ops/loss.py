"""Fused, numerically stable losses. Fusing the loss with its final activation gives a short,
stable backward rule (``softmax(x) - onehot``, ``σ(x) - y``) and one graph node instead of many.

The ops assume valid arguments (shapes that match, labels that are classes, a known
``reduction``): ``cr.nn.functional`` checks them."""

from __future__ import annotations

from typing import Any

from ..autograd import Function, composite_gradients
from ..backend import array_module
from .activation import _sigmoid

__all__ = ["CrossEntropy", "BCEWithLogits", "MSE", "REDUCTIONS", "counted_labels"]

REDUCTIONS = ("mean", "sum", "none")


def counted_labels(labels: Any, ignore_index: int | None) -> Any:
    """``(labels, counted)``: the labels with those equal to ``ignore_index`` set to class 0
    (their loss is masked out), and the mask of the counted ones; ``(labels, None)`` when
    ``ignore_index`` is None (every label counts)."""
    if ignore_index is None:
        return labels, None
    counted = labels != ignore_index
    return array_module(labels).where(counted, labels, 0), counted


def _reduce(losses: Any, reduction: str, denominator: Any = None) -> Any:
    """Reduce per-element losses; ``denominator`` overrides the element count for 'mean'."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / (losses.size if denominator is None else denominator)


class CrossEntropy(Function):
    """Lᵢ = -Σ_c w_c q_ic log pᵢc with p = softmax(xᵢ) over classes (axis 1);
    dLᵢ/dxᵢ = pᵢ Σ_c w_c q_ic - w ⊙ qᵢ   (= p - onehot without weights or smoothing)

    ``target`` (a constant) holds integer class labels of shape (N, d…) or class probabilities
    of the logits' shape. Integer labels become q = (1 - ε) onehot + ε/C with ε =
    ``label_smoothing``; labels equal to ``ignore_index`` add nothing (None: every label
    counts, and no mask is built). 'mean' divides by Σ w of the counted labels (PyTorch's
    convention), or by the number of rows for probability targets.
    """

    def forward(self, logits: Any, target: Any, weight: Any = None, reduction: str = "mean",
                label_smoothing: float = 0.0, ignore_index: int | None = None) -> Any:
        xp = array_module(logits)
        n_classes = logits.shape[1]
        self.logits_shape, self.reduction = logits.shape, reduction
        x = xp.moveaxis(logits, 1, -1).reshape(-1, n_classes) if logits.ndim > 2 else logits
        shifted = x - x.max(axis=1, keepdims=True)  # log-sum-exp shifted by the max: no overflow
        exp = xp.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_total = xp.log(total)
        exp /= total
        self.prob = exp
        self.rows = rows = xp.arange(x.shape[0])
        if weight is not None:
            weight = weight.astype(x.dtype, copy=False)

        if target.dtype.kind in "iu":
            self.out_shape = target.shape
            labels, self.valid = target.reshape(-1), None
            if ignore_index is not None:
                labels, self.valid = counted_labels(labels, ignore_index)
            denominator = labels.size if self.valid is None else int(self.valid.sum())
            if weight is None and label_smoothing == 0:
                # Fast path: no dense one-hot matrix or log-probability matrix is built.
                self.labels, self.weighted_target = labels, None
                losses = log_total.reshape(-1) - shifted[rows, labels]
            else:
                q = xp.full(x.shape, label_smoothing / n_classes, dtype=x.dtype)
                q[rows, labels] += 1 - label_smoothing
                self.weighted_target = q if weight is None else q * weight
                losses = -(self.weighted_target * (shifted - log_total)).sum(axis=1)
                if weight is not None:
                    w_label = weight[labels] if self.valid is None else weight[labels] * self.valid
                    # in the logits' dtype: a NumPy int64 count would make float32 / it float64
                    denominator = w_label.sum(dtype=x.dtype)
            if self.valid is not None:
                losses = losses * self.valid
        else:
            q = xp.moveaxis(target, 1, -1).reshape(-1, n_classes) if target.ndim > 2 else target
            q = q.astype(x.dtype, copy=False)
            if label_smoothing:  # as for labels (and PyTorch): q ← (1 - ε) q + ε / C
                q = q * (1 - label_smoothing) + label_smoothing / n_classes
            self.weighted_target = q if weight is None else q * weight
            self.valid = None
            self.out_shape = (logits.shape[0], *logits.shape[2:])
            losses = -(self.weighted_target * (shifted - log_total)).sum(axis=1)
            denominator = losses.size
        self.denominator = denominator
        return _reduce(losses.reshape(self.out_shape), reduction, denominator)

    def backward(self, grad: Any) -> Any:
        prob, wq = self.prob, self.weighted_target
        if wq is None:
            dx = prob.copy()
            dx[self.rows, self.labels] -= 1
        else:
            dx = prob * wq.sum(axis=1, keepdims=True) - wq
        if self.valid is not None:
            dx *= self.valid[:, None]
        if self.reduction == "none":
            dx *= grad.reshape(-1, 1)
        else:
            dx *= grad / self.denominator if self.reduction == "mean" else grad
        shape = self.logits_shape
        if len(shape) > 2:
            moved = (shape[0], *shape[2:], shape[1])
            return array_module(dx).moveaxis(dx.reshape(moved), -1, 1)
        return dx

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads the softmax saved as an array: differentiate the loss written with
        # log_softmax instead (the same targets, mask and denominator).
        logits, *_ = self.parents or ()
        n_classes = logits.shape[1]
        x = array_module(logits).moveaxis(logits, 1, -1).reshape(-1, n_classes)
        log_prob = x.log_softmax(axis=1)
        if self.weighted_target is None:
            losses = -log_prob[self.rows, self.labels]
        else:
            losses = -(self.weighted_target * log_prob).sum(axis=1)
        if self.valid is not None:
            losses = losses * self.valid
        out = _reduce(losses.reshape(self.out_shape), self.reduction, self.denominator)
        return composite_gradients(self, out, grad)


class BCEWithLogits(Function):
    """L = -[p y log σ(x) + (1 - y) log(1 - σ(x))] = (1 - y) x + (1 + (p - 1) y) softplus(-x);
    dL/dx = (1 - y) - (1 + (p - 1) y) σ(-x)   (= σ(x) - y when p = 1)

    ``target`` y and the optional per-element ``weight`` and per-class ``pos_weight`` p are
    constants. softplus(-x) = log(1 + e^(-|x|)) + max(-x, 0) never overflows.
    """

    replayable = True

    def forward(self, logits: Any, target: Any, weight: Any = None, pos_weight: Any = None,
                reduction: str = "mean") -> Any:
        xp = array_module(logits)
        y = target.astype(logits.dtype, copy=False)
        softplus_neg = xp.log1p(xp.exp(-xp.abs(logits))) + xp.maximum(-logits, 0)
        log_weight = None if pos_weight is None else 1 + (pos_weight.astype(y.dtype) - 1) * y
        if log_weight is not None:
            softplus_neg = log_weight * softplus_neg
        losses = (1 - y) * logits + softplus_neg
        if weight is not None:
            weight = weight.astype(logits.dtype, copy=False)
            losses = losses * weight
        self.logits, self.y, self.weight, self.log_weight = logits, y, weight, log_weight
        self.reduction = reduction
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> Any:
        x, y = self.logits, self.y
        if self.log_weight is None:
            dx = _sigmoid(x) - y
        else:
            dx = (1 - y) - self.log_weight * _sigmoid(-x)
        if self.weight is not None:
            dx = dx * self.weight
        return dx * (grad / x.size if self.reduction == "mean" else grad)


class MSE(Function):
    """L = s · reduce((ŷ - y)²) with s = ``scale`` (½ gives the textbook 1/(2m) Σ (h - y)²);
    dL/dŷ = 2 s (ŷ - y) / n, dL/dy = -dL/dŷ   (n = element count for 'mean', else 1)"""

    def forward(self, pred: Any, target: Any, reduction: str = "mean", scale: float = 1.0) -> Any:
        self.diff = pred - target
        self.reduction, self.scale = reduction, scale
        losses = self.diff * self.diff
        if scale != 1:
            losses *= scale
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> Any:
        _, target = self.parents or ()
        diff = self.diff
        factor = 2 * self.scale / diff.size if self.reduction == "mean" else 2 * self.scale
        d_pred = diff * (grad * factor)
        return d_pred, (-d_pred if target.requires_grad else None)

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads ŷ - y saved as an array: differentiate the loss instead.
        pred, target = self.parents or ()
        diff = pred - target
        losses = diff * diff if self.scale == 1 else diff * diff * self.scale
        return composite_gradients(self, _reduce(losses, self.reduction), grad)
