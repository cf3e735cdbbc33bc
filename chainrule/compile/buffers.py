"""The plan's buffers: arrays allocated once when a plan is built and rewritten at every replay.

A buffer belongs to one kernel's output (a dense layer's product, a gradient); the plan asks
``owns`` before handing an array to something that keeps it (a leaf's ``.grad`` gets a copy of
a buffer, unless the buffer was made for that very gradient).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Buffers"]


class Buffers:
    """Allocates the plan's arrays and remembers which arrays are its own.

    Example:
        >>> import numpy as np
        >>> buffers = Buffers()
        >>> out = buffers.new((2, 3), np.float32)
        >>> buffers.owns(out), buffers.owns(np.empty(1)), buffers.nbytes
        (True, False, 24)
    """

    def __init__(self) -> None:
        self._arrays: dict[int, np.ndarray] = {}

    def new(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A C-ordered array of ``shape`` and ``dtype`` (contents undefined)."""
        return self._keep(np.empty(shape, dtype=dtype))

    def like(self, array: np.ndarray) -> np.ndarray:
        """An array shaped, typed and laid out like ``array`` (a column-major weight's gradient
        is column-major, as the eager rule writes it)."""
        return self._keep(np.empty_like(array))

    def owns(self, array: np.ndarray) -> bool:
        """Whether ``array`` is one of the plan's buffers."""
        return id(array) in self._arrays

    @property
    def nbytes(self) -> int:
        """The memory held by the buffers."""
        return sum(a.nbytes for a in self._arrays.values())

    def _keep(self, array: np.ndarray) -> np.ndarray:
        self._arrays[id(array)] = array
        return array
