"""The one spelling rule of every name that selects something: activations, losses,
optimizers, metrics, models, data sets and initialisation gains.

Case, ``-`` and ``_`` do not matter, so ``"leaky_relu"``, ``"leaky-relu"`` and ``"LeakyReLU"``
name one activation and ``"char-lm"``, ``"char_lm"`` one model. Every lookup by name goes
through ``lookup``, so the rule and the error for an unknown name are the same everywhere.

Example:
    >>> lookup("model", "Char_LM", {"mlp": 1, "char-lm": 2})
    2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["normalize", "lookup"]

T = TypeVar("T")


def normalize(name: str) -> str:
    """``name`` in lower case without ``-`` and ``_``: two names match when these agree.

    Example:
        >>> normalize("Leaky_ReLU"), normalize("fashion-mnist")
        ('leakyrelu', 'fashionmnist')
    """
    return name.lower().replace("_", "").replace("-", "")


def lookup(kind: str, name, table: Mapping[str, T], *, listed: Iterable[str] | None = None,
           also: str = "") -> T:
    """The entry of ``table`` whose key matches ``name`` under the spelling rule.

    Args:
        kind: what is looked up, for the error ("activation", "optimizer", …).
        name: the name given by the user (anything that is not a string is unknown).
        table: the known names and what they select.
        listed: the names the error suggests (all keys of ``table`` by default).
        also: what else the caller accepts, appended to the suggestions (", or a callable").

    Raises:
        ValueError: ``unknown {kind} {name!r}; expected one of …`` for an unknown name.
    """
    if isinstance(name, str):
        wanted = normalize(name)
        for key, value in table.items():
            if normalize(key) == wanted:
                return value
    names = ", ".join(table if listed is None else listed)
    raise ValueError(f"unknown {kind} {name!r}; expected one of {names}{also}")
