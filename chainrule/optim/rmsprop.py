"""RMSprop: gradients scaled by a running root mean square, optionally centred and with momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_number, _ema_, _ema_square_, _l2_grad, _work_arrays

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                   grad_avg: np.ndarray | None = None, momentum_buffer: np.ndarray | None = None,
                   *, lr: float, alpha: float = 0.99, eps: float = 1e-8,
                   weight_decay: float = 0.0, momentum: float = 0.0,
                   scratch: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """One RMSprop step on ``param``, in place (PyTorch's formulation).

    .. math::
        g = ∇ + λθ, \\quad s ← α s + (1 - α) g^2, \\quad \\bar g ← α \\bar g + (1 - α) g
        \\;(\\text{centred}) \\\\
        r = \\sqrt{s - \\bar g^2} + ε \\;(\\text{centred}) \\text{ or } \\sqrt{s} + ε, \\quad
        b ← μ b + g / r, \\quad θ ← θ - η b \\;(\\text{or } θ - η g / r \\text{ without momentum})

    Args:
        param, grad: the parameter (updated in place) and its gradient.
        square_avg: s, updated in place.
        grad_avg: ḡ for the centred variant (updated in place), or None.
        momentum_buffer: b when momentum > 0 (updated in place), or None.
        scratch: two work arrays shaped like ``param`` (allocated when None).

    Shape:
        param, grad, each buffer and scratch array: the same shape.
    """
    work, decayed = scratch if scratch is not None else _work_arrays(param)
    g = _l2_grad(param, grad, weight_decay, out=decayed)
    _ema_square_(square_avg, g, alpha, work)
    if grad_avg is not None:
        _ema_(grad_avg, g, alpha, work)
        np.multiply(grad_avg, grad_avg, out=work)
        np.subtract(square_avg, work, out=work)
        np.sqrt(work, out=work)
    else:
        np.sqrt(square_avg, out=work)
    work += eps
    np.divide(g, work, out=work)
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += work
        np.multiply(momentum_buffer, lr, out=work)
    else:
        work *= lr
    param -= work


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide the gradient by a running root mean square of its history.

    The update (see ``rmsprop_update``): ``s ← αs + (1-α)g²``, ``θ ← θ - η g / (√s + ε)``;
    ``centered`` subtracts the squared running mean of g inside the root, ``momentum`` keeps a
    velocity of the scaled gradient.

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate η.
        alpha: smoothing constant α in [0, 1].
        eps: ε added to the denominator for stability.
        weight_decay: L2 penalty λ added to the gradient.
        momentum: momentum factor μ in [0, 1].
        centered: normalise by an estimate of the gradient's variance instead of its second
            moment.

    Shape:
        Parameters of any shape; state ``square_avg`` (and ``grad_avg``, ``momentum_buffer``)
        shaped like each, and the integer ``step``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0])
        >>> opt = cr.optim.RMSprop([w], lr=0.01, alpha=0.0, eps=0.0)
        >>> w.grad = w.data * 4
        >>> opt.step()
        >>> w.data
        array([0.99], dtype=float32)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_number("RMSprop", "alpha", group["alpha"], 0.0, 1.0)
        _check_number("RMSprop", "eps", group["eps"])
        _check_number("RMSprop", "weight_decay", group["weight_decay"])
        _check_number("RMSprop", "momentum", group["momentum"], 0.0, 1.0)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        state["step"] = state.get("step", 0) + 1
        momentum = float(group["momentum"])
        rmsprop_update(
            param, grad, self._buffer(state, "square_avg", param),
            self._buffer(state, "grad_avg", param) if group["centered"] else None,
            self._buffer(state, "momentum_buffer", param) if momentum > 0 else None,
            lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), momentum=momentum,
            scratch=self._scratch(param))
