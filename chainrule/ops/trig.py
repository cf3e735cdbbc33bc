"""Trigonometric and hyperbolic functions and their inverses, element-wise.

Each backward rule is written with operators and ``array_module`` functions on the saved input
or output only, so it can be recorded again for a second derivative. (``tanh`` is in
``activation``.)
"""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .elementwise import _OfInput, _OfOutput

__all__ = ["Sin", "Cos", "Tan", "Arcsin", "Arccos", "Arctan", "Sinh", "Cosh", "Arcsinh",
           "Arccosh", "Arctanh"]


class Sin(_OfInput):
    """y = sin x; dy/dx = cos x"""

    function = "sin"

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).cos(self.x)


class Cos(_OfInput):
    """y = cos x; dy/dx = -sin x"""

    function = "cos"

    def backward(self, grad: Any) -> Any:
        return -grad * array_module(self.x).sin(self.x)


class Tan(_OfOutput):
    """y = tan x; dy/dx = 1 + y²"""

    function = "tan"

    def backward(self, grad: Any) -> Any:
        return grad * (1 + self.out * self.out)


class Arcsin(_OfInput):
    """y = arcsin x; dy/dx = 1 / √(1 - x²)   (|x| < 1)"""

    function = "arcsin"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(1 - x * x)


class Arccos(_OfInput):
    """y = arccos x; dy/dx = -1 / √(1 - x²)   (|x| < 1)"""

    function = "arccos"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return -grad / array_module(x).sqrt(1 - x * x)


class Arctan(_OfInput):
    """y = arctan x; dy/dx = 1 / (1 + x²)"""

    function = "arctan"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / (1 + x * x)


class Sinh(_OfInput):
    """y = sinh x; dy/dx = cosh x"""

    function = "sinh"

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).cosh(self.x)


class Cosh(_OfInput):
    """y = cosh x; dy/dx = sinh x"""

    function = "cosh"

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).sinh(self.x)


class Arcsinh(_OfInput):
    """y = arsinh x; dy/dx = 1 / √(x² + 1)"""

    function = "arcsinh"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(x * x + 1)


class Arccosh(_OfInput):
    """y = arcosh x; dy/dx = 1 / √(x² - 1)   (x > 1)"""

    function = "arccosh"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(x * x - 1)


class Arctanh(_OfInput):
    """y = artanh x; dy/dx = 1 / (1 - x²)   (|x| < 1)"""

    function = "arctanh"

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / (1 - x * x)
