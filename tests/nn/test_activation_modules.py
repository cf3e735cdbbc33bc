"""Activation modules (values vs NumPy; shapes, dtypes, gradients and PyTorch parity are in the
layer-case table) and the name lookup."""

import math

import numpy as np
import pytest

import chainrule as cr

X = np.array([[-3.0, -1.0, -0.25, 0.0], [0.5, 1.0, 2.0, 4.0]])
_ERF = np.vectorize(math.erf)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


CASES = [  # (module, NumPy reference)
    (cr.nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (cr.nn.Tanh(), np.tanh),
    (cr.nn.ReLU(), lambda x: np.maximum(x, 0)),
    (cr.nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (cr.nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (cr.nn.GELU(), lambda x: x * 0.5 * (1 + _ERF(x / math.sqrt(2)))),
    (cr.nn.GELU("tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    (cr.nn.Softplus(2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (cr.nn.Softmax(), _softmax),
    (cr.nn.Softmax(axis=0), lambda x: _softmax(x.T).T),
    (cr.nn.LogSoftmax(), lambda x: np.log(_softmax(x))),
]
IDS = [repr(case[0]) for case in CASES]


@pytest.mark.parametrize(("module", "reference"), CASES, ids=IDS)
def test_values_match_numpy(module, reference):
    out = module(cr.tensor(X.astype(np.float32)))
    np.testing.assert_allclose(out.data, reference(X), rtol=1e-5, atol=1e-6)


def test_reprs():
    assert repr(cr.nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(cr.nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(cr.nn.LogSoftmax(axis=1)) == "LogSoftmax(axis=1)"


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match=r"GELU: approximate must be one of \('none', 'tanh'\), "
                                         "got 'erf'"):
        cr.nn.GELU("erf")
    with pytest.raises(ValueError, match=r"gelu: approximate must be one of .* got 'erf'"):
        cr.nn.functional.gelu(cr.tensor([1.0]), "erf")


@pytest.mark.parametrize(("name", "expected"),
                         [("relu", "ReLU()"), ("ReLU", "ReLU()"), ("leaky_relu", "LeakyReLU"),
                          ("LeakyReLU", "LeakyReLU"), ("leaky-relu", "LeakyReLU"),
                          ("log_softmax", "LogSoftmax"), ("tanh", "Tanh()"),
                          ("linear", "Identity()"), (None, "Identity()"),
                          ("identity", "Identity()"), ("gelu", "GELU")])
def test_activation_lookup(name, expected):
    assert repr(cr.nn.get_activation(name)).startswith(expected)


def test_activation_lookup_modules_classes_kwargs_and_errors():
    relu = cr.nn.ReLU()
    assert cr.nn.get_activation(relu) is relu
    assert cr.nn.get_activation(cr.nn.ELU, alpha=0.3).alpha == 0.3
    assert cr.nn.get_activation("leaky_relu", negative_slope=0.2).negative_slope == 0.2
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; expected one of .*\brelu, "
                                         r".*; or a Module or Module class"):
        cr.nn.get_activation("swish")
    with pytest.raises(ValueError, match="unknown activation 3"):
        cr.nn.get_activation(3)


def test_relu_against_the_shared_zero_buffer_leaves_it_untouched():
    # ReLU compares against a read-only view of one zero buffer per dtype (NumPy's array-array
    # maximum is ~3x faster than array-scalar); its results are arrays of their own.
    from chainrule.backend import zeros_like_readonly

    for dtype in (np.float32, np.float64):
        x = cr.tensor(np.array([[-2.0, 0.0, 3.0], [np.nan, -0.5, 1e30]], dtype=dtype))
        first = cr.nn.ReLU()(x).data
        assert first.dtype == dtype and first.flags.writeable
        np.testing.assert_array_equal(first, np.array([[0, 0, 3], [np.nan, 0, 1e30]], dtype))
        first[...] = 7  # writing the result must not reach the zero buffer
        big = cr.nn.ReLU()(cr.tensor(-np.ones(200_000, dtype=dtype))).data  # grows the buffer
        assert not big.any() and not cr.nn.ReLU()(x).data[0, :2].any()
        zeros = zeros_like_readonly(np.empty((3, 4), dtype=dtype))
        assert zeros.shape == (3, 4) and not zeros.flags.writeable and not zeros.any()
