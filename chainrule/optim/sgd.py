"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_number, _l2_grad, _work_arrays

__all__ = ["SGD", "sgd_update"]


def sgd_update(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, *,
               lr: float, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
               weight_decay: float = 0.0, scratch: tuple[np.ndarray, np.ndarray] | None = None
               ) -> np.ndarray | None:
    """One SGD step on ``param``, in place (PyTorch's formulation).

    .. math::
        g = ∇ + λθ, \\quad b ← μ b + (1 - τ) g \\;(b = g \\text{ on the first step}),
        \\quad θ ← θ - η \\,(g + μ b \\text{ if nesterov else } b)

    with learning rate η, momentum μ, dampening τ and weight decay λ; without momentum
    ``θ ← θ - η g``.

    Args:
        param, grad: the parameter (updated in place) and its gradient.
        momentum_buffer: ``b`` from the previous step, updated in place; None on the first step.
        scratch: two work arrays shaped like ``param`` (allocated when None).

    Returns:
        The momentum buffer (new on the first step), or None without momentum.

    Shape:
        param, grad, momentum_buffer, each scratch array: the same shape.
    """
    work, extra = scratch if scratch is not None else _work_arrays(param)
    d = _l2_grad(param, grad, weight_decay, out=work)
    if momentum:
        if momentum_buffer is None:
            momentum_buffer = d.astype(param.dtype, copy=True)
        else:
            momentum_buffer *= momentum
            if dampening:  # no Nesterov here, so g itself is not needed afterwards
                np.multiply(d, 1.0 - dampening, out=work)
                momentum_buffer += work
            else:
                momentum_buffer += d
        if nesterov:
            np.multiply(momentum_buffer, momentum, out=extra)
            extra += d
            d = extra
        else:
            d = momentum_buffer
    np.multiply(d, lr, out=work)
    param -= work
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    The update (see ``sgd_update``): ``b ← μ b + (1 - τ)(∇ + λθ)``, ``θ ← θ - η b``.

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate η.
        momentum: momentum factor μ in [0, 1].
        dampening: dampening τ of the momentum's new gradient, in [0, 1].
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 penalty λ added to the gradient.

    Shape:
        Parameters of any shape; state ``momentum_buffer`` (when momentum > 0) shaped like each.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0])
        >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = w.data * 2
        >>> opt.step()
        >>> w.data
        array([0.8], dtype=float32)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "nesterov": nesterov, "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_number("SGD", "momentum", group["momentum"], 0.0, 1.0)
        _check_number("SGD", "dampening", group["dampening"], 0.0, 1.0)
        _check_number("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = float(group["momentum"])
        if not momentum and not group["weight_decay"]:
            # Plain SGD, the common case, without sgd_update's general path: θ ← θ - η g.
            work = self._scratch(param)[0]
            np.multiply(grad, float(group["lr"]), out=work)
            param -= work
            return
        buffer = sgd_update(
            param, grad, state.get("momentum_buffer") if momentum else None,
            lr=float(group["lr"]), momentum=momentum, dampening=float(group["dampening"]),
            nesterov=bool(group["nesterov"]), weight_decay=float(group["weight_decay"]),
            scratch=self._scratch(param))
        if buffer is not None:
            state["momentum_buffer"] = buffer
