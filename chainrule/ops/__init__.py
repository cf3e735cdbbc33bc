"""The differentiable primitives, and the free functions that combine several tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor, _as_tensor, _binary
from .elementwise import Maximum, Minimum
from .shape import Concatenate, Stack, Where

__all__ = ["concatenate", "stack", "where", "maximum", "minimum"]


def _tensors(tensors: Sequence) -> tuple[Tensor, ...]:
    if not tensors:
        raise ValueError("need at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        return tuple(Tensor(t) for t in tensors)
    return tuple(_as_tensor(t, like) for t in tensors)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis`` (NumPy's ``concatenate``)."""
    return Concatenate.apply(*_tensors(tensors), axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis`` (NumPy's ``stack``)."""
    return Stack.apply(*_tensors(tensors), axis=axis)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b``, with broadcasting; ``condition`` is constant."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    condition = np.asarray(condition, dtype=bool)
    a, b = _tensors((a, b))
    return Where.apply(a, b, condition=condition)


def maximum(a, b) -> Tensor:
    """Element-wise maximum; where ``a == b`` each gets half the gradient."""
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    """Element-wise minimum; where ``a == b`` each gets half the gradient."""
    return _binary(Minimum, a, b)
