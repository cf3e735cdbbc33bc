"""The convolution op in both patch layouts, whichever the shapes would pick: values against the
direct reference, gradients against central differences, and errors that name the shapes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import patches
from chainrule.nn.functional import conv2d
from ops.cases.conv import CONV_CASES, conv_reference


@pytest.fixture(params=[True, False], ids=["channels_last", "channels_first"])
def layout(request, monkeypatch):
    monkeypatch.setattr(patches, "_channels_last", lambda *args: request.param)
    return request.param


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_both_layouts_match_reference_and_central_differences(case, layout):
    inputs = [cr.tensor(x, requires_grad=True) for x in case.inputs]
    out = case.fn(*inputs)
    assert out._ctx.patches.channels_last is layout
    np.testing.assert_allclose(out.data, case.ref(*case.inputs), rtol=1e-12, atol=1e-12)
    assert cr.gradcheck(case.fn, *inputs)


def test_float32_stays_float32_in_both_layouts(layout):
    x = cr.tensor(np.ones((2, 3, 6, 6), np.float32), requires_grad=True)
    w = cr.tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
    b = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    out = conv2d(x, w, b, padding=1)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    assert out.data[0, 0, 0, 0] == 4 * 3 + 1 and out.data[0, 0, 2, 2] == 9 * 3 + 1


def test_weight_gradient_only_when_the_input_needs_none():
    x = cr.tensor(cr.random.resolve(0).standard_normal((2, 1, 6, 6)))
    w = cr.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    conv2d(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad[0], w.grad[1])
    np.testing.assert_allclose(w.grad[0, 0, 0, 0], x.data[:, :, :4, :4].sum())


def test_output_does_not_alias_the_input():
    x = cr.tensor(np.ones((1, 1, 3, 3)))
    out = conv2d(x, cr.tensor(np.ones((1, 1, 1, 1))))
    out.data += 1
    assert (x.data == 1).all()


def test_matches_reference_on_a_lenet_sized_layer():
    rng = cr.random.resolve(1)
    x, w, b = rng.standard_normal((4, 8, 12, 12)), rng.standard_normal((16, 8, 5, 5)), \
        rng.standard_normal(16)
    out = conv2d(cr.tensor(x), cr.tensor(w), cr.tensor(b))
    np.testing.assert_allclose(out.data, conv_reference(x, w, b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, options, message", [
    ((2, 3, 8, 8), (4, 2, 3, 3), {}, r"expected input of shape \(N, 2, H, W\), got \(2, 3, 8, 8\)"),
    ((3, 8, 8), (4, 3, 3, 3), {}, r"expected input of shape \(N, 3, H, W\), got \(3, 8, 8\)"),
    ((1, 1, 4, 4), (1, 1, 5, 5), {}, r"kernel \(5, 5\).*padded input is only 4x4"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"dilation": 2}, r"spans 5x5 but the padded input is only 4x4"),
    ((1, 4, 4, 4), (6, 2, 3, 3), {"groups": 4}, r"groups must be a positive divisor"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 0}, r"stride must be an int >= 1"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"padding": "full"}, r"padding must be"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"padding": "same", "stride": 2}, r"'same' needs stride 1"),
    ((1, 1, 4, 4), (1, 1, 3), {}, r"weight must be \(out_channels"),
])
def test_bad_input_names_the_function_and_the_shapes(x_shape, w_shape, options, message):
    x, w = cr.tensor(np.zeros(x_shape)), cr.tensor(np.zeros(w_shape))
    with pytest.raises(ValueError, match="^conv2d: .*" + message):
        conv2d(x, w, **options)


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="conv2d: expected floating-point input"):
        conv2d(cr.tensor(np.zeros((1, 1, 3, 3), np.int64)), cr.tensor(np.zeros((1, 1, 2, 2))))


@pytest.mark.parametrize("in_channels", [1, 4], ids=["channels_first", "channels_last"])
def test_backward_twice_through_a_retained_graph(in_channels):
    rng = cr.random.resolve(5)
    x = cr.tensor(rng.standard_normal((2, in_channels, 6, 6)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, in_channels, 3, 3)), requires_grad=True)
    out = conv2d(x, w, padding=1)
    out.backward(np.ones(out.shape), retain_graph=True)
    first = x.grad.copy(), w.grad.copy()
    out.backward(np.ones(out.shape))  # the patches were dropped after the first pass
    np.testing.assert_allclose(x.grad, 2 * first[0])
    np.testing.assert_allclose(w.grad, 2 * first[1])
