"""The errors argument checks raise, and the checks every functional family shares.

``nn.functional`` is the one layer that validates arguments; ops assume valid inputs. A check names
the function it guards (``linear: expected input of shape (..., 4), got (2, 5)``). When the function
was called by a layer, ``Module.__call__`` puts the layer in the function's place
(``Linear(in_features=4, out_features=3, bias=True): expected input of shape (..., 4), got (2,
5)``), so no check needs to be told who called it.

Example:
    >>> import chainrule as cr, numpy as np
    >>> try:
    ...     cr.nn.Linear(4, 3)(cr.tensor(np.zeros((2, 5), np.float32)))
    ... except ValueError as error:
    ...     print(error)
    Linear(in_features=4, out_features=3, bias=True): expected input of shape (..., 4), got (2, 5)
"""

from __future__ import annotations

from ...tensor import Tensor

__all__ = ["ArgumentError", "ArgumentValueError", "ArgumentTypeError", "ArgumentIndexError",
           "require_tensor", "require_float"]


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


def require_tensor(where: str, x) -> None:
    """``x`` must be a ``Tensor`` (arrays are wrapped with ``cr.tensor`` by the user)."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(where, f"expected a Tensor, got {type(x).__name__}; wrap arrays "
                                       "with cr.tensor(x)")


def require_float(where: str, x: Tensor, like=None) -> None:
    """``x`` must hold floating-point numbers (``like``: the dtype suggested for converting)."""
    if x.dtype.kind != "f":
        suggestion = like if like is not None else "float32"
        raise ArgumentTypeError(where, f"expected floating-point input, got dtype {x.dtype}; "
                                       f"convert it with x.astype('{suggestion}')")
