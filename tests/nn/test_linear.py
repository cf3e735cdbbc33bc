"""Linear, Identity, Flatten: shapes, values, initialisation, errors, gradients."""

import math

import numpy as np
import pytest

import chainrule as cr


def test_linear_shapes_parameters_and_value():
    layer = cr.nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.num_parameters() == 15
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out = layer(cr.tensor(x))
    assert out.shape == (5, 3) and out.dtype == np.float32
    expected = x @ layer.weight.data.T + layer.bias.data  # z = W a + b, one sample per row
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    assert layer(cr.tensor(np.zeros((2, 7, 4), dtype=np.float32))).shape == (2, 7, 3)


def test_linear_without_bias_and_float64():
    layer = cr.nn.Linear(2, 6, bias=False, dtype=np.float64)
    assert layer.bias is None and layer.num_parameters() == 12
    assert layer.weight.dtype == np.float64
    assert repr(layer) == "Linear(in_features=2, out_features=6, bias=False, dtype=float64)"
    x = cr.tensor(np.ones((1, 2)))
    np.testing.assert_allclose(layer(x).data, layer.weight.data.sum(axis=1)[None])


def test_linear_default_init_is_pytorch_bounds():
    layer = cr.nn.Linear(64, 500, generator=0)
    bound = 1 / math.sqrt(64)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.95 * bound
    # U(-b, b) has std b/√3
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_linear_seeding():
    a, b = cr.nn.Linear(3, 2, generator=5), cr.nn.Linear(3, 2, generator=np.random.default_rng(5))
    assert np.array_equal(a.weight.data, b.weight.data)
    assert np.array_equal(a.bias.data, b.bias.data)
    cr.manual_seed(1)
    c = cr.nn.Linear(3, 2)
    cr.manual_seed(1)
    assert np.array_equal(cr.nn.Linear(3, 2).weight.data, c.weight.data)
    assert not np.array_equal(cr.nn.Linear(3, 2).weight.data, c.weight.data)


def test_linear_gradients():
    layer = cr.nn.Linear(3, 2, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert cr.gradcheck(layer, x)
    x.grad = None
    layer.zero_grad()  # gradcheck's own backward filled the parameters' grads
    upstream = rng.standard_normal((4, 2))
    layer(x).backward(upstream)
    # dL/dW = Gᵀ X, dL/db = Σ_rows G, dL/dX = G W
    np.testing.assert_allclose(layer.weight.grad, upstream.T @ x.data)
    np.testing.assert_allclose(layer.bias.grad, upstream.sum(axis=0))
    np.testing.assert_allclose(x.grad, upstream @ layer.weight.data)


def test_linear_errors_name_the_layer():
    layer = cr.nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3.*"
                                         r"expected input of shape \(\.\.\., 4\), got \(2, 5\)"):
        layer(cr.tensor(np.zeros((2, 5), dtype=np.float32)))
    with pytest.raises(TypeError, match=r"Linear\(in_features=4.*floating-point input, got "
                                        "dtype int64"):
        layer(cr.tensor(np.zeros((2, 4), dtype=np.int64)))
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        layer(np.zeros((2, 4), dtype=np.float32))


def test_identity():
    x = cr.tensor([1.0, 2.0])
    assert cr.nn.Identity()(x) is x
    assert repr(cr.nn.Identity()) == "Identity()"


@pytest.mark.parametrize(("start", "end", "expected"),
                         [(1, -1, (2, 60)), (0, -1, (120,)), (1, 2, (2, 12, 5)),
                          (-2, -1, (2, 3, 20)), (2, 2, (2, 3, 4, 5))])
def test_flatten(start, end, expected):
    x = cr.tensor(np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5), requires_grad=True)
    out = cr.nn.Flatten(start, end)(x)
    assert out.shape == expected
    np.testing.assert_array_equal(out.data.ravel(), x.data.ravel())
    out.sum().backward()
    assert x.grad.shape == x.shape


def test_flatten_errors():
    with pytest.raises(ValueError, match=r"Flatten\(start_axis=1, end_axis=-1\): cannot flatten "
                                         r"axes 1\.\.-1 of an input of shape \(3,\)"):
        cr.nn.Flatten()(cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="cannot flatten axes 2..1"):
        cr.nn.Flatten(2, 1)(cr.tensor(np.zeros((2, 3, 4), dtype=np.float32)))


def test_linear_weight_and_its_gradient_are_column_major():
    # Wᵀ row-major makes X Wᵀ an untransposed BLAS product; dL/dW comes back in W's layout, in
    # memory of its own, so the optimizer's update runs over one layout.
    layer = cr.nn.Linear(5, 3, generator=0)
    weight = layer.weight.data
    assert weight.shape == (3, 5) and weight.flags.f_contiguous and not weight.flags.c_contiguous
    x = cr.tensor(np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32))
    upstream = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    layer(x).backward(upstream)
    grad = layer.weight.grad
    assert grad.flags.f_contiguous and grad.base is None and grad.dtype == np.float32
    np.testing.assert_allclose(grad, upstream.T @ x.data, rtol=1e-5)
    # A row-major weight assigned by the user works the same, with a row-major gradient.
    layer.weight.data = np.ascontiguousarray(weight)
    layer.zero_grad()
    layer(x).backward(upstream)
    assert layer.weight.grad.flags.c_contiguous
    np.testing.assert_allclose(layer.weight.grad, grad, rtol=1e-6)


def test_linear_column_major_weight_passes_gradcheck_and_draws_like_row_major():
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = cr.tensor(np.asfortranarray(rng.standard_normal((2, 3))), requires_grad=True)
    b = cr.tensor(rng.standard_normal(2), requires_grad=True)
    assert cr.gradcheck(cr.nn.functional.linear, x, w, b)  # perturbs the column-major weight
    # The initial weights are the row-major draws: seeds give what they gave before.
    row_major = cr.nn.Parameter(np.empty((3, 5), dtype=np.float32))
    cr.nn.init.fan_in_uniform_(row_major, generator=7)
    np.testing.assert_array_equal(cr.nn.Linear(5, 3, bias=False, generator=7).weight.data,
                                  row_major.data)
