"""Which samples of a global batch this rank reads (``DataLoader(..., shard=True)``).

Every rank draws the same shuffled order (the same seed; ``fit`` also broadcasts rank 0's
loader state) and cuts the same global batches from it; rank r of K then reads the r-th of K
contiguous parts of each. Taken together the ranks read exactly the global batch a single
process would, so data-parallel training sees the same data in the same order.

Two ways to cut a batch of n samples:

- ``"equal"`` (training): ``n // K`` samples each. Gradients are averaged over ranks with equal
  weights, which is the batch's mean gradient only when the shares are equal, so a last batch
  that does not split evenly loses its last ``n mod K`` samples (fewer than K per epoch,
  different ones each epoch when shuffling); a batch smaller than K is skipped.
- ``"all"`` (evaluation): every sample once; shares differ by at most one sample (the first
  ``n mod K`` ranks take one more), and some ranks may get none of a small last batch.
  Metrics are then combined weighted by sample count.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Shard", "SHARD_MODES", "loader_shard"]

SHARD_MODES = ("equal", "all")


class Shard:
    """Rank ``rank``'s part of each global batch, cut as ``mode`` says (see the module).

    Example:
        >>> shard = Shard(rank=1, world_size=4, mode="equal")
        >>> shard.part(slice(0, 10))
        slice(2, 4, None)
        >>> Shard(rank=1, world_size=4, mode="all").part(np.arange(10)).tolist()
        [3, 4, 5]
    """

    __slots__ = ("mode", "rank", "world_size")

    def __init__(self, rank: int, world_size: int, mode: str = "equal"):
        if mode not in SHARD_MODES:
            raise ValueError(f"shard: the mode must be one of {SHARD_MODES}, got {mode!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"shard: rank {rank} is not in [0, {world_size})")
        self.rank, self.world_size, self.mode = rank, world_size, mode

    def bounds(self, n: int) -> tuple[int, int]:
        """``[start, stop)`` of this rank's part of a batch of ``n`` samples."""
        k, r = self.world_size, self.rank
        if self.mode == "equal":
            size = n // k
            return r * size, (r + 1) * size
        size, extra = divmod(n, k)
        start = r * size + min(r, extra)
        return start, start + size + (r < extra)

    def part(self, index: slice | np.ndarray) -> slice | np.ndarray | None:
        """This rank's part of a global batch given as a slice of the data (``stop`` within
        it) or an index array; None when the part is empty."""
        if isinstance(index, slice):
            first, last = self.bounds(index.stop - index.start)
            part = slice(index.start + first, index.start + last)
        else:
            first, last = self.bounds(len(index))
            part = index[first:last]
        return part if last > first else None

    def batches(self, n: int, batch_size: int, drop_last: bool) -> int:
        """How many of the global batches of ``n`` samples give this rank samples: ``equal``
        mode skips a last batch smaller than the number of ranks."""
        full, last = divmod(n, batch_size)
        return full + (last > 0 and not drop_last and self.bounds(last)[1] > self.bounds(last)[0])


def loader_shard(shard: bool | str, batch_size: int) -> Shard | None:
    """The ``Shard`` a ``DataLoader`` reads with: ``False`` none, ``True`` this rank's equal
    share, ``"all"`` its share of every sample (in a single process, the whole batch).

    Raises:
        ValueError: an unknown mode, or equal shares of a ``batch_size`` that the number of
            ranks does not divide (every batch would lose samples).
    """
    if shard is False:
        return None
    if shard is not True and shard not in SHARD_MODES:
        raise ValueError(f"DataLoader: shard must be False, True or 'all', got {shard!r}")
    from .world import rank, world_size

    ranks = world_size()
    if shard is True and batch_size % ranks:
        raise ValueError(f"DataLoader: batch_size {batch_size} does not split into equal shares "
                         f"for {ranks} ranks; use a multiple of {ranks} (it is the global batch)")
    return Shard(rank(), ranks, "equal" if shard is True else shard)
