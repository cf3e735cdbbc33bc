"""Memory for the big arrays of convolution, pooling and normalisation, reused between steps.

What it computes: nothing; ``empty(xp, shape, dtype)`` is ``xp.empty(shape, dtype)``, and
``zeros`` and ``copy`` are built on it.

Why it is fast: a fresh multi-megabyte array costs a page fault per 4 KiB on first touch, and
between training steps the C allocator hands freed memory back to the system. Measured on the
LeNet benchmark, that was 150,000 faults and half the CPU time of an epoch. So for NumPy, blocks
are kept in a ``Workspace`` and lent out again once nothing uses them any more.

When a block is free: each loan is an array made with ``np.frombuffer`` over a ``memoryview`` of
the block. NumPy collapses a view's ``base`` chain only through arrays, so every view, reshape or
strided window of the loan keeps *the loan itself* alive; the workspace holds only a weak
reference to it. The block is free exactly when that reference is dead: no refcount arithmetic,
so it is correct on any Python (where the collector runs late, a block is simply reused later).
Reuse is never visible to a caller: an output the user keeps, or a graph that is still alive,
keeps its block. An op gives a block back early by dropping its last reference to the array
(the convolution drops its patch matrix once the weight gradient is computed).

Other array modules pool device memory themselves (CuPy's memory pool), so they bypass this.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

import numpy as np

__all__ = ["Workspace", "copy", "empty", "zeros"]


def _never_lent():
    return None


class _Block:
    """One pooled allocation and a weak reference to the array it is lent as."""

    __slots__ = ("memory", "buffer", "nbytes", "loan")

    def __init__(self, nbytes: int):
        self.memory = np.empty(nbytes, np.uint8)
        self.buffer = self.memory.data  # a memoryview of the block
        self.nbytes = nbytes
        self.loan = _never_lent  # called, it gives the loan while that is alive, else None

    def lend(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        # Over a memoryview: views of the loan then keep the loan (not the block) alive.
        loan = np.frombuffer(self.buffer, dtype=dtype, count=math.prod(shape))
        self.loan = weakref.ref(loan)
        return loan.reshape(shape)


class Workspace:
    """A pool of large blocks, lent as arrays and reused once no array uses them.

    Small arrays come from the allocator's free lists cheaply and are not pooled; at most
    ``max_bytes`` are kept (least recently used free blocks go first); a request that would not
    fit beside the blocks in use is allocated outside the pool.

    Example:
        >>> import numpy as np
        >>> pool = Workspace()
        >>> a = pool.empty((256, 256), np.float32)
        >>> address = a.ctypes.data
        >>> del a  # nothing uses the block any more
        >>> pool.empty((256, 256), np.float32).ctypes.data == address
        True
    """

    min_bytes = 1 << 18
    max_bytes = 1 << 28

    def __init__(self):
        self._blocks: list[_Block] = []  # least recently used first
        self._lock = threading.Lock()

    def empty(self, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype)
        with self._lock:
            blocks, best, best_size = self._blocks, None, 0
            for i, block in enumerate(blocks):
                size = block.nbytes
                if nbytes <= size <= 2 * nbytes and block.loan() is None \
                        and (best is None or size < best_size):
                    best, best_size = i, size
            lent = blocks.pop(best) if best is not None else self._new(nbytes)
            if lent is not None:
                blocks.append(lent)
                return lent.lend(shape, dtype)
        return np.empty(shape, dtype)

    def _new(self, nbytes: int) -> _Block | None:
        """A new block, after evicting free blocks to stay within ``max_bytes`` (None when the
        blocks in use leave no room)."""
        blocks = self._blocks
        total = sum(block.nbytes for block in blocks) + nbytes
        i = 0
        while total > self.max_bytes and i < len(blocks):
            if blocks[i].loan() is None:
                total -= blocks.pop(i).nbytes
            else:
                i += 1
        return _Block(nbytes) if total <= self.max_bytes else None


_workspace = Workspace()


def empty(xp, shape: tuple, dtype):
    """An uninitialised array of array module ``xp``, from the workspace for NumPy."""
    return _workspace.empty(shape, dtype) if xp is np else xp.empty(shape, dtype)


def zeros(xp, shape: tuple, dtype):
    """``empty`` filled with zeros."""
    out = empty(xp, shape, dtype)
    out.fill(0)
    return out


def copy(xp: Any, array: Any) -> Any:
    """A C-contiguous copy of ``array`` (any strides) in workspace memory."""
    out = empty(xp, array.shape, array.dtype)
    xp.copyto(out, array)
    return out
