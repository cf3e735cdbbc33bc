"""NumPy's function names as differentiable ops on tensors: what ``array_module(t)`` returns for
a ``Tensor``.

A backward rule asks ``xp = array_module(x)`` for its functions (``xp.where``, ``xp.exp``,
``xp.swapaxes``, …). On the first-order path ``x`` is an array and ``xp`` is NumPy; under
``create_graph`` the engine replays the same rule with tensors, and ``xp`` is this module, whose
functions record chainrule ops, so the gradient the rule computes can be differentiated again.
Only the names backward rules use are here; each has NumPy's signature for the arguments they
pass. Functions whose result is piecewise constant (``sign``, ``greater``) give constant
tensors: their derivative is 0 wherever it exists.

Example:
    >>> import chainrule as cr
    >>> from chainrule.backend import array_module
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> xp = array_module(x)
    >>> xp.swapaxes(xp.expand_dims(x, 0), 0, 1)
    tensor([[1.],
           [2.]], grad_fn=<TransposeBackward>)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import register_tensor_module

# concatenate, maximum, minimum, stack and where: the tensor module's, NumPy's names already.
from ..tensor import Tensor, concatenate, maximum, minimum, stack, where

__all__ = [
    "abs", "broadcast_to", "concatenate", "exp", "expand_dims", "expm1", "greater", "less",
    "log", "log1p", "logaddexp", "matmul", "maximum", "minimum", "moveaxis", "sign", "split",
    "sqrt", "stack", "swapaxes", "take", "tanh", "where",
]


def exp(x: Tensor) -> Tensor:
    return x.exp()


def expm1(x: Tensor) -> Tensor:
    return x.exp() - 1


def log(x: Tensor) -> Tensor:
    return x.log()


def log1p(x: Tensor) -> Tensor:
    return (x + 1).log()


def logaddexp(a: Any, b: Any) -> Tensor:
    """log(eᵃ + eᵇ) = m + log(eᵃ⁻ᵐ + eᵇ⁻ᵐ) with m = max(a, b): no overflow. The value does not
    depend on m, so neither does the gradient (whichever share of it ``maximum`` passes at ties)."""
    m = maximum(a, b)
    spread: Tensor = (-m + a).exp() + (-m + b).exp()
    return m + spread.log()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def abs(x: Tensor) -> Tensor:  # noqa: A001 - NumPy's name
    return x.abs()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return a @ b


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def sign(x: Any) -> Tensor:
    return Tensor(np.sign(_data(x)))


def greater(a: Any, b: Any) -> Tensor:
    return Tensor(np.greater(_data(a), _data(b)))


def less(a: Any, b: Any) -> Tensor:
    return Tensor(np.less(_data(a), _data(b)))


def expand_dims(x: Tensor, axis: int | tuple[int, ...]) -> Tensor:
    return x.reshape(np.expand_dims(x.data, axis).shape)


def broadcast_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Adding zeros of ``shape`` broadcasts; the adjoint (a sum over the broadcast axes) is
    then ``Add``'s own."""
    if x.shape == tuple(shape):
        return x
    return x + Tensor(np.zeros(shape, dtype=x.dtype))


def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor:
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return x.transpose(order)


def moveaxis(x: Tensor, source: int, destination: int) -> Tensor:
    order = [n for n in range(x.ndim) if n != source % x.ndim]
    order.insert(destination % x.ndim, source % x.ndim)
    return x.transpose(order)


def take(x: Tensor, index: int, axis: int) -> Tensor:
    return x[(slice(None),) * (axis % x.ndim) + (index,)]


def split(x: Tensor, indices: Sequence[int], axis: int = 0) -> list[Tensor]:
    bounds = [0, *map(int, indices), x.shape[axis]]
    lead = (slice(None),) * (axis % x.ndim)
    return [x[lead + (slice(start, stop),)] for start, stop in zip(bounds[:-1], bounds[1:])]


register_tensor_module(Tensor, sys.modules[__name__])
