"""The hot ops' replay kernels: the same NumPy calls as their eager rules, writing into buffers.

Each kernel performs the very ufunc or BLAS call of the op's eager rule (``ops/linalg.py``,
``ops/activation.py``, the optimizers' ``_update``), only with ``out=`` a preallocated buffer,
so its result is bitwise the eager one: NumPy computes a ufunc, a reduction or a matrix product
the same way whether it allocates the output or is given it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import zeros_like_readonly
from ..optim.adam import adam_update

Array = np.ndarray

__all__ = [
    "linear_forward", "linear_backward", "relu_forward", "relu_backward", "tanh_forward",
    "tanh_backward", "cross_entropy_forward", "cross_entropy_backward", "mse_forward",
    "mse_backward", "sgd_plain_update",
    "adam_group_update",
]


def linear_forward(x: Array, weight: Array, bias: Array | None, out: Array) -> Array:
    """``out = x Wᵀ (+ b)``: ``ops.linalg.Linear.forward`` into ``out``."""
    np.matmul(x, weight.T, out=out)
    if bias is not None:
        out += bias
    return out


def linear_backward(grad: Array, x: Array, weight: Array, gx: Array | None, gw: Array | None,
                    gb: Array | None) -> None:
    """``gx = G W``, ``gw = Gᵀ X``, ``gb = Σ G`` (each when given a buffer), for 2-d ``G``."""
    if gx is not None:
        np.matmul(grad, weight, out=gx)
    if gw is not None:
        np.matmul(grad.T, x, out=gw)
    if gb is not None:
        np.sum(grad, axis=0, out=gb)


def relu_forward(x: Array, out: Array) -> Array:
    """``out = max(x, 0)`` against a zero array, as ``ops.activation.ReLU`` (``out`` may be
    ``x``: the bias + ReLU of a dense layer then run over one buffer)."""
    return np.maximum(x, zeros_like_readonly(x), out=out)


def relu_backward(grad: Array, y: Array, mask: Array, out: Array) -> Array:
    """``out = g ⊙ [y > 0]`` (``out`` may be ``grad`` when the plan owns it)."""
    np.greater(y, 0, out=mask)
    return np.multiply(grad, mask, out=out)


def tanh_forward(x: Array, out: Array) -> Array:
    """``out = tanh(x)``."""
    return np.tanh(x, out=out)


def tanh_backward(grad: Array, y: Array, work: Array, out: Array) -> Array:
    """``out = g ⊙ (1 - y²)``, as ``ops.activation.Tanh.backward`` computes it."""
    np.multiply(y, y, out=work)
    np.subtract(1, work, out=work)
    return np.multiply(grad, work, out=out)


def cross_entropy_forward(x: Array, labels: Array, rows: Array, row_max: Array, shifted: Array,
                          prob: Array, total: Array, log_total: Array, losses: Array) -> Array:
    """The mean softmax cross-entropy of logits ``x`` (N, C) for integer ``labels`` (N,), as
    ``ops.loss.CrossEntropy``'s fast path computes it; ``prob`` keeps the softmax."""
    np.maximum.reduce(x, axis=1, keepdims=True, out=row_max)
    np.subtract(x, row_max, out=shifted)  # shifting by the max avoids overflow
    np.exp(shifted, out=prob)
    np.add.reduce(prob, axis=1, keepdims=True, out=total)
    np.log(total, out=log_total)
    prob /= total
    np.subtract(log_total.reshape(-1), shifted[rows, labels], out=losses)
    return np.asarray(losses.sum() / losses.size)


def cross_entropy_backward(grad: Array, prob: Array, labels: Array, rows: Array,
                           out: Array) -> Array:
    """``out = (softmax - onehot) · g / N``."""
    np.copyto(out, prob)
    out[rows, labels] -= 1
    out *= grad / labels.size
    return out


def mse_forward(pred: Array, target: Array, diff: Array, losses: Array) -> Array:
    """The mean of ``(ŷ - y)²``, as ``ops.loss.MSE`` computes it (``diff`` keeps ``ŷ - y``)."""
    np.subtract(pred, target, out=diff)
    np.multiply(diff, diff, out=losses)
    return np.asarray(losses.sum() / losses.size)


def mse_backward(grad: Array, diff: Array, out: Array) -> Array:
    """``out = 2 (ŷ - y) g / n``."""
    return np.multiply(diff, grad * (2 * 1.0 / diff.size), out=out)


def sgd_plain_update(param: Array, grad: Array, lr: float, work: Array) -> None:
    """``θ ← θ - η g`` as ``SGD._update`` does it without momentum or weight decay."""
    np.multiply(grad, lr, out=work)
    param -= work


def adam_group_update(param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any],
                      decoupled: bool, scratch: tuple[Array, Array]) -> None:
    """One ``Adam._update`` (or AdamW's) with the plan's scratch arrays; the state's buffers
    and step count move exactly as the optimizer's own step moves them."""
    state["step"] = step = state.get("step", 0) + 1
    beta1, beta2 = group["betas"]
    exp_avg = state.get("exp_avg")
    if exp_avg is None:
        exp_avg = state["exp_avg"] = np.zeros_like(param)
    exp_avg_sq = state.get("exp_avg_sq")
    if exp_avg_sq is None:
        exp_avg_sq = state["exp_avg_sq"] = np.zeros_like(param)
    adam_update(param, grad, exp_avg, exp_avg_sq, None, step=step, lr=float(group["lr"]),
                beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
                weight_decay=float(group["weight_decay"]), decoupled_weight_decay=decoupled,
                scratch=scratch)

