"""Loss modules over the functions in ``cr.nn.functional``, and ``get_loss``, the one lookup
from a name such as ``"cross_entropy"`` to a loss.

Every loss takes ``reduction``: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one value per
element or sample). The losses on logits (``CrossEntropyLoss``, ``BCEWithLogitsLoss``) are fused
with their activation and stay finite for any logit, ±1e4 included.

Example:
    >>> import chainrule as cr
    >>> criterion = cr.nn.CrossEntropyLoss()
    >>> round(criterion(cr.tensor([[2.0, 0.0]]), [0]).item(), 4)
    0.1269
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..ops.loss import REDUCTIONS
from ..tensor import Tensor
from . import functional as F
from .functional._checks import require_one_of
from .module import Module, module_from_name

__all__ = [
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "get_loss",
]


class _Loss(Module):
    """Holds ``reduction`` and stores array arguments (class weights) as plain lists in the
    configuration, so a loss can be saved with a model's training setup."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        require_one_of(type(self).__name__, "reduction", reduction, REDUCTIONS)
        self.reduction = reduction

    def get_config(self) -> dict[str, Any]:
        return {name: np.asarray(value.data if isinstance(value, Tensor) else value).tolist()
                if isinstance(value, (np.ndarray, Tensor)) else value
                for name, value in super().get_config().items()}

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error ``L = mean((ŷ - y)²)``, or with ``half=True`` the textbook
    ``J = 1/(2m) Σ (h - y)²``, whose gradient is the plain ``(h - y)/m``.

    ``half`` multiplies every reduction by ½ ('sum' gives ``½ Σ (ŷ - y)²``). 'mean' averages
    over all elements: ``m`` is the number of samples when there is one output per sample.

    Shape:
        - Prediction and target: the same shape ``(*)`` (no broadcasting).
        - Output: scalar, or ``(*)`` for 'none'.
    """

    def __init__(self, reduction: str = "mean", half: bool = False):
        super().__init__(reduction)
        self.half = half

    def forward(self, pred: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.mse_loss(pred, target, self.reduction, 0.5 if self.half else 1.0)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", half=True" if self.half else "")


class L1Loss(_Loss):
    """Mean absolute error ``L = mean(|ŷ - y|)``.

    Shape:
        - Prediction and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """

    def forward(self, pred: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.l1_loss(pred, target, self.reduction)


class HuberLoss(_Loss):
    """``½ d²`` for ``d = |ŷ - y| <= delta``, else ``delta (d - ½ delta)``: squared error near
    the target, absolute error (robust to outliers) beyond ``delta``.

    Shape:
        - Prediction and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, pred: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.huber_loss(pred, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", delta={self.delta}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits: ``Lᵢ = -Σ_c w_c q_ic log softmax(xᵢ)_c``.

    With integer labels ``q`` is the one-hot label, smoothed to ``(1 - ε) onehot + ε/C`` by
    ``label_smoothing`` ε, and ``Lᵢ = -w[yᵢ] log softmax(xᵢ)[yᵢ]`` without smoothing; 'mean'
    divides by ``Σ w[yᵢ]`` (PyTorch's convention). Probability targets give ``q`` directly.
    The softmax and log are fused (log-sum-exp shifted by the max), so logits never overflow.

    Args:
        weight: per-class weights ``(C,)`` or None.
        ignore_index: label whose samples add nothing.
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: ε in [0, 1).

    Shape:
        - Logits: ``(N, C)`` or ``(N, C, d1, …)``.
        - Target: integer labels ``(N,)`` / ``(N, d1, …)`` in [0, C), or probabilities shaped
          like the logits.
        - Output: scalar, or ``(N,)`` / ``(N, d1, …)`` for 'none'.
    """

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.cross_entropy(logits, target, self.weight, self.reduction,
                               self.label_smoothing, self.ignore_index)


class NLLLoss(_Loss):
    """Negative log-likelihood ``Lᵢ = -w[yᵢ] · xᵢ[yᵢ]`` of log-probabilities ``x`` (e.g. from
    ``LogSoftmax``); 'mean' divides by ``Σ w[yᵢ]``. ``LogSoftmax`` + ``NLLLoss`` equals
    ``CrossEntropyLoss`` on the logits.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, d1, …)``; target: integer labels ``(N,)`` /
          ``(N, d1, …)``; output: scalar, or the target's shape for 'none'.
    """

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, ignore_index: int = -100,
                 reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, log_probs: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.nll_loss(log_probs, target, self.weight, self.reduction, self.ignore_index)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities ``L = -w [y log p + (1 - y) log(1 - p)]``, each
    log floored at -100 (as PyTorch) so saturated probabilities give finite values. Prefer
    ``BCEWithLogitsLoss`` on logits: it is exact where the sigmoid saturates.

    Shape:
        - Input (probabilities in [0, 1]) and target: the same shape ``(*)``; weight:
          broadcastable to it; output: scalar, or ``(*)`` for 'none'.
    """

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, probs: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.binary_cross_entropy(probs, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy fused with the sigmoid:
    ``L = -w [p y log σ(x) + (1 - y) log(1 - σ(x))]``, computed with a stable softplus, so any
    logit gives a finite loss and gradient ``σ(x) - y`` (for ``p = 1``).

    Args:
        weight: per-element weights broadcastable to the input, or None.
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: weight ``p`` of the positive term per class (last axis), or None.

    Shape:
        - Logits and target: the same shape ``(*)``; output: scalar, or ``(*)`` for 'none'.
    """

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, reduction: str = "mean",
                 pos_weight: Tensor | npt.ArrayLike | None = None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, logits: Tensor, target: Tensor | npt.ArrayLike) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.weight, self.pos_weight,
                                                  self.reduction)


_LOSSES: dict[str, type[Module]] = {
    "mse": MSELoss, "mean_squared_error": MSELoss, "l1": L1Loss, "mae": L1Loss,
    "mean_absolute_error": L1Loss, "huber": HuberLoss, "cross_entropy": CrossEntropyLoss,
    "nll": NLLLoss, "bce": BCELoss, "binary_cross_entropy": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss, "binary_cross_entropy_with_logits": BCEWithLogitsLoss,
}


def get_loss(name: str | Callable[..., Tensor] | type[Module], **kwargs: Any
             ) -> Callable[..., Tensor]:
    """The loss for ``name``: the one lookup behind ``loss="cross_entropy"`` options.

    Args:
        name: a name ("mse", "cross_entropy", "bce_with_logits") or a class name
            ("CrossEntropyLoss"), case, "-" and "_" ignored; a loss module or any callable
            ``(pred, target) -> Tensor`` (returned as is), or a loss class (instantiated).
        kwargs: constructor arguments, e.g. ``label_smoothing=0.1``.

    Raises:
        ValueError: for an unknown name, listing the known ones.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.get_loss("mse", half=True)
        MSELoss(reduction='mean', half=True)
    """
    if callable(name) and not isinstance(name, type):
        return name
    return module_from_name("loss", name, _LOSSES, kwargs,
                            also="; or a Module, a Module class or a callable")
