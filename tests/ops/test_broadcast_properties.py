"""Property tests: binary ops over random broadcastable shape pairs (0-d included) give NumPy's
values and gradients that undo the broadcast, in the input's dtype.

The reference gradient is computed independently of ``unbroadcast``: every output element
knows which input element it was broadcast from, and ``bincount`` adds the contributions.
Values come from a small set without zero, so ties (maximum/minimum) happen often.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

_VALUES = st.sampled_from([-1.5, -1.0, -0.5, 0.5, 1.0, 2.0])


def _half_tie(a, b):
    return 0.5 * (a == b)


# name -> (chainrule op, NumPy value, (∂f/∂a, ∂f/∂b) on the broadcast operands, positive base)
_BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: (np.ones_like(a), np.ones_like(b)), False),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: (np.ones_like(a), -np.ones_like(b)),
            False),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: (b, a), False),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: (1 / b, -a / b**2), False),
    "pow": (lambda a, b: a**b, np.power,
            lambda a, b: (b * a ** (b - 1), a**b * np.log(a)), True),
    "maximum": (cr.maximum, np.maximum,
                lambda a, b: ((a > b) + _half_tie(a, b), (b > a) + _half_tie(a, b)), False),
    "minimum": (cr.minimum, np.minimum,
                lambda a, b: ((a < b) + _half_tie(a, b), (b < a) + _half_tie(a, b)), False),
}


def _adjoint_of_broadcast(contribution: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum each output element's contribution into the input element it was broadcast from."""
    source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), contribution.shape)
    total = np.bincount(source.ravel(), weights=contribution.ravel(),
                        minlength=int(np.prod(shape)))
    return total.reshape(shape)


@st.composite
def _operands(draw, count):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=0, max_dims=4,
                                                     max_side=3))
    arrays = [draw(hnp.arrays(np.float64, shape, elements=_VALUES))
              for shape in shapes.input_shapes]
    return arrays, shapes.result_shape


def _upstream(shape, dtype):
    """A gradient with distinct entries, so a wrong sum over the wrong axis shows."""
    return (1 + 0.25 * np.arange(int(np.prod(shape)))).reshape(shape).astype(dtype)


def _check(fn, operands, expected, partials, result_shape, dtype):
    tensors = [cr.tensor(np.array(x, dtype=dtype), requires_grad=True) for x in operands]
    out = fn(*tensors)
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 0}
    assert out.shape == result_shape and out.dtype == dtype
    np.testing.assert_allclose(out.data, expected, **tol)
    upstream = _upstream(result_shape, dtype)
    out.backward(upstream)
    for t, x, partial in zip(tensors, operands, partials):
        assert t.grad.shape == x.shape and t.grad.dtype == dtype
        reference = _adjoint_of_broadcast(upstream.astype(np.float64) * partial, x.shape)
        np.testing.assert_allclose(t.grad, reference, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(_BINARY))
@settings(max_examples=40, deadline=None)
@given(data=_operands(2))
def test_binary_op_broadcasts(name, dtype, data):
    fn, value, partial, positive_base = _BINARY[name]
    (a, b), result_shape = data
    if positive_base:
        a = np.abs(a)
    a_full, b_full = np.broadcast_arrays(a, b)
    _check(fn, (a, b), value(a, b), partial(a_full, b_full), result_shape, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@settings(max_examples=60, deadline=None)
@given(data=_operands(3))
def test_where_broadcasts(dtype, data):
    (condition, a, b), result_shape = data
    condition = condition > 0
    c_full = np.broadcast_to(condition, result_shape)
    _check(lambda x, y: cr.where(condition, x, y), (a, b), np.where(condition, a, b),
           (c_full * 1.0, ~c_full * 1.0), result_shape, dtype)
