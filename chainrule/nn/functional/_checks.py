"""The errors argument checks raise, and the checks every functional family shares.

``nn.functional`` is the one layer that validates arguments; ops assume valid inputs. A check names
the function it guards (``linear: expected input of shape (..., 4), got (2, 5)``). When the function
was called by a layer, ``Module.__call__`` puts the layer in the function's place
(``Linear(in_features=4, out_features=3, bias=True): expected input of shape (..., 4), got (2,
5)``), so no check needs to be told who called it. A module checks its constructor arguments
with the same helpers, naming its class (``Dropout: p must be in [0, 1], got 1.5``).

Example:
    >>> import chainrule as cr, numpy as np
    >>> try:
    ...     cr.nn.Linear(4, 3)(cr.tensor(np.zeros((2, 5), np.float32)))
    ... except ValueError as error:
    ...     print(error.where)
    ...     print(error.problem)
    Linear(in_features=4, out_features=3, bias=True)
    expected input of shape (..., 4), got (2, 5) (weight of shape (3, 4))
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor

__all__ = ["ArgumentError", "ArgumentValueError", "ArgumentTypeError", "ArgumentIndexError",
           "not_a_tensor", "require_tensor", "require_float", "require_one_of",
           "require_probability"]


class ArgumentError(Exception):
    """A failed argument check: ``where`` (a function, then the layer that called it) and what
    is wrong. Raised as ``ArgumentValueError`` or ``ArgumentTypeError``, which users catch as
    ``ValueError`` / ``TypeError``."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem
        self.named_by_layer = False

    def for_layer(self, layer: str) -> ArgumentError:
        """The same error, naming ``layer`` instead of the function."""
        renamed = type(self)(layer, self.problem)
        renamed.named_by_layer = True
        return renamed


class ArgumentValueError(ArgumentError, ValueError):
    """A shape or value that cannot be right."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type or dtype."""


class ArgumentIndexError(ArgumentError, IndexError):
    """An index out of range (an embedding id), caught as ``IndexError``."""


def not_a_tensor(where: str, x: object) -> ArgumentTypeError:
    """The error for an ``x`` that is not a ``Tensor``. Functions as cheap as an activation
    test ``isinstance(x, Tensor)`` themselves and raise this (half the cost of a call to
    ``require_tensor``)."""
    return ArgumentTypeError(where, f"expected a Tensor, got {type(x).__name__}; wrap arrays "
                                    "with cr.tensor(x)")


def require_tensor(where: str, x: object) -> None:
    """``x`` must be a ``Tensor`` (arrays are wrapped with ``cr.tensor`` by the user)."""
    if not isinstance(x, Tensor):
        raise not_a_tensor(where, x)


def require_float(where: str, x: Tensor, like: object = None) -> None:
    """``x`` must hold floating-point numbers (``like``: the dtype suggested for converting)."""
    if x.dtype.kind != "f":
        suggestion = like if like is not None else "float32"
        raise ArgumentTypeError(where, f"expected floating-point input, got dtype {x.dtype}; "
                                       f"convert it with x.astype('{suggestion}')")


def require_one_of(where: str, argument: str, value: Any, choices: tuple[Any, ...]) -> None:
    """An option such as ``reduction`` must be one of ``choices``."""
    if value not in choices:
        raise ArgumentValueError(where, f"{argument} must be one of {choices}, got {value!r}")


def require_probability(where: str, argument: str, value: float) -> None:
    """A probability such as dropout's ``p`` must lie in [0, 1]."""
    if not 0 <= value <= 1:
        raise ArgumentValueError(where, f"{argument} must be in [0, 1], got {value}")
