"""Element-wise arithmetic with NumPy broadcasting; ``unbroadcast`` undoes broadcasting for all.

Every binary op may broadcast its inputs; the adjoint of broadcasting is a sum over the broadcast
axes, done once in ``unbroadcast``.
"""

from __future__ import annotations

import numbers
from typing import Any

from ..autograd import Function
from ..backend import array_module

__all__ = [
    "unbroadcast", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "PowScalar", "Exp", "Log", "Sqrt",
    "Abs", "Clip", "Maximum", "Minimum", "Cast",
]


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


class _OfInput(Function):
    """y = f(x), ``f`` the array-module function named ``function``; the rule reads x
    (``self.x``)."""

    replayable = True  # the rule reads the saved inputs, output and constants only
    function = ""

    def forward(self, x: Any) -> Any:
        self.x = x
        return getattr(array_module(x), self.function)(x)


class _OfOutput(Function):
    """y = f(x), ``f`` the array-module function named ``function``; the rule reads y
    (``self.out``)."""

    replayable = True  # the rule reads the saved inputs, output and constants only
    function = ""

    def forward(self, x: Any) -> Any:
        self.out = getattr(array_module(x), self.function)(x)
        return self.out


class Add(Function):
    """y = a + b; dy/da = 1, dy/db = 1"""

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad: Any) -> Any:
        # Guarded: summing the gradient of a broadcast constant (a mask, a bias) is pure waste.
        parents = self.parents or ()
        a_shape, b_shape = self.shapes
        ga = unbroadcast(grad, a_shape) if parents[0].requires_grad else None
        gb = unbroadcast(grad, b_shape) if parents[1].requires_grad else None
        return ga, gb


class Sub(Function):
    """y = a - b; dy/da = 1, dy/db = -1 (a primitive: one node instead of add + neg)"""

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        a_shape, b_shape = self.shapes
        ga = unbroadcast(grad, a_shape) if parents[0].requires_grad else None
        gb = unbroadcast(-grad, b_shape) if parents[1].requires_grad else None
        return ga, gb


class Mul(Function):
    """y = a · b; dy/da = b, dy/db = a"""

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        a, b = self.a, self.b
        ga = unbroadcast(grad * b, a.shape) if parents[0].requires_grad else None
        gb = unbroadcast(grad * a, b.shape) if parents[1].requires_grad else None
        return ga, gb


class Div(Function):
    """y = a / b; dy/da = 1/b, dy/db = -a/b² = -y/b"""

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b = a.shape, b
        self.out = a / b
        return self.out

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        b = self.b
        scaled = grad / b
        ga = unbroadcast(scaled, self.a_shape) if parents[0].requires_grad else None
        gb = unbroadcast(-scaled * self.out, b.shape) if parents[1].requires_grad else None
        return ga, gb


class Neg(Function):
    """y = -x; dy/dx = -1"""

    replayable = True

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, grad: Any) -> Any:
        return -grad


class Pow(Function):
    """y = a ** b; dy/da = b a^(b-1), dy/db = y ln a

    # NOTE: where a == 0 the ln a term is taken as 0 (the limit for b > 0), as PyTorch does;
    # also in second derivatives (where PyTorch's give nan).
    """

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        a, b = self.a, self.b
        xp = array_module(a)
        ga = gb = None
        if parents[0].requires_grad:
            ga = unbroadcast(grad * b * a ** (b - 1), a.shape)
        if parents[1].requires_grad:
            safe = xp.where(a == 0, a.dtype.type(1), a)
            gb = unbroadcast(grad * self.out * xp.log(safe), b.shape)
        return ga, gb


class PowScalar(Function):
    """y = x ** p for a constant p; dy/dx = p x^(p-1)"""

    replayable = True

    def forward(self, x: Any, exponent: float) -> Any:
        # A NumPy scalar exponent is not "weak" under NumPy's promotion rules (NEP 50):
        # x ** np.float64(2) would turn float32 into float64; a Python number follows x's dtype.
        exponent = int(exponent) if isinstance(exponent, numbers.Integral) else float(exponent)
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, grad: Any) -> Any:
        p = self.exponent
        if p == 2:
            return grad * (2 * self.x)
        return grad * (p * self.x ** (p - 1))


class Exp(_OfOutput):
    """y = eˣ; dy/dx = y"""

    function = "exp"

    def backward(self, grad: Any) -> Any:
        return grad * self.out


class Log(_OfInput):
    """y = ln x; dy/dx = 1/x"""

    function = "log"

    def backward(self, grad: Any) -> Any:
        return grad / self.x


class Sqrt(_OfOutput):
    """y = √x; dy/dx = 1/(2y)"""

    function = "sqrt"

    def backward(self, grad: Any) -> Any:
        return grad / (2 * self.out)


class Abs(Function):
    """y = |x|; dy/dx = sign(x)

    # NOTE: at x == 0 the gradient is 0 (sign(0) = 0), as in PyTorch.
    """

    replayable = True

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).abs(x)

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).sign(self.x)


class Clip(Function):
    """y = min(max(x, lo), hi); dy/dx = 1 where lo <= x <= hi, else 0

    # NOTE: at x == lo or x == hi the gradient is 1 (the bounds are inclusive), as in PyTorch.
    """

    replayable = True

    def forward(self, x: Any, lo: Any, hi: Any) -> Any:
        xp = array_module(x)
        if hi is None:
            self.inside = x >= lo
        else:
            self.inside = (x <= hi) if lo is None else (x >= lo) & (x <= hi)
        return xp.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, grad: Any) -> Any:
        return grad * self.inside


class _Extremum(Function):
    """Shared rule of ``Maximum`` and ``Minimum``: the gradient goes to the chosen input.

    # NOTE: where a == b the gradient is split equally (½ each), as PyTorch does.
    """

    replayable = True

    select = ""  # the array-module function that picks the element
    wins = ""  # the comparison under which ``a`` is picked

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return getattr(array_module(a), self.select)(a, b)

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        xp = array_module(self.a)
        a, b = self.a, self.b
        half = grad.dtype.type(0.5)
        a_share = getattr(xp, self.wins)(a, b) + (a == b) * half
        ga = unbroadcast(grad * a_share, a.shape) if parents[0].requires_grad else None
        gb = unbroadcast(grad * (1 - a_share), b.shape) if parents[1].requires_grad else None
        return ga, gb


class Maximum(_Extremum):
    """y = max(a, b) element-wise; dy/da = [a > b] + ½[a = b]"""

    select, wins = "maximum", "greater"


class Minimum(_Extremum):
    """y = min(a, b) element-wise; dy/da = [a < b] + ½[a = b]"""

    select, wins = "minimum", "less"


class Cast(Function):
    """y = x converted to another dtype; dy/dx = 1 (the gradient is cast back)"""

    replayable = True

    def forward(self, x: Any, dtype: Any) -> Any:
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad: Any) -> Any:
        return grad.astype(self.dtype)
