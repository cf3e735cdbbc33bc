"""Batching variable-length token sequences: padding, lengths, masks, and batch iterators."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..random import resolve

__all__ = ["pad_sequences", "lengths_to_mask", "PaddedBatches", "stream_batches"]


def pad_sequences(sequences: Sequence, max_len: int | None = None, pad_id: int = 0,
                  truncating: str = "post") -> tuple[np.ndarray, np.ndarray]:
    """Right-pad integer sequences to one length: ``ids[i, :lengths[i]]`` is sequence i.

    Args:
        sequences: 1-d integer sequences (lists or arrays) of any lengths.
        max_len: the common length T; longer sequences are cut. Default: the longest.
        pad_id: the id written after each sequence's end.
        truncating: ``"post"`` keeps the beginning of a long sequence, ``"pre"`` its end.

    Returns:
        ``(ids, lengths)``: int64 arrays; lengths count the real (unpadded) tokens.

    Shape:
        ids ``(N, T)``; lengths ``(N,)``.

    Example:
        >>> ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    if truncating not in ("post", "pre"):
        raise ValueError(f"pad_sequences: truncating must be 'post' or 'pre', got {truncating!r}")
    arrays = [np.asarray(s) for s in sequences]
    for i, array in enumerate(arrays):
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(f"pad_sequences: sequence {i} must be 1-d integer ids, got "
                             f"{array.dtype} array of shape {array.shape}")
    longest = max((len(a) for a in arrays), default=0)
    length = longest if max_len is None else max_len
    if length < 0:
        raise ValueError(f"pad_sequences: max_len must be >= 0, got {max_len}")
    ids = np.full((len(arrays), length), pad_id, dtype=np.int64)
    lengths = np.empty(len(arrays), dtype=np.int64)
    for i, array in enumerate(arrays):
        kept = array[:length] if truncating == "post" else array[max(len(array) - length, 0):]
        ids[i, :len(kept)] = kept
        lengths[i] = len(kept)
    return ids, lengths


def lengths_to_mask(lengths, max_len: int | None = None) -> np.ndarray:
    """Boolean ``(N, T)`` mask, True at real tokens: ``mask[i, t] = t < lengths[i]``.

    This is the ``mask`` the recurrent layers take; attention's ``key_padding_mask`` is its
    negation (True at padding).

    Shape:
        lengths ``(N,)`` → mask ``(N, T)``, T = ``max_len`` or the longest length.

    Example:
        >>> lengths_to_mask([2, 3]).astype(int).tolist()
        [[1, 1, 0], [1, 1, 1]]
    """
    lengths = np.asarray(getattr(lengths, "data", lengths))
    if lengths.ndim != 1 or (lengths.size and lengths.dtype.kind not in "iu"):
        raise ValueError(f"lengths_to_mask: expected 1-d integer lengths, got {lengths.dtype} "
                         f"array of shape {lengths.shape}")
    steps = int(lengths.max(initial=0)) if max_len is None else max_len
    return np.arange(steps)[None, :] < lengths[:, None]


class PaddedBatches:
    """``(ids, labels)`` batches of variable-length sequences, each padded only to its own
    longest sequence; an iterable ``fit`` and ``evaluate`` accept as ``train_data``.

    With ``bucket`` the sequences are sorted by length within windows of 50 batches before
    batching, so a batch holds sequences of similar lengths and little padding; the batches
    are then shuffled. A recurrent layer's time is proportional to the padded length, so
    bucketing can save most of it on texts of very different lengths.

    Args:
        sequences: 1-d integer sequences.
        labels: one label (or target array) per sequence.
        batch_size: sequences per batch.
        shuffle: a new order every epoch (pass, iterate, pass…).
        bucket: batch sequences of similar length together.
        pad_id: the padding id.
        max_len: cut longer sequences (keeping their beginning).
        seed: int or ``numpy.random.Generator`` for the order (the global generator if None).

    Shape:
        each batch: ids ``(B, T_batch)`` int64 and labels ``(B, …)``.

    Example:
        >>> batches = PaddedBatches([[1, 2, 3], [4], [5, 6]], [0, 1, 0], batch_size=2,
        ...                         shuffle=False, bucket=False)
        >>> [ids.shape for ids, _ in batches]
        [(2, 3), (1, 2)]
    """

    def __init__(self, sequences: Sequence, labels, batch_size: int = 32, shuffle: bool = True,
                 bucket: bool = True, pad_id: int = 0, max_len: int | None = None, seed=None):
        labels = np.asarray(labels)
        if len(labels) != len(sequences):
            raise ValueError(f"PaddedBatches: {len(sequences)} sequences but {len(labels)} "
                             "labels")
        if batch_size < 1:
            raise ValueError(f"PaddedBatches: batch_size must be >= 1, got {batch_size}")
        self.sequences = [np.asarray(s) for s in sequences]
        self.labels, self.batch_size = labels, batch_size
        self.shuffle, self.bucket, self.pad_id, self.max_len = shuffle, bucket, pad_id, max_len
        self._rng = resolve(seed)

    def __len__(self) -> int:
        return -(-len(self.sequences) // self.batch_size)

    def _order(self) -> list[np.ndarray]:
        n = len(self.sequences)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            lengths = np.array([len(s) for s in self.sequences])
            window = 50 * self.batch_size
            order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                    for chunk in np.split(order, range(window, n, window))])
        batches = np.split(order, range(self.batch_size, n, self.batch_size))
        if self.shuffle and self.bucket:
            batches = [batches[i] for i in self._rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for index in self._order():
            batch = [self.sequences[i] for i in index]
            longest = max(1, *(len(s) for s in batch))
            length = longest if self.max_len is None else min(self.max_len, longest)
            ids, _ = pad_sequences(batch, length, self.pad_id)
            yield ids, self.labels[index]


def stream_batches(ids, batch_size: int, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive ``(inputs, next-token targets)`` windows of one long token stream, for
    training a language model with its state carried from batch to batch.

    The stream is cut into ``batch_size`` equal rows (the rest dropped); batch k holds columns
    ``k·seq_len … (k+1)·seq_len`` of every row, so row i of batch k+1 continues row i of
    batch k, and the targets are the inputs shifted by one token.

    Shape:
        ids ``(L,)``; each batch ``(batch_size, ≤ seq_len)`` twice.

    Example:
        >>> [x.tolist() for x, _ in stream_batches(range(10), batch_size=2, seq_len=3)]
        [[[0, 1, 2], [4, 5, 6]], [[3], [7]]]
    """
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError(f"stream_batches: expected a 1-d stream of ids, got shape {ids.shape}")
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"stream_batches: batch_size and seq_len must be >= 1, got "
                         f"{batch_size}, {seq_len}")
    row = (len(ids) - 1) // batch_size
    if row < 1:
        raise ValueError(f"stream_batches: a stream of {len(ids)} tokens is too short for "
                         f"{batch_size} rows")
    inputs = ids[:row * batch_size].reshape(batch_size, row)
    targets = ids[1:row * batch_size + 1].reshape(batch_size, row)
    for start in range(0, row, seq_len):
        yield inputs[:, start:start + seq_len], targets[:, start:start + seq_len]
