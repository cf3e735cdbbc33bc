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

__all__ = list(_METHODS)  # each defined below: ``sin = _function("sin")``


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


sin = _function("sin")
cos = _function("cos")
tan = _function("tan")
arcsin = _function("arcsin")
asin = _function("asin")
arccos = _function("arccos")
acos = _function("acos")
arctan = _function("arctan")
atan = _function("atan")
sinh = _function("sinh")
cosh = _function("cosh")
tanh = _function("tanh")
arcsinh = _function("arcsinh")
asinh = _function("asinh")
arccosh = _function("arccosh")
acosh = _function("acosh")
arctanh = _function("arctanh")
atanh = _function("atanh")
exp = _function("exp")
log = _function("log")
sqrt = _function("sqrt")
abs = _function("abs")
log2 = _function("log2")
log10 = _function("log10")
log1p = _function("log1p")
expm1 = _function("expm1")
exp2 = _function("exp2")
rsqrt = _function("rsqrt")
sign = _function("sign")
floor = _function("floor")
ceil = _function("ceil")
round = _function("round")
trunc = _function("trunc")
clip = _function("clip")
logaddexp = _function("logaddexp")
lerp = _function("lerp")
sum = _function("sum")
mean = _function("mean")
var = _function("var")
std = _function("std")
prod = _function("prod")
logsumexp = _function("logsumexp")
cumsum = _function("cumsum")
cumprod = _function("cumprod")
argmax = _function("argmax")
argmin = _function("argmin")
max = _function("max")
min = _function("min")
reshape = _function("reshape")
flatten = _function("flatten")
unflatten = _function("unflatten")
pad = _function("pad")
flip = _function("flip")
broadcast_to = _function("broadcast_to")
tile = _function("tile")
repeat = _function("repeat")
repeat_interleave = _function("repeat_interleave")
take_along_axis = _function("take_along_axis")
gather = _function("gather")
scatter = _function("scatter")
scatter_add = _function("scatter_add")
tril = _function("tril")
triu = _function("triu")
logical_not = _function("logical_not")
logical_and = _function("logical_and")
logical_or = _function("logical_or")
logical_xor = _function("logical_xor")
