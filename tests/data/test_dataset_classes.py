"""Dataset, TensorDataset and Subset."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset, Subset, TensorDataset


def test_tensor_dataset_items_and_batches():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([3, 1, 2, 0])
    ds = TensorDataset(cr.tensor(x), y)
    assert len(ds) == 4
    xi, yi = ds[1]
    np.testing.assert_array_equal(xi, x[1])
    assert yi == 1
    xb, yb = ds.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(xb, x[[2, 0]])
    np.testing.assert_array_equal(yb, [2, 3])
    assert ds.arrays[0] is x  # a tensor's array is used, not copied
    assert "(4, 3) float32" in repr(ds)


def test_base_dataset_collates_python_numbers_as_float32():
    class Pairs(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return float(i) / 2, i

    xb, yb = Pairs().get_batch(slice(1, 3))
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb, [0.5, 1.0])


def test_base_dataset_single_field_and_errors():
    class Values(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.full(3, i, dtype=np.float64)

    (batch,) = Values().get_batch(np.array([1, 0]))
    assert batch.shape == (2, 3) and batch.dtype == np.float64
    with pytest.raises(NotImplementedError, match="Dataset does not define __len__"):
        len(Dataset())
    with pytest.raises(IndexError, match="empty index"):
        Values().get_batch(np.array([], dtype=np.int64))


def test_subset_maps_indices():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [4, 2, 9])
    assert len(sub) == 3 and sub[0] == (40,)
    np.testing.assert_array_equal(sub.get_batch(slice(1, 3))[0], [20, 90])
    with pytest.raises(ValueError, match="1-d integer array"):
        Subset(ds, [0.5])
