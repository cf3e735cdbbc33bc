"""Pooling layers: shapes, errors naming the layer, and the gradient routing of max pooling
where windows overlap, tile, or leave input unused."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
import chainrule.nn.functional as F


def _images(*shape, dtype=np.float32, seed=0):
    return cr.tensor(cr.random.resolve(seed).standard_normal(shape).astype(dtype),
                     requires_grad=True)


@pytest.mark.parametrize("layer, out_shape", [
    (cr.nn.MaxPool2d(2), (2, 3, 6, 5)),
    (cr.nn.MaxPool2d(3, stride=1, padding=1), (2, 3, 12, 11)),
    (cr.nn.MaxPool2d((2, 3), stride=(2, 1), dilation=(1, 2)), (2, 3, 6, 7)),
    (cr.nn.AvgPool2d(2), (2, 3, 6, 5)),
    (cr.nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 6, 6)),
    (cr.nn.AdaptiveAvgPool2d(1), (2, 3, 1, 1)),
    (cr.nn.AdaptiveAvgPool2d((5, None)), (2, 3, 5, 11)),
], ids=repr)
def test_output_shape_and_dtype(layer, out_shape):
    out = layer(_images(2, 3, 12, 11))
    assert out.shape == out_shape and out.dtype == np.float32
    out.sum().backward()


def test_max_pool_values_and_gradient_on_a_known_input():
    x = cr.tensor(np.arange(20.0).reshape(1, 1, 4, 5), requires_grad=True)
    out = cr.nn.MaxPool2d(2)(x)
    np.testing.assert_array_equal(out.data[0, 0], [[6, 8], [16, 18]])
    out.sum().backward()
    expected = np.zeros((4, 5))
    expected[[1, 1, 3, 3], [1, 3, 1, 3]] = 1  # the last column is in no window
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_overlapping_max_windows_accumulate_gradient():
    x = cr.tensor(np.array([[[[0.0, 5.0, 1.0, 0.0]]]]), requires_grad=True)
    cr.nn.MaxPool2d((1, 2), stride=1)(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0, 0], [0, 2, 1, 0])  # 5 wins two windows


def test_avg_pool_spreads_the_gradient():
    x = _images(1, 1, 4, 4)
    cr.nn.AvgPool2d(3, stride=1)(x).sum().backward()
    counts = np.array([1, 2, 2, 1])
    np.testing.assert_allclose(x.grad[0, 0], np.outer(counts, counts) / 9)


def test_global_average_pool_is_the_mean():
    x = _images(2, 3, 5, 7)
    out = cr.nn.AdaptiveAvgPool2d(1)(x)
    np.testing.assert_allclose(out.data[..., 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-6)


@pytest.mark.parametrize("layer, shape, message", [
    (cr.nn.MaxPool2d(2), (3, 8, 8), r"expected input of shape \(N, C, H, W\), got \(3, 8, 8\)"),
    (cr.nn.MaxPool2d(5), (1, 1, 4, 8), (r"kernel \(5, 5\) with dilation \(1, 1\) spans 5x5 but "
                                       r"the padded input is only 4x8")),
    (cr.nn.AvgPool2d(2, padding=2), (1, 1, 4, 4), r"padding \(2, 2\) must be at most half"),
    (cr.nn.AdaptiveAvgPool2d(0), (1, 1, 4, 4), r"output_size must be an int >= 1"),
], ids=lambda v: repr(v) if isinstance(v, cr.nn.Module) else "")
def test_bad_input_names_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match="^" + repr(layer).replace("(", r"\(").replace(")", r"\)")
                       + ": " + message):
        layer(cr.tensor(np.zeros(shape, np.float32)))


@pytest.mark.parametrize("call, message", [
    (lambda x: F.max_pool2d(x[0], 2),
     r"^max_pool2d: expected input of shape \(N, C, H, W\), got \(1, 4, 4\)"),
    (lambda x: F.max_pool2d(x, 5), (r"^max_pool2d: kernel \(5, 5\) with dilation \(1, 1\) spans "
                                    r"5x5 but the padded input is only 4x4")),
    (lambda x: F.max_pool2d(x, 2, stride=0), r"^max_pool2d: stride must be an int >= 1"),
    (lambda x: F.avg_pool2d(x, 2, padding=2),
     r"^avg_pool2d: padding \(2, 2\) must be at most half the kernel \(2, 2\)"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 0)), r"^adaptive_avg_pool2d: output_size must be"),
], ids=["rank", "kernel", "stride", "padding", "output_size"])
def test_bad_input_names_the_function(call, message):
    with pytest.raises(ValueError, match=message):
        call(cr.tensor(np.zeros((1, 1, 4, 4), np.float32)))


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match=r"MaxPool2d\(.*\): expected floating-point input"):
        cr.nn.MaxPool2d(2)(cr.tensor(np.zeros((1, 1, 4, 4), np.int64)))
    with pytest.raises(TypeError, match=r"^avg_pool2d: expected floating-point input"):
        F.avg_pool2d(cr.tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (2, 3, 24, 24)])
def test_max_pool_matches_torch_on_relu_output_with_ties(shape):
    torch = importorskip("torch")
    x = np.maximum(cr.random.resolve(2).standard_normal(shape), 0).astype(np.float32)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.from_numpy(x.copy()).requires_grad_()
    out, reference = cr.nn.MaxPool2d(2)(ours), torch.nn.MaxPool2d(2)(theirs)
    np.testing.assert_array_equal(out.data, reference.detach().numpy())
    upstream = cr.random.resolve(3).uniform(0.5, 1.5, out.shape).astype(np.float32)
    out.backward(upstream)
    reference.backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
