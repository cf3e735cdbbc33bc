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

import math
import numbers
from typing import Any

import numpy as np

from ...tensor import Tensor

__all__ = ["ArgumentError", "ArgumentValueError", "ArgumentTypeError", "ArgumentIndexError",
           "not_a_tensor", "require_tensor", "require_float", "require_one_of",
           "require_probability", "require_real", "require_flags", "require_size",
           "require_filters"]


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


def require_probability(where: str, argument: str, value: Any) -> None:
    """A probability such as dropout's ``p`` must lie in [0, 1]."""
    require_real(where, argument, value, 0.0, 1.0)


def require_real(where: str, argument: str, value: Any, low: float = -math.inf,
                 high: float = math.inf, *, low_open: bool = False) -> None:
    """A setting such as ``eps`` or a slope must be a finite real number (not a bool) in
    ``[low, high]`` (``(low, high]`` with ``low_open``): a layer built from a file gets the
    same check as one built in code, at construction rather than deep in its forward pass."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ArgumentTypeError(where, f"{argument} must be a finite real number, got "
                                f"{value!r:.80}")
    number = float(value)
    if not (low < number if low_open else low <= number) or number > high:
        bound = f"{'>' if low_open else '>='} {low:g}" if high == math.inf else \
            f"in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise ArgumentValueError(where, f"{argument} must be {bound}, got {value!r}")


def require_flags(where: str, **flags: Any) -> None:
    """Switches such as ``bias`` must be bools (a string "false" would count as true)."""
    for argument, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ArgumentTypeError(where, f"{argument} must be True or False, got "
                                    f"{value!r:.80}")


def require_size(where: str, argument: str, value: Any, minimum: int = 1) -> None:
    """A size such as ``in_features`` must be an integer (not a bool) >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(where, f"{argument} must be an integer, got {value!r:.80}")
    if value < minimum:
        raise ArgumentValueError(where, f"{argument} must be >= {minimum}, got {value}")


def require_filters(where: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: Any,
                    axes: str, transposed: bool = False) -> int:
    """A convolution's input ``x`` (N, C, *axes), filter bank ``weight`` (O, C/groups, *k) —
    (C, O/groups, *k) when ``transposed`` — optional ``bias`` (O,) and ``groups`` must agree;
    ``axes`` names the spatial axes (``"H, W"``). Returns the output channels O."""
    require_tensor(where, x)
    rank = 2 + len(axes.split(", "))
    outer, inner = ("in", "out") if transposed else ("out", "in")
    if weight.ndim != rank:
        kernel = ", ".join("k" + axis.lower() for axis in axes.split(", "))
        raise ArgumentValueError(where, f"weight must be ({outer}_channels, {inner}_channels/"
                                        f"groups, {kernel}), got shape {weight.shape}")
    grouped, per_group = weight.shape[:2]
    if not isinstance(groups, numbers.Integral) or groups < 1 or grouped % groups:
        raise ArgumentValueError(where, f"groups must be a positive divisor of {outer}_channels "
                                        f"({grouped}), got {groups!r}")
    channels, out_channels = ((grouped, per_group * int(groups)) if transposed
                              else (per_group * int(groups), grouped))
    if x.ndim != rank or x.shape[1] != channels:
        raise ArgumentValueError(
            where, f"expected input of shape (N, {channels}, {axes}), got {x.shape}")
    require_float(where, x, like=weight.dtype)
    if bias is not None and bias.shape != (out_channels,):
        raise ArgumentValueError(where, f"bias must have shape ({out_channels},), got "
                                        f"{bias.shape}")
    return out_channels
