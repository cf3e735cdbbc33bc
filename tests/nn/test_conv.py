"""The Conv2d layer: shapes, parameters and their initialisation, errors naming the layer,
saving and rebuilding, and PyTorch's Conv2d with the same weights."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr


def _images(*shape, dtype=np.float32, seed=0):
    return cr.tensor(cr.random.resolve(seed).standard_normal(shape).astype(dtype))


@pytest.mark.parametrize("options, out_shape", [
    ({}, (2, 8, 10, 14)),
    ({"stride": 2, "padding": 1}, (2, 8, 6, 8)),
    ({"padding": "same"}, (2, 8, 12, 16)),
    ({"padding": (0, 2), "dilation": (2, 1)}, (2, 8, 8, 18)),
])
def test_output_shape(options, out_shape):
    conv = cr.nn.Conv2d(4, 8, 3, **options)
    assert conv(_images(2, 4, 12, 16)).shape == out_shape


def test_parameters_and_initialisation_bounds():
    conv = cr.nn.Conv2d(6, 4, (3, 2), groups=2, generator=0)
    assert conv.weight.shape == (4, 3, 3, 2) and conv.bias.shape == (4,)
    assert conv.num_parameters() == 4 * 3 * 3 * 2 + 4
    bound = 1 / np.sqrt(3 * 3 * 2)  # fan_in = in_channels / groups · kh · kw
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound  # uniform over the whole range
    assert conv.weight.dtype == conv.bias.dtype == np.float32
    assert cr.nn.Conv2d(1, 2, 3, bias=False).bias is None


def test_initialisation_is_seeded():
    a, b = cr.nn.Conv2d(2, 3, 3, generator=7), cr.nn.Conv2d(2, 3, 3, generator=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, cr.nn.Conv2d(2, 3, 3, generator=8).weight.data)


def test_float64_layer_keeps_float64():
    conv = cr.nn.Conv2d(2, 3, 3, dtype=np.float64)
    x = _images(1, 2, 5, 5, dtype=np.float64)
    x.requires_grad_()
    out = conv(x)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == conv.weight.grad.dtype == np.float64


def test_float32_layer_on_float32_input_stays_float32():
    out = cr.nn.Conv2d(2, 3, 3)(_images(1, 2, 5, 5))
    assert out.dtype == np.float32


@pytest.mark.parametrize("shape, message", [
    ((2, 1, 28, 28), r"expected input of shape \(N, 3, H, W\), got \(2, 1, 28, 28\)"),
    ((3, 28, 28), r"expected input of shape \(N, 3, H, W\), got \(3, 28, 28\)"),
    ((2, 3, 4, 9), (r"kernel \(5, 5\) with dilation \(1, 1\) spans 5x5 but the padded input is "
                   r"only 4x9 \(input shape \(2, 3, 4, 9\)")),
])
def test_bad_input_names_the_layer_and_shapes(shape, message):
    conv = cr.nn.Conv2d(3, 8, 5)
    with pytest.raises(ValueError, match=r"^Conv2d\(3, 8, kernel_size=\(5, 5\), stride=\(1, 1\)\)"
                                         r": " + message):
        conv(cr.tensor(np.zeros(shape, np.float32)))


def test_bad_construction_arguments():
    with pytest.raises(ValueError, match=r"Conv2d\(4, 6\): groups=4 must divide"):
        cr.nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match=r"kernel_size must be an int >= 1"):
        cr.nn.Conv2d(4, 6, 0)
    with pytest.raises(TypeError, match="expected a Tensor"):
        cr.nn.Conv2d(1, 1, 1)(np.zeros((1, 1, 2, 2)))


def test_repr():
    assert repr(cr.nn.Conv2d(1, 8, 5)) == "Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1))"
    assert repr(cr.nn.Conv2d(4, 8, (3, 1), 2, 1, groups=2, bias=False)) == (
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), padding=(1, 1), groups=2, bias=False)")


def test_save_and_load_model(tmp_path):
    model = cr.nn.Sequential(cr.nn.Conv2d(1, 4, 3, padding=1), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                             cr.nn.Flatten(), cr.nn.Linear(4 * 4 * 4, 3))
    cr.save(model, tmp_path / "cnn.safetensors")
    loaded = cr.load_model(tmp_path / "cnn.safetensors")
    x = _images(2, 1, 8, 8)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


@pytest.mark.parametrize("options", [
    {}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
    {"groups": 2, "stride": (1, 2)}, {"kernel_size": (2, 4), "padding": "same"},
], ids=str)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_matches_torch_conv2d(options):
    torch = importorskip("torch")
    options = {"kernel_size": 3, **options}
    ours = cr.nn.Conv2d(4, 6, generator=3, **options)
    theirs = torch.nn.Conv2d(4, 6, **options)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x = _images(3, 4, 9, 10)
    x.requires_grad_()
    tx = torch.from_numpy(x.data.copy()).requires_grad_()
    out, reference = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-5, atol=1e-5)
    upstream = cr.random.resolve(4).standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    reference.backward(torch.from_numpy(upstream))
    for mine, other in [(x.grad, tx.grad), (ours.weight.grad, theirs.weight.grad),
                        (ours.bias.grad, theirs.bias.grad)]:
        np.testing.assert_allclose(mine, other.numpy(), rtol=1e-4, atol=1e-4)
