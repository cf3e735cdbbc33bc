"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_number, _l2_grad, _work_arrays

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, *, step: int,
                   lr: float, lr_decay: float = 0.0, weight_decay: float = 0.0,
                   eps: float = 1e-10, scratch: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> None:
    """One Adagrad step on ``param``, in place (PyTorch's formulation).

    .. math::
        g = ∇ + λθ, \\quad η_t = \\frac{η}{1 + (t - 1)\\,δ}, \\quad G ← G + g^2, \\quad
        θ ← θ - η_t \\frac{g}{\\sqrt{G} + ε}

    Args:
        param, grad: the parameter (updated in place) and its gradient.
        state_sum: G, the sum of squared gradients, updated in place.
        step: t, the number of this step (1 on the first).
        lr_decay: δ, the learning rate's decay per step.
        scratch: two work arrays shaped like ``param`` (allocated when None).

    Shape:
        param, grad, state_sum and each scratch array: the same shape.
    """
    work, decayed = scratch if scratch is not None else _work_arrays(param)
    g = _l2_grad(param, grad, weight_decay, out=decayed)
    np.multiply(g, g, out=work)
    state_sum += work
    np.sqrt(state_sum, out=work)
    work += eps
    np.divide(g, work, out=work)
    work *= lr / (1.0 + (step - 1) * lr_decay)
    param -= work


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``G ← G + g²``, ``θ ← θ - η g / (√G + ε)``.

    Coordinates with large past gradients take smaller steps (see ``adagrad_update``).

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate η.
        lr_decay: δ: the step-t learning rate is ``η / (1 + (t - 1) δ)``.
        weight_decay: L2 penalty λ added to the gradient.
        initial_accumulator_value: the starting value of G.
        eps: ε added to the denominator for stability.

    Shape:
        Parameters of any shape; state ``sum`` shaped like each, and the integer ``step``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0])
        >>> opt = cr.optim.Adagrad([w], lr=0.1)
        >>> w.grad = w.data * 5
        >>> opt.step()
        >>> w.data
        array([0.9], dtype=float32)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_number("Adagrad", name, group[name])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        state["step"] = step = state.get("step", 0) + 1
        adagrad_update(
            param, grad, self._buffer(state, "sum", param,
                                      float(group["initial_accumulator_value"])),
            step=step, lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
            weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
            scratch=self._scratch(param))
