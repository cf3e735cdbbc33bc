"""train_test_split and random_split: sizes, disjointness, stratification, seeding, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Subset, TensorDataset, random_split, train_test_split


def _imbalanced(n_per_class=(50, 30, 17, 3)):
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    x = np.arange(len(y), dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    return x, y


def test_sizes_rows_and_disjoint():
    x, y = _imbalanced()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, seed=0)
    assert len(x_te) == 25 and len(x_tr) == 75  # ceil(0.25 * 100)
    ids_tr, ids_te = x_tr[:, 0].astype(int), x_te[:, 0].astype(int)
    assert set(ids_tr).isdisjoint(ids_te) and sorted([*ids_tr, *ids_te]) == list(range(100))
    np.testing.assert_array_equal(y_tr, y[ids_tr])  # rows of x and y stay paired
    np.testing.assert_array_equal(y_te, y[ids_te])
    assert x_tr.dtype == np.float32 and y_tr.dtype == y.dtype
    _, x_te, _, _ = train_test_split(x, y, test_size=7, seed=0)
    assert len(x_te) == 7


def test_stratified_keeps_class_proportions():
    x, y = _imbalanced()
    for seed in range(5):
        _, _, y_tr, y_te = train_test_split(x, y, test_size=0.3, seed=seed, stratify=y)
        ideal = np.bincount(y) * 30 / 100
        assert len(y_te) == 30
        assert np.all(np.abs(np.bincount(y_te, minlength=4) - ideal) < 1)
        np.testing.assert_array_equal(np.bincount(y_tr) + np.bincount(y_te), np.bincount(y))
        assert not np.all(np.diff(y_te) >= 0)  # shuffled, not grouped by class


def test_plain_split_is_not_stratified_by_accident():
    y = np.repeat([0, 1], [90, 10])
    counts = {
        int(np.bincount(train_test_split(y, test_size=0.5, seed=s)[1], minlength=2)[1])
        for s in range(20)
    }
    assert len(counts) > 1  # without stratify the minority count varies with the seed


def test_seeded_and_repeatable():
    x, y = _imbalanced()
    a = train_test_split(x, y, seed=1, stratify=y)
    b = train_test_split(x, y, seed=1, stratify=y)
    c = train_test_split(x, y, seed=2, stratify=y)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])
    cr.manual_seed(3)
    d = train_test_split(x, y)
    cr.manual_seed(3)
    np.testing.assert_array_equal(train_test_split(x, y)[1], d[1])


def test_split_errors():
    x, y = _imbalanced()
    for bad in (0.0, 1.0, 0, 100, -3, "0.2", True):
        with pytest.raises(ValueError, match="train_test_split: test_size"):
            train_test_split(x, y, test_size=bad)
    with pytest.raises(ValueError, match=r"stratify must hold one label per sample.*\(100,\)"):
        train_test_split(x, y, stratify=y[:50])
    with pytest.raises(ValueError, match="train_test_split: arrays must have the same number"):
        train_test_split(x, y[:99])


def test_random_split_counts_and_fractions():
    ds = TensorDataset(np.arange(10.0, dtype=np.float32))
    parts = random_split(ds, [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3] and all(isinstance(p, Subset) for p in parts)
    values = [p.get_batch(slice(None))[0] for p in parts]
    assert sorted(np.concatenate(values).tolist()) == list(range(10))
    np.testing.assert_array_equal(parts[0].get_batch(slice(None))[0], parts[0].indices)
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2], seed=0)] == [5, 3, 2]
    assert [len(p) for p in random_split(ds, [1 / 3] * 3, seed=0)] == [4, 3, 3]
    again = random_split((np.arange(10.0),), [7, 3], seed=0)
    np.testing.assert_array_equal(again[1].indices, parts[1].indices)
    assert parts[1][0] == (np.float32(parts[1].indices[0]),)


def test_random_split_errors():
    ds = TensorDataset(np.arange(10.0))
    with pytest.raises(ValueError, match="sum to the dataset's 10 samples"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="fractions .* must sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="non-empty ints or fractions"):
        random_split(ds, [])
    with pytest.raises(IndexError, match="out of range"):
        Subset(ds, [0, 10])
