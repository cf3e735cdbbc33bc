"""``DataLoader``: batches of tensors from a dataset or from arrays, shuffled by index.

Shuffling permutes an index array each epoch and reads each batch with it; the data itself is
never copied or reordered as a whole. Without shuffling, batches are contiguous slices (views).
The loader owns its random generator and can save and restore it (``state_dict``), including how
far into the current epoch it got, so a checkpointed run resumes with the exact same batches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..backend import Device, as_device, to_device
from ..distributed.sharding import loader_shard
from ..random import default_generator
from ..tensor import Tensor
from .dataset import Dataset, TensorDataset, _as_arrays

__all__ = ["DataLoader"]


def _own_generator(seed: int | None, generator: np.random.Generator | None) -> np.random.Generator:
    if seed is not None and generator is not None:
        raise ValueError("DataLoader: pass seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"DataLoader: generator must be a numpy.random.Generator, got "
                f"{type(generator).__name__}"
            )
        return generator
    if seed is None:
        # One draw from the global stream: cr.manual_seed(s) then fixes every loader's order,
        # while each loader keeps a generator of its own whose state it can save.
        seed = int(default_generator().integers(2**63))
    return np.random.default_rng(seed)


class DataLoader:
    """Iterate over a dataset in batches of ``chainrule.Tensor`` (no gradient).

    Each batch is a tuple with one tensor per field, e.g. ``(x, y)``; NumPy dtypes are kept
    (float32 features stay float32, int64 labels int64). ``len(loader)`` is the number of batches
    per epoch: ``ceil(N / batch_size)``, or ``floor`` with ``drop_last``.

    Args:
        data: a ``Dataset``, or a tuple/list of arrays of equal length such as ``(x, y)``
            (a single array gives 1-tuples).
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: draw a new order of the samples at the start of every epoch.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        seed: seed of the loader's own generator. By default it is drawn from the global
            generator, so ``cr.manual_seed`` makes the order repeatable.
        generator: use this ``numpy.random.Generator`` instead (shared, not copied).
        shard: under MPI, read only this rank's part of every batch (``batch_size`` is then
            the global batch of all ranks; parts differ by at most one sample and gradients
            are weighted by them; a last batch of fewer samples than ranks is skipped). Every
            rank must use the same seed. See ``chainrule.distributed.sharding``.
        device: copy every batch to this device (``"cuda"``) as it is handed out; the data
            set itself stays on the host. ``fit``, ``evaluate`` and ``predict`` move batches to
            the model's device themselves.

    **Shape**: a field of shape ``(N, *s)`` gives batches ``(B, *s)``, ``B <= batch_size``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(10, dtype=np.float32).reshape(5, 2)
        >>> y = np.arange(5)
        >>> loader = DataLoader((x, y), batch_size=2)
        >>> len(loader), [tuple(yb.shape) for _, yb in loader]
        (3, [(2,), (2,), (1,)])
    """

    def __init__(
        self,
        data,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        shard: bool = False,
        device: str | Device | None = None,
    ):
        if isinstance(data, Dataset):
            self.dataset = data
        elif isinstance(data, (tuple, list)):
            self.dataset = TensorDataset(*_as_arrays(data, "DataLoader"))
        elif isinstance(data, (np.ndarray, Tensor)):
            self.dataset = TensorDataset(data)
        else:
            raise TypeError(
                "DataLoader: data must be a Dataset or a tuple of arrays such as (x, y), got "
                f"{type(data).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = _own_generator(seed, generator)
        self._shard = loader_shard(shard)
        self.device = None if device is None else as_device(device)
        # the generator's state before this epoch's shuffle
        self._epoch_start: Mapping[str, Any] | None = None
        self._batches_done = 0  # batches handed out in the current epoch
        self._skip = 0  # batches to skip at the next epoch start (set by load_state_dict)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self._shard is not None:
            return self._shard.batches(n, self.batch_size, self.drop_last)
        return self._global_batches(n)

    def _global_batches(self, n: int) -> int:
        """How many batches ``n`` samples make for all ranks together."""
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n, size = len(self.dataset), self.batch_size
        self._epoch_start = copy.deepcopy(self.generator.bit_generator.state)
        order = self.generator.permutation(n) if self.shuffle else None
        first, self._skip = self._skip, 0
        self._batches_done = first
        fetch = self.dataset.get_batch
        for b in range(first, self._global_batches(n)):
            index: slice | np.ndarray = slice(b * size, min((b + 1) * size, n))
            if order is not None:
                index = order[index]
            self._batches_done = b + 1
            if self._shard is not None:
                part = self._shard.part(index)
                if part is None:
                    continue  # a last batch too small to give every rank a sample
                index = part
            if self.device is None:
                yield tuple(Tensor(a) for a in fetch(index))
            else:
                yield tuple(Tensor(to_device(a, self.device)) for a in fetch(index))
        self._epoch_start = None
        self._batches_done = 0

    def state_dict(self) -> dict:
        """JSON-able state: the generator and the position within the current epoch.

        Taken mid-epoch, it holds the generator as it was before that epoch's shuffle and the
        number of batches already handed out, so a loader restored from it replays the same
        order and continues with the next batch.
        """
        if self._epoch_start is not None and self._batches_done > 0:
            state, done = self._epoch_start, self._batches_done
        else:  # between epochs, or restored and not yet iterated
            state, done = self.generator.bit_generator.state, self._skip
        return {"generator": copy.deepcopy(state), "batches_done": done}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict``: the next iteration resumes exactly where it was taken."""
        if not isinstance(state, dict) or set(state) != {"generator", "batches_done"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"DataLoader.load_state_dict: expected keys ['batches_done', 'generator'], "
                f"got {got}"
            )
        done = state["batches_done"]
        if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= len(self):
            raise ValueError(
                f"DataLoader.load_state_dict: batches_done must be an int in [0, {len(self)}], "
                f"got {done!r}"
            )
        expected = type(self.generator.bit_generator).__name__
        generator_state = state["generator"]
        kind = generator_state.get("bit_generator") if isinstance(generator_state, dict) else None
        if kind != expected:
            raise ValueError(
                f"DataLoader.load_state_dict: generator state is for {kind!r}, this loader's "
                f"generator is {expected!r}"
            )
        try:
            self.generator.bit_generator.state = copy.deepcopy(generator_state)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"DataLoader.load_state_dict: bad generator state: {exc}") from exc
        self._epoch_start = None
        self._batches_done = 0
        self._skip = done

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last})"
        )
