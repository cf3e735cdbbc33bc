"""load_digits: the embedded UCI digits, scaled, shaped, and split stratified by seed."""

import numpy as np
from optional_packages import importorskip

from chainrule.datasets import load_digits

_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_shapes_dtypes_and_values():
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1437, 1, 8, 8) and x_test.shape == (360, 1, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 1
    np.testing.assert_array_equal(x_train * 16, np.round(x_train * 16))  # counts 0..16 / 16
    np.testing.assert_array_equal(np.bincount(y_train) + np.bincount(y_test), _CLASS_COUNTS)


def test_split_is_stratified_and_fixed_by_seed():
    (_, y_train), (_, y_test) = load_digits(test_size=0.2, seed=0)
    assert np.all(np.abs(np.bincount(y_test) - np.array(_CLASS_COUNTS) * 0.2) < 1)
    assert np.all(np.abs(np.bincount(y_train) - np.array(_CLASS_COUNTS) * 0.8) < 1)
    (x_a, _), _ = load_digits(seed=0)
    (x_b, _), _ = load_digits(seed=0)
    (x_c, _), _ = load_digits(seed=1)
    np.testing.assert_array_equal(x_a, x_b)
    assert not np.array_equal(x_a, x_c)
    (x_f, _), (x_t, _) = load_digits(test_size=100, flatten=True)
    assert x_f.shape == (1697, 64) and x_t.shape == (100, 64)


def test_same_images_as_scikit_learn():
    datasets = importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    (x_train, y_train), (x_test, y_test) = load_digits(flatten=True)
    ours = np.concatenate([x_train, x_test]) * 16
    rows = np.concatenate([ours, np.concatenate([y_train, y_test])[:, None]], axis=1)
    theirs = np.concatenate([reference.data, reference.target[:, None]], axis=1)
    np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(theirs, axis=0))
