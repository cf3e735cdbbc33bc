"""Function forms of the ``Tensor`` math methods: ``cr.sin(x)`` is ``x.sin()``, for NumPy and
PyTorch habits alike (``cr.arcsin`` and ``cr.asin`` are the same function).

Each takes a tensor (or anything ``cr.tensor`` takes) first, and the method's other arguments
after it; the math and the argument checks are the method's.

Example:
    >>> import chainrule as cr
    >>> cr.cumsum(cr.tensor([1.0, 2.0, 3.0]), axis=0)
    tensor([1., 3., 6.])
    >>> cr.logaddexp(cr.tensor([0.0]), cr.tensor([0.0]))
    tensor([0.6931472])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor

_METHODS = (
    "sin", "cos", "tan", "arcsin", "asin", "arccos", "acos", "arctan", "atan", "sinh", "cosh",
    "tanh", "arcsinh", "asinh", "arccosh", "acosh", "arctanh", "atanh", "exp", "log", "sqrt",
    "abs", "log2", "log10", "log1p", "expm1", "exp2", "rsqrt", "sign", "floor", "ceil", "round",
    "trunc", "clip", "logaddexp", "lerp", "sum", "mean", "var", "std", "prod", "logsumexp",
    "cumsum", "cumprod", "argmax", "argmin", "max", "min", "reshape", "flatten", "unflatten",
    "pad", "flip", "broadcast_to", "tile", "repeat", "repeat_interleave", "take_along_axis",
    "gather", "scatter", "scatter_add", "tril", "triu", "logical_not", "logical_and",
    "logical_or", "logical_xor",
)

__all__ = list(_METHODS)


def _function(name: str) -> Callable[..., Tensor]:
    """``name(x, *args, **kwargs)``, calling ``Tensor.name`` on ``x`` as a tensor."""
    def function(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        tensor = x if isinstance(x, Tensor) else Tensor(x)
        result: Tensor = getattr(tensor, name)(*args, **kwargs)
        return result

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = f"``Tensor.{name}`` as a function: " + (getattr(Tensor, name).__doc__
                                                                or name)
    return function


globals().update({name: _function(name) for name in _METHODS})
