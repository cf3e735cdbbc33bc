"""Reductions at their edges agree with NumPy and PyTorch (issue 18.4): ``var`` with
``ddof >= n`` is inf (nan for an empty axis), and a NaN inside ``max``/``min`` takes the
gradient of its slice instead of spreading NaN over it."""

import warnings

import numpy as np
import pytest

import chainrule as cr

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional test dependency
    torch = None


@pytest.mark.parametrize("ddof", [0, 1, 2, 3, 5])
def test_var_with_large_ddof_is_numpy_s(ddof):
    x = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for axis in (None, 1):
            got = cr.tensor(x).var(axis=axis, ddof=ddof).data
            np.testing.assert_array_equal(got, np.var(x, axis=axis, ddof=ddof))
            assert (got >= 0).all()  # before: ddof=5 gave -1.0 for the whole array
        empty = cr.tensor(np.zeros((2, 0))).var(axis=1, ddof=ddof).data
    assert np.isnan(empty).all() and empty.shape == (2,)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_nan_takes_the_gradient_of_its_slice(reduce):
    data = np.array([[1.0, np.nan, 3.0, np.nan], [1.0, 2.0, 3.0, 3.0], [4.0, 0.0, 4.0, 0.0]])
    x = cr.tensor(data, requires_grad=True)
    getattr(x, reduce)(axis=1).sum().backward()
    ties = data == (data.max if reduce == "max" else data.min)(axis=1, keepdims=True)
    expected = np.where(np.isnan(data).any(axis=1, keepdims=True), np.isnan(data), ties)
    expected = expected / expected.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(x.grad, expected)
    whole = cr.tensor(data[0], requires_grad=True)
    getattr(whole, reduce)().backward()
    np.testing.assert_array_equal(whole.grad, [0.0, 0.5, 0.0, 0.5])
    if torch is not None:  # torch.max over the whole tensor: the NaNs share the gradient
        t = torch.tensor(data[0], requires_grad=True)
        getattr(t, reduce)().backward()
        np.testing.assert_array_equal(whole.grad, t.grad.numpy())
