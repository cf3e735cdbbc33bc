"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_number, _ema_, _ema_square_, _l2_grad, _work_arrays

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
                exp_avg_sq: np.ndarray, max_exp_avg_sq: np.ndarray | None = None, *, step: int,
                lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
                scratch: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """One Adam (or AdamW) step on ``param``, in place.

    .. math::
        g = ∇ + λθ \\;(\\text{Adam}), \\quad θ ← θ(1 - ηλ) \\;(\\text{AdamW}) \\\\
        m ← β_1 m + (1 - β_1) g, \\quad v ← β_2 v + (1 - β_2) g^2,
        \\quad \\hat v = \\max(\\hat v, v) \\text{ (AMSGrad) else } v \\\\
        θ ← θ - \\frac{η}{1 - β_1^t} \\cdot \\frac{m}{\\sqrt{\\hat v} / \\sqrt{1 - β_2^t} + ε}

    Args:
        param, grad: the parameter (updated in place) and its gradient.
        exp_avg, exp_avg_sq: the moment estimates m and v, updated in place.
        max_exp_avg_sq: the running maximum of v for AMSGrad (updated in place), or None.
        step: t, the number of this step (1 on the first).
        decoupled_weight_decay: decay the weights directly (AdamW) instead of adding λθ to ∇.
        scratch: two work arrays shaped like ``param`` (allocated when None).

    Shape:
        param, grad, each buffer and scratch array: the same shape.
    """
    work, decayed = scratch if scratch is not None else _work_arrays(param)
    if decoupled_weight_decay:
        if weight_decay:
            param *= 1.0 - lr * weight_decay
        g = grad
    else:
        g = _l2_grad(param, grad, weight_decay, out=decayed)
    _ema_(exp_avg, g, beta1, work)
    _ema_square_(exp_avg_sq, g, beta2, work)
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    np.sqrt(exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq, out=work)
    work /= math.sqrt(1.0 - beta2 ** step)
    work += eps
    np.divide(exp_avg, work, out=work)
    work *= lr / (1.0 - beta1 ** step)
    param -= work


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), optionally AMSGrad; weight decay as an L2 term in the gradient.

    The update (see ``adam_update``): ``m ← β₁m + (1-β₁)g``, ``v ← β₂v + (1-β₂)g²``,
    ``θ ← θ - η m̂ / (√v̂ + ε)`` with bias-corrected ``m̂ = m/(1-β₁ᵗ)``, ``v̂ = v/(1-β₂ᵗ)``.

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate η.
        betas: (β₁, β₂), each in [0, 1): decay rates of the first and second moment estimates.
        eps: ε added to the denominator for stability.
        weight_decay: L2 penalty λ added to the gradient.
        amsgrad: use the running maximum of v (Reddi et al., 2018).

    Shape:
        Parameters of any shape; state ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``)
        shaped like each, and the integer ``step``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0, -1.0])
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> w.grad = w.data * 3
        >>> opt.step()
        >>> w.data.round(4)
        array([ 0.9, -0.9], dtype=float32)
    """

    _decoupled = False  # AdamW decays the weights directly

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        if isinstance(betas, list):
            betas = tuple(betas)  # the state dict restores groups' betas as tuples
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        owner = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        _check_number(owner, "betas[0]", betas[0], 0.0, 1.0, high_inclusive=False)
        _check_number(owner, "betas[1]", betas[1], 0.0, 1.0, high_inclusive=False)
        _check_number(owner, "eps", group["eps"])
        _check_number(owner, "weight_decay", group["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        state["step"] = step = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        adam_update(
            param, grad, self._buffer(state, "exp_avg", param),
            self._buffer(state, "exp_avg_sq", param),
            self._buffer(state, "max_exp_avg_sq", param) if group["amsgrad"] else None,
            step=step, lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            decoupled_weight_decay=self._decoupled, scratch=self._scratch(param))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``θ ← θ(1 - ηλ)`` before
    the Adam step, instead of adding ``λθ`` to the gradient. Same arguments as ``Adam``; the
    default ``weight_decay`` is 0.01.

    Shape:
        As ``Adam``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0])
        >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = w.data * 0
        >>> opt.step()
        >>> w.data
        array([0.95], dtype=float32)
    """

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
