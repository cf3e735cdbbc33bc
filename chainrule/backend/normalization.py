"""The two full-size passes of batch and layer normalisation's backward, without temporaries.

What it computes: ``sum_product(a, b, axes) = Σ a ⊙ b`` over ``axes`` (kept as length 1), and
``multiply_subtract(g, a, x, b, c) = g a - x b - c`` with ``a``, ``b``, ``c`` broadcast: every
normalisation's input gradient has that second form.

Why it is fast: a batch of feature maps is megabytes, so each full-size temporary costs memory
traffic (and, from the allocator, page faults). ``einsum`` reduces the product without writing
``a ⊙ b``; ``multiply_subtract`` makes two passes into workspace memory with one temporary,
where the expression ``g * a - x * b - c`` would make three.

A CuPy formulation would be one ``ReductionKernel`` and one ``ElementwiseKernel``.
"""

from __future__ import annotations

from typing import Any

from .arrays import array_module
from .workspace import empty

__all__ = ["multiply_subtract", "sum_product"]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def sum_product(a: Any, b: Any, axes: tuple[int, ...]) -> Any:
    """``Σ a ⊙ b`` over ``axes`` (kept as length 1), without an ``a ⊙ b`` temporary."""
    letters = _LETTERS[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    total = array_module(a).einsum(f"{letters},{letters}->{kept}", a, b)
    return total.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])


def multiply_subtract(g: Any, g_scale: Any, x: Any, x_scale: Any, shift: Any) -> Any:
    """``g · g_scale - x · x_scale - shift`` (the scales broadcast) in two full passes and one
    temporary."""
    xp = array_module(g)
    dtype = xp.result_type(g, g_scale, x)
    out = xp.multiply(g, g_scale, out=empty(xp, g.shape, dtype))
    out -= xp.multiply(x, x_scale, out=empty(xp, g.shape, dtype))
    out -= shift
    return out
