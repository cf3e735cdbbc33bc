"""Seeded splits: ``random_split`` of a dataset and ``train_test_split`` of arrays (stratified).

Both take ``seed``: an int, a ``numpy.random.Generator``, or None for the global generator
(so ``cr.manual_seed`` fixes them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from ..random import resolve
from .dataset import Dataset, Subset, TensorDataset, _as_arrays

__all__ = ["random_split", "train_test_split"]


def _counts_from_fractions(n: int, fractions: Sequence[float]) -> list[int]:
    """Split ``n`` in proportion to ``fractions``: floors, then the rest to the largest
    remainders (ties to the earlier part), so the counts always sum to ``n``."""
    ideal = [f * n for f in fractions]
    counts = [math.floor(v) for v in ideal]
    for i in sorted(range(len(ideal)), key=lambda i: counts[i] - ideal[i])[: n - sum(counts)]:
        counts[i] += 1
    return counts


def random_split(
    dataset, lengths: Sequence[float], seed: int | np.random.Generator | None = None
) -> list[Subset]:
    """Split a dataset into non-overlapping random subsets of the given sizes.

    Args:
        dataset: a ``Dataset`` or a tuple of arrays (wrapped in a ``TensorDataset``).
        lengths: sample counts summing to ``len(dataset)``, or fractions summing to 1.
        seed: an int, a ``numpy.random.Generator``, or None for the global generator.

    Returns:
        One ``Subset`` per length, in order.

    Example:
        >>> import numpy as np
        >>> train, val = random_split((np.arange(10.0),), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    if not isinstance(dataset, Dataset):
        dataset = TensorDataset(*_as_arrays(dataset, "random_split"))
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(v, Integral) for v in lengths):
        counts = [int(v) for v in lengths]
        if sum(counts) != n or min(counts) < 0:
            raise ValueError(
                f"random_split: lengths {counts} must be >= 0 and sum to the dataset's {n} samples"
            )
    elif lengths and all(isinstance(v, Real) and 0 <= v <= 1 for v in lengths):
        if not math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
            raise ValueError(f"random_split: fractions {lengths} must sum to 1")
        counts = _counts_from_fractions(n, lengths)
    else:
        raise ValueError(
            f"random_split: lengths must be non-empty ints or fractions in [0, 1], got {lengths}"
        )
    order = resolve(seed).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in itertools.pairwise(bounds)]


def _test_count(n: int, test_size: float) -> int:
    if isinstance(test_size, Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, Real) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(
            f"train_test_split: test_size must be a fraction in (0, 1) or a sample count, "
            f"got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise ValueError(
            f"train_test_split: test_size={test_size!r} gives {n_test} test samples out of {n}; "
            "both parts need at least one"
        )
    return n_test


def _stratified_test_index(labels: np.ndarray, n_test: int, rng) -> np.ndarray:
    """Positions of a test set holding each class in (nearly) its overall proportion.

    Each class gets ``n_c * n_test / n`` test samples rounded by largest remainder, so the
    counts sum to ``n_test`` exactly and differ from the ideal by less than one per class.
    """
    _classes, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    per_class = _counts_from_fractions(n_test, (sizes / len(labels)).tolist())
    members = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picks = [
        rng.permutation(members[s : s + size])[:k] for s, size, k in zip(starts, sizes, per_class)
    ]
    return np.concatenate(picks)


def train_test_split(
    *arrays,
    test_size: float = 0.25,
    seed: int | np.random.Generator | None = None,
    stratify=None,
) -> list[np.ndarray]:
    """Split arrays into random train and test parts (as scikit-learn's function of that name).

    Args:
        *arrays: arrays with the same number of samples (axis 0), e.g. ``x, y``.
        test_size: fraction of samples in the test part (rounded up), or their number.
        seed: an int, a ``numpy.random.Generator``, or None for the global generator.
        stratify: labels (one per sample); the test part then holds each class in the same
            proportion as the whole, to within one sample per class.

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``: a train and a test array per input, each
        in a random order.

    **Shape**: an input ``(N, *s)`` gives ``(N - n_test, *s)`` and ``(n_test, *s)``.

    Example:
        >>> import numpy as np
        >>> x, y = np.arange(20.0).reshape(10, 2), np.array([0] * 5 + [1] * 5)
        >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0, stratify=y)
        >>> sorted(y_te.tolist())
        [0, 1]
    """
    parts = _as_arrays(arrays, "train_test_split")
    n = len(parts[0])
    n_test = _test_count(n, test_size)
    rng = resolve(seed)
    if stratify is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        labels = np.asarray(stratify)
        if labels.shape != (n,):
            raise ValueError(
                f"train_test_split: stratify must hold one label per sample, shape ({n},), "
                f"got {labels.shape}"
            )
        test = rng.permutation(_stratified_test_index(labels, n_test, rng))
        in_test = np.zeros(n, dtype=bool)
        in_test[test] = True
        train = rng.permutation(np.flatnonzero(~in_test))
    return [part for a in parts for part in (a[train], a[test])]
