"""Reading sizes from untrusted constructor arguments, for the layers' ``state_size``.

``load_model`` sizes a model from its architecture before building it, so the arguments here
come from a file: each must be a real integer in range (never a bool, a float or a string, and
never negative, which could turn a product of sizes into a small positive number).

Example:
    >>> size("Linear", {"in_features": 3}, "in_features")
    3
    >>> size("Linear", {"in_features": -3}, "in_features")
    Traceback (most recent call last):
    ...
    ValueError: Linear: in_features must be an integer >= 0, got -3
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["size", "shape_size"]


def size(owner: str, arguments: Mapping[str, object], name: str, minimum: int = 0) -> int:
    """``arguments[name]``, checked to be an integer >= ``minimum`` (ValueError otherwise)."""
    value = arguments.get(name)
    if not (type(value) is int and value >= minimum):
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r:.50}")
    return value


def shape_size(owner: str, arguments: Mapping[str, object], name: str,
               length: int | None = None) -> int:
    """The product of ``arguments[name]``: an integer, or a list of ``length`` integers (any
    length when None; an integer stands for ``length`` copies of itself)."""
    value = arguments.get(name)
    if type(value) is int:
        return int(size(owner, arguments, name) ** (length or 1))
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
        raise ValueError(f"{owner}: {name} must be an integer or a list of "
                         f"{length or 'some'} integers, got {value!r:.50}")
    return math.prod(size(owner, {name: n}, name) for n in value)
