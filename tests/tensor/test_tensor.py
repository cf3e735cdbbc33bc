"""The Tensor's public surface (the API contract of issue 2) and its dtype rules."""

import inspect
import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

F32 = np.float32


def _f32(values, requires_grad=True):
    return cr.tensor(np.array(values, dtype=F32), requires_grad=requires_grad)


# ------------------------------------------------------------------ the API contract
@pytest.mark.parametrize(("fn", "params"), [
    (cr.tensor, {"requires_grad": False, "dtype": None}),
    (cr.Tensor.backward, {"gradient": None, "retain_graph": None, "create_graph": False,
                           "inputs": None}),
    (cr.Tensor.sum, {"axis": None, "keepdims": False}),
    (cr.Tensor.mean, {"axis": None, "keepdims": False}),
    (cr.Tensor.max, {"axis": None, "keepdims": False}),
    (cr.Tensor.min, {"axis": None, "keepdims": False}),
    (cr.Tensor.softmax, {"axis": -1}),
    (cr.Tensor.log_softmax, {"axis": -1}),
    (cr.concatenate, {"axis": 0}),
    (cr.stack, {"axis": 0}),
    (F.linear, {"bias": None}),
])
def test_signature_defaults(fn, params):
    signature = inspect.signature(fn).parameters
    assert {k: signature[k].default for k in params} == params


def test_attributes():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert type(x.data) is np.ndarray and x.grad is None
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == F32 and x.requires_grad
    assert len(x) == 2 and x.size == 6


def test_repr_shows_values_and_graph_state():
    assert repr(cr.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert "requires_grad=True" in repr(cr.tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(cr.tensor([1.0], requires_grad=True) * 2)
    assert "dtype=float64" in repr(cr.tensor(np.array([1.0])))


def test_an_op_prints_apart_from_the_layer_of_the_same_name():
    x = _f32(np.ones((2, 3)))
    y = cr.nn.Linear(3, 4)(x)
    assert y.grad_fn.name == "Linear" and repr(y.grad_fn) == "<LinearBackward>"
    assert repr(y).endswith("grad_fn=<LinearBackward>)")


def test_len_of_0d_raises():
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_item():
    assert cr.tensor([[2.5]]).item() == 2.5 and isinstance(cr.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        cr.tensor([1.0, 2.0]).item()


def test_numpy_shares_memory_and_detach_cuts_the_graph():
    x = cr.tensor(np.arange(3.0), requires_grad=True)
    assert x.numpy() is x.data
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None
    d = x.detach()
    assert np.shares_memory(d.data, x.data) and not d.requires_grad


def test_shape_methods():
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert x.transpose().shape == (4, 3, 2) and x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.T.shape == (4, 3, 2) and x.flatten().shape == (24,)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    with pytest.raises(ValueError, match="permutation"):
        x.transpose(0, 0, 1)


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip"):
        cr.tensor([1.0]).clip()


def test_axis_out_of_range_raises():
    with pytest.raises(ValueError, match="axis 2"):
        cr.tensor(np.ones((2, 3))).sum(axis=2)


# ------------------------------------------------------------------ operators
def test_operators_with_scalars_on_either_side():
    x = cr.tensor([1.0, 2.0, 4.0])
    cases = {
        "x + 1": (x + 1, [2, 3, 5]), "1 + x": (1 + x, [2, 3, 5]),
        "x - 1": (x - 1, [0, 1, 3]), "1 - x": (1 - x, [0, -1, -3]),
        "x * 2": (x * 2, [2, 4, 8]), "2 * x": (2 * x, [2, 4, 8]),
        "x / 2": (x / 2, [0.5, 1, 2]), "2 / x": (2 / x, [2, 1, 0.5]),
        "x ** 2": (x**2, [1, 4, 16]), "2 ** x": (2**x, [2, 4, 16]),
        "-x": (-x, [-1, -2, -4]),
    }
    for name, (got, expected) in cases.items():
        assert isinstance(got, cr.Tensor), name
        np.testing.assert_allclose(got.data, expected, err_msg=name)


def test_numpy_arrays_on_either_side_give_tensors():
    x = cr.tensor(np.arange(3.0))
    row = np.ones((2, 1))
    for got in (x + row, row + x, row * x, x - row, row - x):
        assert isinstance(got, cr.Tensor) and got.shape == (2, 3)
    assert isinstance(np.eye(3) @ x, cr.Tensor)


def test_broadcasting_in_both_directions():
    a = cr.tensor(np.ones((3, 1)), requires_grad=True)
    b = cr.tensor(np.arange(4.0), requires_grad=True)
    (a * b).sum().backward()
    assert (a * b).shape == (3, 4)
    np.testing.assert_array_equal(a.grad, [[6.0]] * 3)
    np.testing.assert_array_equal(b.grad, [3.0] * 4)


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"\(2,3\).*\(4,\)"):
        cr.tensor(np.ones((2, 3))) + cr.tensor(np.ones(4))


def test_matmul():
    a = cr.tensor(np.arange(6.0).reshape(2, 3))
    b = cr.tensor(np.arange(3.0))
    np.testing.assert_array_equal((a @ b).data, a.data @ b.data)
    np.testing.assert_array_equal((a @ [1.0, 0.0, 0.0]).data, a.data[:, 0])


@pytest.mark.parametrize(("op", "expected"), [
    (operator.lt, [True, False, False]), (operator.le, [True, True, False]),
    (operator.gt, [False, False, True]), (operator.ge, [False, True, True]),
    (operator.eq, [False, True, False]), (operator.ne, [True, False, True]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_comparisons_are_non_differentiable_bool_tensors(op, expected):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (2.0, cr.tensor([2.0, 2.0, 2.0])):
        got = op(x, other)
        assert isinstance(got, cr.Tensor) and got.dtype == np.bool_
        assert not got.requires_grad and got.grad_fn is None
        np.testing.assert_array_equal(got.data, expected)


def test_comparison_results_work_as_masks_and_conditions():
    x = cr.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    np.testing.assert_array_equal(x[x > 0].data, [2.0, 4.0])
    cr.where(x > 0, x, x * 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0, 0.5, 1.0])


def test_tensors_hash_by_identity():
    a, b = cr.tensor([1.0]), cr.tensor([1.0])
    assert len({a, b}) == 2


# ------------------------------------------------------------------ in-place operators
def test_in_place_operator_on_a_leaf_that_requires_grad_raises():
    w = _f32([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"in-place.*leaf.*requires grad.*no_grad"):
        w += 1
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


@pytest.mark.parametrize(("update", "expected"), [
    (operator.iadd, [3.0, 4.0]), (operator.isub, [-1.0, 0.0]), (operator.imul, [2.0, 4.0]),
    (operator.itruediv, [0.5, 1.0]), (operator.ipow, [1.0, 4.0]),
], ids=["add", "sub", "mul", "div", "pow"])
def test_in_place_operator_under_no_grad_updates_the_array_itself(update, expected):
    w = _f32([1.0, 2.0])
    array = w.data
    with cr.no_grad():
        result = update(w, 2)
    assert result is w and w.data is array and w.is_leaf and w.dtype == F32
    np.testing.assert_array_equal(w.data, expected)


def test_in_place_operator_on_a_tensor_in_the_graph_makes_a_new_one():
    x = _f32([1.0, 2.0])
    h = x * 3
    before = h
    h += x  # the name now holds h + x; the graph stays right
    assert h is not before and h.grad_fn.name == "Add"
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_in_place_operator_on_constants_updates_in_place():
    total = cr.tensor(np.zeros(2, dtype=F32))
    array = total.data
    total += cr.tensor([1.0, 2.0])
    total -= np.array([0.5, 0.5], dtype=F32)
    assert total.data is array
    np.testing.assert_array_equal(total.data, [0.5, 1.5])


# ------------------------------------------------------------------ dtype rules
def test_python_data_becomes_float32_int64_bool():
    assert cr.tensor([1.0, 2.0]).dtype == F32 and cr.tensor(1.5).dtype == F32
    assert cr.tensor([[1, 2]]).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_


def test_numpy_arrays_keep_dtype_and_memory():
    for dtype in (np.float64, F32, np.float16, np.int32):
        array = np.zeros(3, dtype=dtype)
        t = cr.tensor(array)
        assert t.dtype == dtype and t.data is array


def test_dtype_argument_converts():
    assert cr.tensor([1, 2], dtype="float64").dtype == np.float64
    assert cr.tensor(np.zeros(2), dtype=F32).dtype == F32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match=r"floating-point.*int64"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor(np.arange(3)).requires_grad_()
    with pytest.raises(TypeError, match="bool"):
        cr.tensor([True], requires_grad=True)


_SCALARS = [2, 2.5, np.float64(2.5), np.float32(2.5), np.int64(2), True]


@pytest.mark.parametrize("scalar", _SCALARS, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("op", [
    lambda x, s: x + s, lambda x, s: s + x, lambda x, s: x - s, lambda x, s: s - x,
    lambda x, s: x * s, lambda x, s: s * x, lambda x, s: x / s, lambda x, s: s / x,
    lambda x, s: x**s, lambda x, s: abs(s) ** x, lambda x, s: cr.maximum(x, s),
    lambda x, s: cr.minimum(s, x), lambda x, s: cr.where(x > 1, x, s),
    lambda x, s: cr.where(x > 1, s, x), lambda x, s: x.clip(-s, s),
    lambda x, s: cr.stack([x, x * s]), lambda x, s: cr.concatenate([x, [s]]),
], ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "pow", "rpow", "maximum",
        "minimum", "where_b", "where_a", "clip", "stack", "concatenate"])
def test_scalars_never_upcast_float32(op, scalar):
    x = _f32([0.5, 1.5, 3.0])
    y = op(x, scalar)
    assert y.dtype == F32
    y.sum().backward()
    assert x.grad.dtype == F32


def test_float64_arrays_stay_float64_through_ops():
    x = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = (x * 2 + 1).tanh().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_astype_between_float_dtypes_is_differentiable():
    x = _f32([0.5, 1.5])
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad, [1.0, 3.0])


def test_functional_losses_keep_float32():
    logits = _f32(np.linspace(-1, 1, 12).reshape(4, 3))
    losses = [
        F.mse_loss(logits, np.zeros((4, 3))),
        F.cross_entropy(logits, np.array([0, 1, 2, 1])),
        F.cross_entropy(logits, [0, 1, 2, 1], label_smoothing=0.1, weight=[1.0, 2.0, 1.0]),
        F.binary_cross_entropy_with_logits(logits, np.ones((4, 3)), pos_weight=np.ones(3)),
        F.linear(logits, _f32(np.ones((2, 3))), _f32(np.ones(2))).sum(),
    ]
    for loss in losses:
        assert loss.dtype == F32
        loss.backward()
    assert logits.grad.dtype == F32


# ------------------------------------------------------------------ functional errors
def test_linear_names_itself_and_the_shapes():
    with pytest.raises(ValueError, match=r"linear.*\(4, 3\).*\(2, 5\)"):
        F.linear(cr.tensor(np.ones((4, 3))), cr.tensor(np.ones((2, 5))))


def test_mse_loss_rejects_broadcasting():
    with pytest.raises(ValueError, match=r"mse_loss.*\(4, 1\).*\(4,\)"):
        F.mse_loss(cr.tensor(np.ones((4, 1))), np.ones(4))


def test_cross_entropy_rejects_bad_labels():
    logits = cr.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        F.cross_entropy(logits, [0, 3])
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3,\).*\(2, 3\)"):
        F.cross_entropy(logits, [0, 1, 2])
