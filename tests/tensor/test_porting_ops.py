"""The non-differentiable and argument-checking side of issue 13's ops: logical and bitwise
operators, one_hot, argmax/argmin keepdims, the aliases, and the errors that name the call,
the expected and the actual shapes or dtypes. (Values and gradients: the op-case table.)"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F


def test_bitwise_and_logical_operators_match_numpy():
    a, b = np.array([True, False, True, False]), np.array([True, True, False, False])
    ta, tb = cr.tensor(a), cr.tensor(b)
    np.testing.assert_array_equal((~ta).data, ~a)
    np.testing.assert_array_equal((ta & tb).data, a & b)
    np.testing.assert_array_equal((ta | b).data, a | b)  # an array on the right
    np.testing.assert_array_equal((True ^ tb).data, True ^ b)  # a Python bool on the left
    i, j = np.array([12, 5, -3], dtype=np.int8), np.array([10, 3, 6], dtype=np.int8)
    assert (cr.tensor(i) & 6).dtype == np.int8  # Python ints stay weak
    np.testing.assert_array_equal((cr.tensor(i) ^ cr.tensor(j)).data, i ^ j)
    x = cr.tensor([0.0, 2.0, -1.0], requires_grad=True)
    np.testing.assert_array_equal(x.logical_not().data, [True, False, False])
    np.testing.assert_array_equal(cr.logical_and(x, [1, 0, 1]).data, [False, False, True])
    np.testing.assert_array_equal(x.logical_or(0).data, [False, True, True])
    np.testing.assert_array_equal(x.logical_xor(x > 0).data, [False, False, True])


def test_bitwise_operators_refuse_floats_and_results_have_no_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"~ is for bool and integer tensors .*float32"):
        x.__invert__()
    with pytest.raises(TypeError, match=r"& is for bool and integer .*float64"):
        cr.tensor([True, False]) & np.array([1.0, 2.0])
    mask = (x > 1) & (x < 3)
    assert mask.grad_fn is None and not mask.requires_grad
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        mask.requires_grad_()


def test_one_hot():
    np.testing.assert_array_equal(cr.one_hot(cr.tensor([[2, 0]]), 4).data,
                                  [[[0, 0, 1, 0], [1, 0, 0, 0]]])
    out = F.one_hot(np.array([1, 3]))  # num_classes=-1: the largest label + 1
    assert out.shape == (2, 4) and out.dtype == np.int64
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got values from 0 to 3"):
        cr.one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="labels must be integers, got dtype float32"):
        cr.one_hot(cr.tensor([1.0]), 2)


def test_argmax_argmin_keepdims():
    x = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    np.testing.assert_array_equal(x.argmax(axis=1, keepdims=True).data, [[1], [0]])
    np.testing.assert_array_equal(cr.argmin(x, axis=0, keepdims=True).data, [[0, 1, 0]])
    assert x.argmax().item() == 3


def test_aliases_are_the_same_methods_and_functions():
    assert cr.Tensor.asin is cr.Tensor.arcsin and cr.Tensor.acosh is cr.Tensor.arccosh
    assert cr.Tensor.repeat_interleave is cr.Tensor.repeat
    x = cr.tensor([0.25, 0.5])
    np.testing.assert_array_equal(cr.atanh(x).data, x.arctanh().data)
    assert "arcsin" in cr.asin.__doc__ and cr.sin.__name__ == "sin"


def test_expand_flatten_unflatten():
    x = cr.tensor(np.arange(6.0).reshape(2, 3, 1))
    assert x.expand(4, -1, -1, 5).shape == (4, 2, 3, 5)
    assert x.flatten(1).shape == (2, 3) and x.flatten(0, 1).shape == (6, 1)
    assert cr.tensor(3.0).flatten().shape == (1,)
    assert x.unflatten(1, (3, 1)).shape == (2, 3, 1, 1)
    with pytest.raises(ValueError, match="start_axis 2 comes after end_axis 1"):
        x.flatten(2, 1)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 1\) cannot be broadcast to shape "
                                         r"\(2, 4, 1\)"):
        x.broadcast_to((2, 4, 1))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x.broadcast_to((3, 1))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.pad(((1, 0),), mode="wrap"), ValueError,
     r"mode must be 'constant' or one of \['circular', 'edge', 'reflect', 'replicate'\]"),
    (lambda x: x.pad(3, mode="reflect"), ValueError,
     r"reflect padding \(3, 3\) of axis 0 is too wide for its length 3"),
    (lambda x: x.pad(-1), ValueError, "widths must be >= 0"),
    (lambda x: F.pad(x, (1,)), ValueError,
     r"pad: pad must hold non-negative \(before, after\) int pairs, at most one per axis \(2\)"),
    (lambda x: F.pad(x, (4, 0), mode="reflect"), ValueError,
     r"pad: .*too wide for its length 4 \(input shape \(3, 4\)\)"),
    (lambda x: F.pad(x, (1, 1), mode="mirror"), ValueError, "pad"),
    (lambda x: x.gather(1, np.array([[0], [5]])), IndexError,
     "gather: index values from 0 to 5 are out of range for axis 1 of length 4"),
    (lambda x: x.gather(1, np.array([0, 1])), ValueError,
     r"gather: index must be an integer array with 2 axes like the input \(3, 4\), got dtype "
     r"int64 and shape \(2,\)"),
    (lambda x: x.take_along_axis(np.ones((4, 1), dtype=int), 1), ValueError,
     r"index of shape \(4, 1\) is larger than the input \(3, 4\) on an axis other than 1"),
    (lambda x: x.scatter(0, np.zeros((2, 2), dtype=int), cr.tensor(np.ones((1, 2)))),
     ValueError, r"src of shape \(1, 2\) must be at least as large as index \(2, 2\)"),
    (lambda x: x.cumsum(axis=2), ValueError, "cumsum: axis 2 is out of range for a 2-d"),
    (lambda x: cr.einsum("ii->i", x), ValueError, "operand 0 repeats a letter in 'ii'"),
    (lambda x: cr.einsum("ij,jk->ik", x, x), ValueError,
     r"subscript 'j' has sizes \[3, 4\] in operands of shapes \[\(3, 4\), \(3, 4\)\]"),
    (lambda x: cr.einsum("ij->ik", x), ValueError, "output 'ik' must name distinct letters"),
    (lambda x: cr.einsum("ijk->i", x), ValueError,
     r"operand 0 has shape \(3, 4\) but subscripts 'ijk'"),
    (lambda x: cr.einsum("ij,jk", x), ValueError, "name 2 operands, got 1"),
    (lambda x: cr.tensor([1.0]).tril(), ValueError, r"at least 2 axes, got shape \(1,\)"),
    (lambda x: F.hardtanh(x, 1.0, -1.0), ValueError, "hardtanh: min_val must be below max_val"),
    (lambda x: F.celu(x, 0.0), ValueError, "celu: alpha must not be 0"),
])
def test_errors_name_the_call_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call(cr.tensor(np.arange(12.0).reshape(3, 4)))
