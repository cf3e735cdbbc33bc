"""Arrays in and out: np.asarray(tensor), DLPack both ways (NumPy, and PyTorch where installed)."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr


# ------------------------------------------------------------------------------ __array__
def test_asarray_is_a_read_only_view_of_the_data():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    view = np.asarray(x)
    assert type(view) is np.ndarray and view.dtype == np.float32
    assert np.shares_memory(view, x.data) and not view.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0] = 9.0
    x.data[0, 0] = 5.0
    assert view[0, 0] == 5.0
    assert x.data.flags.writeable  # the tensor's own array stays writable


def test_array_copies_and_the_copy_is_writable():
    x = cr.tensor([1.0, 2.0])
    for copy in (np.array(x), np.array(x, copy=True), x.__array__(copy=True)):
        assert copy.flags.writeable and not np.shares_memory(copy, x.data)
        np.testing.assert_array_equal(copy, [1.0, 2.0])


def test_another_dtype_is_a_copy_that_copy_false_refuses():
    x = cr.tensor([1.5, 2.5])
    wide = np.asarray(x, dtype=np.float64)
    assert wide.dtype == np.float64 and not np.shares_memory(wide, x.data)
    assert np.shares_memory(np.asarray(x, dtype=np.float32, copy=False), x.data)
    with pytest.raises(ValueError, match="float32 tensor as float64 without a copy"):
        np.asarray(x, dtype=np.float64, copy=False)


def test_numpy_functions_and_nested_lists_see_numbers_not_objects():
    a, b = cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])
    stacked = np.asarray([a, b])
    assert stacked.dtype == np.float32 and stacked.shape == (2, 2)
    assert np.asarray(cr.tensor(3.0)).shape == ()
    np.testing.assert_array_equal(np.concatenate([a, b]), [1.0, 2.0, 3.0, 4.0])
    parameter = cr.nn.Linear(3, 2).weight
    assert np.shares_memory(np.asarray(parameter), parameter.data)


def test_array_times_tensor_still_records_a_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x  # NumPy defers: __array_ufunc__ is None
    assert isinstance(y, cr.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ------------------------------------------------------------------------------ DLPack, NumPy
def test_numpy_from_dlpack_shares_the_data():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    shared = np.from_dlpack(x)
    assert np.shares_memory(shared, x.data)
    assert x.__dlpack_device__() == (1, 0)


def test_from_dlpack_shares_a_numpy_array_and_keeps_read_only_read_only():
    source = np.arange(4.0).reshape(2, 2).T  # a strided view travels without a copy too
    x = cr.from_dlpack(source)
    assert isinstance(x, cr.Tensor) and np.shares_memory(x.data, source)
    source[0, 1] = 9.0
    assert x.data[0, 1] == 9.0
    locked = np.arange(3.0)
    locked.flags.writeable = False
    assert not cr.from_dlpack(locked).data.flags.writeable


def test_from_dlpack_refuses_an_array_on_another_device():
    class OnCuda:
        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kwargs):
            raise AssertionError("the memory must not be requested")

    with pytest.raises(TypeError, match=r"on a CUDA device \(type 2\).*copy it to the CPU"):
        cr.from_dlpack(OnCuda())


# ------------------------------------------------------------------------------ DLPack, torch
def test_torch_and_chainrule_share_memory_both_ways():
    torch = importorskip("torch")
    x = cr.tensor(np.zeros((2, 3), dtype=np.float32))
    t = torch.from_dlpack(x)
    t[0, 1] = 5.0
    x.data[1, 2] = 7.0
    assert x.data[0, 1] == 5.0 and t[1, 2].item() == 7.0
    source = torch.zeros(4, dtype=torch.float64)
    y = cr.from_dlpack(source)
    source[0] = 2.0
    y.data[3] = 3.0
    assert y.dtype == np.float64 and y.data[0] == 2.0 and source[3].item() == 3.0


def test_a_column_major_weight_reaches_torch_with_its_strides():
    torch = importorskip("torch")
    weight = cr.nn.Linear(3, 2).weight  # Fortran order: X Wᵀ is an untransposed product
    shared = torch.from_dlpack(weight)
    assert shared.stride() == (1, 2)
    np.testing.assert_array_equal(shared.numpy(), weight.data)


def test_a_torch_tensor_that_requires_grad_must_be_detached():
    torch = importorskip("torch")
    source = torch.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="detach"):
        cr.from_dlpack(source)
    assert cr.from_dlpack(source.detach()).shape == (2,)
