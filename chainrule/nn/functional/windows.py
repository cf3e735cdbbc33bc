"""Checks of the window arguments that convolution and pooling share (``kernel_size``,
``stride``, ``padding``, ``dilation``), and the sweep they describe.

Each check names the function it guards (``where``); a layer calling that function is named in
its place by ``Module.__call__``. Layers that size their parameters from these arguments in
``__init__`` (``Conv2d``) use ``pair`` with their own name.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ...backend.windows import Windows
from ._checks import ArgumentValueError

__all__ = ["IntOrPair", "pair", "padding_pairs", "sweep"]

# A window argument as layers take it: one int for both axes, or one per axis (a saved
# architecture gives a list).
IntOrPair = int | Sequence[int]


def pair(where: str, value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair_ = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    # (numbers.Integral has no order in the type stubs)
    if len(pair_) != 2 or not all(isinstance(v, numbers.Integral) and v >= minimum  # type: ignore[operator]
                                  for v in pair_):
        raise ArgumentValueError(where, f"{name} must be an int >= {minimum} or a pair of them, "
                                        f"got {value!r}")
    return int(pair_[0]), int(pair_[1])


def padding_pairs(where: str, value: IntOrPair | str, kernel: tuple[int, int],
                  dilation: tuple[int, int], stride: tuple[int, int]
                  ) -> tuple[tuple[int, int], ...]:
    """``padding`` (int, pair, ``'valid'`` or ``'same'``) as ``((top, bottom), (left, right))``.

    ``'same'`` keeps the spatial size at stride 1; an odd total is split with the extra row or
    column at the bottom/right, as PyTorch does."""
    if isinstance(value, str):
        if value == "valid":
            return (0, 0), (0, 0)
        if value != "same":
            raise ArgumentValueError(where, f"padding must be an int, a pair, 'valid' or 'same', "
                                            f"got {value!r}")
        if stride != (1, 1):
            raise ArgumentValueError(where, f"padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = pair(where, value, "padding", 0)
    return (ph, ph), (pw, pw)


def sweep(where: str, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
          padding: tuple[tuple[int, int], ...], dilation: tuple[int, int]) -> Windows:
    """The windows over an input of ``shape`` (…, H, W), checked to hold at least one;
    ``padding`` as ``((top, bottom), (left, right))``."""
    windows = Windows.over(shape[-2:], kernel, stride, padding, dilation)
    if min(windows.out) < 1:
        padded = [n + sum(p) for n, p in zip(shape[-2:], padding)]
        raise ArgumentValueError(
            where, f"kernel {tuple(kernel)} with dilation {tuple(dilation)} spans "
                   f"{windows.span(0)}x{windows.span(1)} but the padded input is only "
                   f"{padded[0]}x{padded[1]} (input shape {tuple(shape)}, padding "
                   f"{tuple(padding)})"
        )
    return windows
