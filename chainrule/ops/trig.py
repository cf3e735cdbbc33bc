"""Trigonometric and hyperbolic functions and their inverses, element-wise.

Each backward rule is written with operators and ``array_module`` functions on the saved input
or output only, so it can be recorded again for a second derivative. (``tanh`` is in
``activation``.)
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module

__all__ = ["Sin", "Cos", "Tan", "Arcsin", "Arccos", "Arctan", "Sinh", "Cosh", "Arcsinh",
           "Arccosh", "Arctanh"]


class Sin(Function):
    """y = sin x; dy/dx = cos x"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).sin(x)

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).cos(self.x)


class Cos(Function):
    """y = cos x; dy/dx = -sin x"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).cos(x)

    def backward(self, grad: Any) -> Any:
        return -grad * array_module(self.x).sin(self.x)


class Tan(Function):
    """y = tan x; dy/dx = 1 + y²"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.out = array_module(x).tan(x)
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * (1 + self.out * self.out)


class Arcsin(Function):
    """y = arcsin x; dy/dx = 1 / √(1 - x²)   (|x| < 1)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arcsin(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(1 - x * x)


class Arccos(Function):
    """y = arccos x; dy/dx = -1 / √(1 - x²)   (|x| < 1)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arccos(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return -grad / array_module(x).sqrt(1 - x * x)


class Arctan(Function):
    """y = arctan x; dy/dx = 1 / (1 + x²)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arctan(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / (1 + x * x)


class Sinh(Function):
    """y = sinh x; dy/dx = cosh x"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).sinh(x)

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).cosh(self.x)


class Cosh(Function):
    """y = cosh x; dy/dx = sinh x"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).cosh(x)

    def backward(self, grad: Any) -> Any:
        return grad * array_module(self.x).sinh(self.x)


class Arcsinh(Function):
    """y = arsinh x; dy/dx = 1 / √(x² + 1)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arcsinh(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(x * x + 1)


class Arccosh(Function):
    """y = arcosh x; dy/dx = 1 / √(x² - 1)   (x > 1)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arccosh(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / array_module(x).sqrt(x * x - 1)


class Arctanh(Function):
    """y = artanh x; dy/dx = 1 / (1 - x²)   (|x| < 1)"""

    replayable = True  # the rule reads the saved inputs, output and constants only

    def forward(self, x: Any) -> Any:
        self.x = x
        return array_module(x).arctanh(x)

    def backward(self, grad: Any) -> Any:
        x = self.x
        return grad / (1 - x * x)
