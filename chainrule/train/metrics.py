"""Evaluation metrics as plain NumPy functions, and the one string lookup ``get``.

Every metric takes ``(y_true, y_pred)`` in scikit-learn's order and accepts NumPy arrays or
``cr.Tensor``. Classification metrics accept predicted labels or class scores (logits or
probabilities, the class axis last), so a model's raw output can be passed as it is.

Each metric declares which way is better (``greater_is_better``), so callbacks that keep the best
model or stop early never guess from the name; a metric of your own declares it the same way::

    def precision(y_true, y_pred): ...
    precision.greater_is_better = True

``cr.fit`` and ``cr.evaluate`` report, unless told otherwise (``metrics="auto"``), the metrics that
suit the loss (``defaults_for``): accuracy for a classification loss, binary accuracy for a
binary one, MAE and R² for a regression loss.

``cr.fit`` streams these over batches: the mean-type metrics (accuracy, top-k accuracy, MAE) are
averaged weighted by batch size, and R² keeps exact running sums (``_R2Stream``), so an epoch's
value equals the metric over the whole epoch's predictions (``stream``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backend import array_module, asarray, device_of, to_device, to_host
from ..names import lookup
from ..nn import functional as F
from ..nn import loss as losses
from ..tensor import Tensor

__all__ = [
    "accuracy", "binary_accuracy", "top_k_accuracy", "confusion_matrix", "mean_absolute_error",
    "r2_score", "get", "greater_is_better", "defaults_for", "resolve", "stream",
]


def _array(value, name: str, function: str) -> np.ndarray:
    array = value.data if isinstance(value, Tensor) else asarray(value)
    if array.ndim == 0:
        raise ValueError(f"{function}: {name} must have a sample axis, got a scalar")
    return array


def _same_device(a, b) -> tuple:
    """``a`` and ``b``, ``b`` copied to ``a``'s device when they differ (a metric of yours may
    be handed host targets and device predictions)."""
    if type(a) is not type(b):
        b = to_device(b, device_of(a))
    return a, b


def _labels(y_true, y_pred, function: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer true labels and predicted labels: the argmax of scores over the class axis, which
    is axis 1 as for ``cross_entropy`` ((N, C, d…) against labels (N, d…)), else the last."""
    t, p = _same_device(_array(y_true, "y_true", function), _array(y_pred, "y_pred", function))
    if t.dtype.kind not in "iub":
        raise TypeError(
            f"{function}: y_true must hold integer class labels, got dtype {t.dtype}; convert "
            "with y.astype('int64') (one-hot targets: y.argmax(axis=-1))"
        )
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=1 if p.shape[2:] == t.shape[1:] else -1)
    elif p.dtype.kind not in "iub":
        raise ValueError(
            f"{function}: y_pred of shape {p.shape} and dtype {p.dtype} must be integer labels "
            f"shaped like y_true {t.shape}, or class scores of shape {(*t.shape, 'C')}"
        )
    if p.shape != t.shape:
        raise ValueError(
            f"{function}: y_true has shape {t.shape} but the predicted labels have shape {p.shape}"
        )
    return t, p


def accuracy(y_true, y_pred, *, threshold: float | None = None) -> float:
    """Fraction of correct predictions: ``mean(ŷᵢ == yᵢ)``.

    Args:
        y_true: integer class labels.
        y_pred: predicted labels of the same shape, or class scores (logits or probabilities)
            with one more axis of classes — axis 1 as ``cross_entropy`` takes them, or the
            last — whose argmax is the prediction.
        threshold: for binary outputs of y_true's shape: ``ŷ = y_pred > threshold``
            (0.5 for probabilities, 0 for logits).

    **Shape**: y_true ``(N, *)``; y_pred ``(N, *)``, ``(N, C, *)`` or ``(N, *, C)``. Returns a
    float.

    Example:
        >>> import numpy as np
        >>> from chainrule.train.metrics import accuracy
        >>> accuracy(np.array([0, 1, 1]), np.array([[2.0, 0.1], [0.3, 0.9], [0.8, 0.2]]))
        0.6666666666666666
    """
    if threshold is not None:
        p = _array(y_pred, "y_pred", "accuracy") > threshold
        y_pred = p.astype(np.int64)
    t, p = _labels(y_true, y_pred, "accuracy")
    return int((t == p).sum()) / t.size if t.size else float("nan")


def binary_accuracy(y_true, y_pred, *, threshold: float = 0.5) -> float:
    """Fraction of binary predictions right: ``mean([ŷᵢ > threshold] == [yᵢ > 0.5])``.

    The targets may be floats (as binary cross-entropy takes them) or integers 0/1.

    Args:
        y_true: targets 0 or 1.
        y_pred: probabilities (threshold 0.5) or logits (threshold 0) of y_true's shape.
        threshold: the score above which a prediction is 1.

    **Shape**: y_true and y_pred ``(N, *)``, equal. Returns a float.

    Example:
        >>> import numpy as np
        >>> from chainrule.train.metrics import binary_accuracy
        >>> binary_accuracy(np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.2], [0.4]]))
        0.6666666666666666
    """
    t, p = _regression(y_true, y_pred, "binary_accuracy")
    return int(((p > threshold) == (t > 0.5)).sum()) / t.size if t.size else float("nan")


def _binary_accuracy_of_logits(y_true, y_pred) -> float:
    return binary_accuracy(y_true, y_pred, threshold=0.0)


_binary_accuracy_of_logits.__name__ = "binary_accuracy"  # logged under the metric's name


def top_k_accuracy(y_true, y_score, *, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    A tie with the k-th score counts as a hit. This is ``rank(score of yᵢ) < k`` with rank the
    number of strictly higher scores, which costs one comparison per score instead of a sort.

    **Shape**: y_true ``(N,)`` integer labels; y_score ``(N, C)``. Returns a float.
    """
    t, s = _same_device(_array(y_true, "y_true", "top_k_accuracy"),
                        _array(y_score, "y_score", "top_k_accuracy"))
    if t.dtype.kind not in "iu":
        raise TypeError(f"top_k_accuracy: y_true must hold integer labels, got dtype {t.dtype}")
    if s.ndim != 2 or t.shape != s.shape[:1]:
        raise ValueError(
            f"top_k_accuracy: expected y_true (N,) and y_score (N, C), got {t.shape} and {s.shape}"
        )
    if k < 1:
        raise ValueError(f"top_k_accuracy: k must be >= 1, got {k}")
    true_score = array_module(s).take_along_axis(s, t[:, None], axis=1)
    higher = (s > true_score).sum(axis=1)
    return int((higher < k).sum()) / t.size if t.size else float("nan")


def confusion_matrix(y_true, y_pred, *, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Rows are true classes, columns predictions (scikit-learn's convention); the diagonal holds
    the correct ones. ``num_classes`` defaults to the largest label seen plus one, or to the
    score axis' length when class scores are given.

    **Shape**: y_true ``(N,)``; y_pred ``(N,)`` labels or ``(N, C)`` scores. Returns
    ``(num_classes, num_classes)`` int64.
    """
    scores = _array(y_pred, "y_pred", "confusion_matrix")
    t, p = _labels(y_true, y_pred, "confusion_matrix")
    t, p = t.reshape(-1).astype(np.int64), p.reshape(-1).astype(np.int64)
    if num_classes is None:
        seen = max(int(t.max()), int(p.max())) + 1 if t.size else 0
        num_classes = max(seen, scores.shape[-1] if scores.ndim == t.ndim + 1 else 0)
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes})")
    counts = array_module(t).bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return to_host(counts.reshape(num_classes, num_classes))


def _regression(y_true, y_pred, function: str) -> tuple[np.ndarray, np.ndarray]:
    t, p = _same_device(_array(y_true, "y_true", function), _array(y_pred, "y_pred", function))
    if t.shape != p.shape:
        raise ValueError(
            f"{function}: y_true has shape {t.shape} but y_pred has shape {p.shape}; reshape "
            "one of them (broadcasting them is almost always a bug)"
        )
    return t, p


def mean_absolute_error(y_true, y_pred) -> float:
    """``MAE = 1/n Σ |yᵢ - ŷᵢ|`` over all elements.

    **Shape**: y_true and y_pred ``(N, *)``, equal. Returns a float.
    """
    t, p = _regression(y_true, y_pred, "mean_absolute_error")
    return float(array_module(t).abs(t - p, dtype=np.float64).mean())


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination ``R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²``.

    Computed per output column and averaged (scikit-learn's ``uniform_average``); 1 is a
    perfect fit, 0 predicting the mean.

    **Shape**: y_true and y_pred ``(N,)`` or ``(N, outputs)``, equal. Returns a float.
    """
    t, p = _regression(y_true, y_pred, "r2_score")
    stream = _R2Stream()
    stream.update(t, p)
    return stream.result()


class _MeanStream:
    """Averages a per-batch metric over an epoch, weighted by batch size."""

    __slots__ = ("count", "function", "total")

    def __init__(self, function: Callable):
        self.function = function
        self.total = 0.0
        self.count = 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        n = len(y_true)
        self.total += self.function(y_true, y_pred) * n
        self.count += n

    def state(self) -> tuple[float, int]:
        """The running sums (weighted total, sample count), for ``merge``."""
        return self.total, self.count

    def merge(self, state: tuple[float, int]) -> None:
        """Add another stream's ``state()``, as if its batches had followed these."""
        total, count = state
        self.total += total
        self.count += count

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


class _R2Stream:
    """Exact R² over many batches: running float64 residual sums and, per output, the count,
    mean and squared deviations of y, merged batch by batch (Chan et al.), which stays accurate
    where the one-pass ``Σy² - (Σy)²/n`` would cancel."""

    __slots__ = ("m2", "mean", "n", "ss_res")

    def __init__(self):
        self.n, self.mean, self.m2, self.ss_res = 0, 0.0, 0.0, 0.0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        t = y_true.reshape(len(y_true), -1).astype(np.float64)
        residual = t - y_pred.reshape(t.shape)
        batch_mean = t.mean(axis=0)
        centred = t - batch_mean
        # The running sums are a few numbers per output: kept on the host (one small copy).
        self.merge((len(t), to_host(batch_mean), to_host((centred * centred).sum(axis=0)),
                    to_host((residual * residual).sum(axis=0))))

    def state(self) -> tuple:
        """The running sums ``(n, mean, m2, ss_res)``, for ``merge``."""
        return self.n, self.mean, self.m2, self.ss_res

    def merge(self, state: tuple) -> None:
        """Add another stream's ``state()`` (a batch's is one too), as if its samples had
        followed these: Chan et al.'s pairwise update of the count, mean and squared
        deviations."""
        n, mean, m2, ss_res = state
        if not n:
            return
        delta = mean - self.mean
        total = self.n + n
        shift = delta * delta * (self.n * n / total)
        self.ss_res = self.ss_res + ss_res
        self.m2 = self.m2 + m2 + shift
        self.mean = self.mean + delta * n / total
        self.n = total

    def result(self) -> float:
        """Per-output ``1 - SS_res / SS_tot``, averaged. An output with constant targets
        (SS_tot = 0) scores 1 if predicted exactly, else 0 (scikit-learn's ``force_finite``)."""
        if not self.n:
            return float("nan")
        ss_tot, ss_res = np.asarray(self.m2), np.asarray(self.ss_res)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        scores = np.where(ss_tot > 0, 1 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(scores))


accuracy.greater_is_better = True  # type: ignore[attr-defined]
binary_accuracy.greater_is_better = True  # type: ignore[attr-defined]
_binary_accuracy_of_logits.greater_is_better = True  # type: ignore[attr-defined]
top_k_accuracy.greater_is_better = True  # type: ignore[attr-defined]
mean_absolute_error.greater_is_better = False  # type: ignore[attr-defined]
r2_score.greater_is_better = True  # type: ignore[attr-defined]

_METRICS: dict[str, Callable] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_accuracy": top_k_accuracy,
    "top5": top_k_accuracy,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "r2_score": r2_score,
    "r2": r2_score,
    "confusion_matrix": confusion_matrix,
}


def get(name: str | Callable) -> Callable:
    """The metric function called ``name`` (``'accuracy'``, ``'mae'``, ``'r2'``, …; case, ``-``
    and ``_`` ignored); a callable is returned unchanged."""
    if callable(name):
        return name
    return lookup("metric", name, _METRICS, also=", or a callable")


def greater_is_better(metric: str | Callable) -> bool | None:
    """Whether higher values of ``metric`` (a name or a function) are better: what the metric
    declares in its ``greater_is_better`` attribute, or None when it declares nothing.

    Example:
        >>> greater_is_better("accuracy"), greater_is_better("mae")
        (True, False)
    """
    declared = getattr(get(metric), "greater_is_better", None)
    return None if declared is None else bool(declared)


# What a loss measures decides what is worth reporting beside it: (loss classes and functions,
# the default metrics).
_DEFAULTS: tuple[tuple[tuple, tuple], ...] = (
    ((losses.CrossEntropyLoss, losses.NLLLoss, F.cross_entropy, F.nll_loss), (accuracy,)),
    ((losses.BCELoss, F.binary_cross_entropy), (binary_accuracy,)),
    ((losses.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits),
     (_binary_accuracy_of_logits,)),
    ((losses.MSELoss, losses.L1Loss, losses.HuberLoss, F.mse_loss, F.l1_loss, F.huber_loss),
     (mean_absolute_error, r2_score)),
)


def defaults_for(loss) -> tuple[Callable, ...]:
    """The metrics ``metrics="auto"`` reports with ``loss``: accuracy for cross-entropy and NLL,
    binary accuracy for binary cross-entropy (thresholded at 0.5, or at 0 for logits), MAE and
    R² for MSE, L1 and Huber; none for a loss of your own; accuracy when there is no loss.

    Args:
        loss: a loss module, function or name (``"mse"``), or None.

    Example:
        >>> [f.__name__ for f in defaults_for("mse")]
        ['mean_absolute_error', 'r2_score']
    """
    if loss is None:
        return (accuracy,)
    loss = losses.get_loss(loss) if isinstance(loss, (str, type)) else loss
    for kinds, metrics in _DEFAULTS:
        classes = tuple(k for k in kinds if isinstance(k, type))
        if isinstance(loss, classes) or any(loss is k for k in kinds):
            return metrics
    return ()


def resolve(metrics, loss=None) -> dict[str, Callable]:
    """The metric functions of ``fit``'s ``metrics`` argument, keyed by the name each is logged
    under (its ``__name__``: ``"acc"`` logs as ``"accuracy"``).

    Args:
        metrics: ``"auto"`` (``defaults_for(loss)``), None, one name or function, or a
            sequence of them.
        loss: the loss, for ``"auto"``.

    Raises:
        ValueError: an unknown name, or ``confusion_matrix`` (not one number per epoch).

    Example:
        >>> list(resolve(["acc", "mae"]))
        ['accuracy', 'mean_absolute_error']
    """
    if isinstance(metrics, str) and metrics == "auto":
        entries: tuple = defaults_for(loss)
    elif metrics is None:
        entries = ()
    elif isinstance(metrics, str) or callable(metrics):
        entries = (metrics,)
    else:
        entries = tuple(metrics)
    functions = {}
    for entry in entries:
        function = get(entry)
        if function is confusion_matrix:
            raise ValueError(
                "confusion_matrix is not a scalar metric, so fit cannot log it; compute it after "
                "training: cr.metrics.confusion_matrix(y, cr.predict(model, x))"
            )
        functions[getattr(function, "__name__", "metric")] = function
    return functions


def stream(function: Callable) -> _MeanStream | _R2Stream:
    """An accumulator of a metric over an epoch's batches: ``update(y_true, y_pred)`` per batch,
    then ``result()`` equals the metric over all of them (see the module docstring)."""
    return _R2Stream() if function is r2_score else _MeanStream(function)
