"""``pad`` with PyTorch's argument order: the widths of the last axis first.

``pad=(left, right)`` pads the last axis; ``(left, right, top, bottom)`` the last two, and so
on. The padding itself is ``Tensor.pad`` (NumPy's order, one (before, after) pair per axis).
"""

from __future__ import annotations

import numbers

from ...tensor import Tensor
from ._checks import ArgumentValueError, require_one_of, require_tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad) / 2`` axes of ``x`` (PyTorch's ``F.pad``).

    Args:
        x: the tensor.
        pad: ``(before, after)`` widths, last axis first: ``(left, right, top, bottom)``.
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror, edge not
            repeated), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap around).
        value: the fill of ``'constant'``.

    Shape:
        - x: ``(*, n_k, …, n_1)``; output: each padded axis ``n_i + before_i + after_i``.

    Raises:
        ValueError: naming ``pad``, for an odd length, more pairs than axes, a negative width
            or a reflection wider than the axis.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 2.0, 3.0]])
        >>> cr.nn.functional.pad(x, (1, 2), mode="reflect")
        tensor([[2., 1., 2., 3., 2., 1.]])
    """
    where = "pad"
    require_tensor(where, x)
    require_one_of(where, "mode", mode, _MODES)
    widths = tuple(pad)
    if len(widths) % 2 or len(widths) // 2 > x.ndim or not all(
            isinstance(w, numbers.Integral) and w >= 0 for w in widths):
        raise ArgumentValueError(where, f"pad must hold non-negative (before, after) int pairs, "
                                        f"at most one per axis ({x.ndim}), got {pad!r}")
    pairs = [(0, 0)] * (x.ndim - len(widths) // 2) + [
        (int(widths[i]), int(widths[i + 1])) for i in range(len(widths) - 2, -1, -2)]
    try:
        return x.pad(pairs, mode=mode, value=value)
    except ValueError as error:
        raise ArgumentValueError(where, f"{error} (input shape {x.shape})") from None
