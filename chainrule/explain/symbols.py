"""One symbol per value of the pass, in the textbook's notation.

The model's input is ``a[0]``; a layer with parameters starts layer ``l`` and makes ``z[l]``,
its activation ``a[l]``. A value made without parameters (a reshape, a pooling, a residual
sum) is named after the value it came from with one more prime: ``a[0]′ = Flatten(a[0])``
(four primes and more are written ``′⁴``). Constants are ``c₁, c₂, …``. A name is never given
twice, so each symbol means one array throughout the report.
"""

from __future__ import annotations

import re

from .trace import Value

__all__ = ["Names", "primes", "unprimed"]

_PRIMED = re.compile(r"(.*?)(′[⁰¹²³⁴⁵⁶⁷⁸⁹]+|‴|″|′)?$")
_MARKS = {"": 0, "′": 1, "″": 2, "‴": 3}
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def primes(count: int) -> str:
    """``count`` primes: ``′``, ``″``, ``‴``, then ``′⁴``, ``′⁵``, …

    Example:
        >>> primes(2), primes(12)
        ('″', '′¹²')
    """
    if count < 4:
        return "".join(mark for mark, n in _MARKS.items() if n == count)
    return "′" + str(count).translate(_SUPERSCRIPTS)


def _split(symbol: str) -> tuple[str, int]:
    match = _PRIMED.fullmatch(symbol)
    assert match is not None  # the pattern matches every string
    root, mark = match.groups()
    if not mark:
        return root, 0
    if mark in _MARKS:
        return root, _MARKS[mark]
    return root, int(mark[1:].translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")))


def unprimed(symbol: str) -> str:
    """``symbol`` without its primes.

    Example:
        >>> unprimed("a[0]″"), unprimed("z[1]′¹²")
        ('a[0]', 'z[1]')
    """
    return _split(symbol)[0]


class Names:
    """The symbols given so far: ``names[value]`` is a value's symbol.

    Example:
        >>> import numpy as np
        >>> from chainrule.explain.trace import Value
        >>> names = Names()
        >>> first, second = (Value(np.zeros(2), "output") for _ in range(2))
        >>> names.give(first, "a[1]"), names.give(second, "a[1]")
        ('a[1]', 'a[1]′')
    """

    def __init__(self):
        self._of: dict[Value, str] = {}
        self._used: set[str] = set()
        self._constants = 0

    def __getitem__(self, value: Value) -> str:
        return self._of[value]

    def __contains__(self, value: Value) -> bool:
        return value in self._of

    def give(self, value: Value, symbol: str) -> str:
        """Name ``value`` ``symbol``, or with more primes when that is taken."""
        while symbol in self._used:
            symbol = self.primed(symbol)
        self._of[value] = symbol
        self._used.add(symbol)
        return symbol

    def primed(self, symbol: str) -> str:
        """``symbol`` with one more prime than it has, and more if that one is taken."""
        root, count = _split(symbol)
        count += 1
        while root + primes(count) in self._used:
            count += 1
        return root + primes(count)

    def constant(self, value: Value) -> str:
        self._constants += 1
        return self.give(value, "c" + str(self._constants).translate(_SUBSCRIPTS))
