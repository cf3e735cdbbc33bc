"""Which samples of a global batch this rank reads (``DataLoader(..., shard=True)``), and the
weight its gradient gets.

Every rank draws the same shuffled order (the same seed; ``fit`` also broadcasts rank 0's
loader state) and cuts the same global batches from it; rank r of K then reads the r-th of K
contiguous parts of each. Together the ranks read exactly the global batch a single process
would, so data-parallel training sees the same data in the same order. A batch of n samples
splits into parts of ``n // K`` or ``n // K + 1`` samples (the first ``n mod K`` ranks take one
more); a last batch of fewer than K samples is skipped on every rank (a rank without samples
could not take part in the step).

Parts of different sizes are weighted by their sample count: a rank's gradient of its part's
mean loss enters the average with the factor ``s = n_r K / n`` (``share_scale``), so that
``(1/K) Σ_r s_r g_r = Σ_r (n_r / n) g_r`` is the whole batch's mean gradient. ``s`` is exactly 1
when the parts are equal. The loader records each part it hands out; the gradient buckets and
``SyncBatchNorm`` read the scale of the most recent one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Shard", "loader_shard", "share_scale"]

_share: tuple[int, int, int] | None = None  # (samples here, samples in the batch, ranks)


class Shard:
    """Rank ``rank``'s part of each global batch (see the module).

    Example:
        >>> shard = Shard(rank=1, world_size=4)
        >>> shard.part(slice(0, 10))
        slice(3, 6, None)
        >>> shard.part(np.arange(100, 108)).tolist()
        [102, 103]
    """

    __slots__ = ("rank", "world_size")

    def __init__(self, rank: int, world_size: int):
        if not 0 <= rank < world_size:
            raise ValueError(f"shard: rank {rank} is not in [0, {world_size})")
        self.rank, self.world_size = rank, world_size

    def bounds(self, n: int) -> tuple[int, int]:
        """``[start, stop)`` of this rank's part of a batch of ``n`` samples."""
        size, extra = divmod(n, self.world_size)
        start = self.rank * size + min(self.rank, extra)
        return start, start + size + (self.rank < extra)

    def part(self, index: slice | np.ndarray) -> slice | np.ndarray | None:
        """This rank's part of a global batch given as a slice of the data (``stop`` within
        it) or an index array, recorded for ``share_scale``; None for a batch of fewer samples
        than ranks (skipped everywhere)."""
        global _share
        n = index.stop - index.start if isinstance(index, slice) else len(index)
        if n < self.world_size:
            return None
        first, last = self.bounds(n)
        _share = (last - first, n, self.world_size)
        if isinstance(index, slice):
            return slice(index.start + first, index.start + last)
        return index[first:last]

    def batches(self, n: int, batch_size: int, drop_last: bool) -> int:
        """How many of the global batches of ``n`` samples this rank reads."""
        full, last = divmod(n, batch_size)
        return full + (not drop_last and last >= self.world_size)


def loader_shard(shard: bool) -> Shard | None:
    """The ``Shard`` a ``DataLoader(shard=shard)`` reads with (a single process reads all)."""
    if not isinstance(shard, bool):
        raise TypeError(f"DataLoader: shard must be True or False, got {shard!r}")
    if not shard:
        return None
    from .world import rank, world_size

    return Shard(rank(), world_size())


def share_scale(world_size: int) -> float:
    """``n_r K / n`` for the part most recently read from a sharded loader: this rank's weight
    in the gradient average relative to equal weights (1 without such a part)."""
    if _share is None or _share[2] != world_size:
        return 1.0
    here, total, ranks = _share
    return 1.0 if here * ranks == total else here * ranks / total
