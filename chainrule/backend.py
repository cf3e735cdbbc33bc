"""Which array module an array belongs to, and the few helpers NumPy and CuPy spell differently.

Op code never imports NumPy directly for its math: it asks ``array_module(x)`` so that a GPU
backend (CuPy mirrors NumPy's API) can later be added here rather than in every op.
"""

from __future__ import annotations

import numpy as np

__all__ = ["array_module", "scatter_add", "sliding_window_view"]


def array_module(array):
    """Return the array module (``numpy`` today) that ``array`` belongs to."""
    if type(array) is np.ndarray or np.isscalar(array):
        return np
    module = type(array).__module__.split(".")[0]
    if module == "cupy":  # pragma: no cover - no GPU backend yet
        import cupy

        return cupy
    return np


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (NumPy's ``add.at``)."""
    array_module(target).add.at(target, index, values)


def sliding_window_view(array, window_shape, axis=None):
    """Read-only strided windows over ``array`` (no copy)."""
    return np.lib.stride_tricks.sliding_window_view(array, window_shape, axis=axis)
