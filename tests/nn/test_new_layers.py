"""The layers of issue 13 (Conv1d, Conv3d, ConvTranspose2d, GroupNorm, InstanceNorm2d):
shapes, parameters, errors naming the layer, saving and rebuilding, and PyTorch's layers
with the same weights."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import module_from_spec, module_spec


def _data(*shape, dtype=np.float32, seed=0):
    return cr.tensor(cr.random.resolve(seed).standard_normal(shape).astype(dtype))


# (layer, input shape, output shape, PyTorch class and arguments)
LAYERS = [
    (cr.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, generator=0), (2, 4, 11), (2, 6, 6),
     ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2})),
    (cr.nn.Conv1d(3, 5, 4, padding="same", dilation=2, bias=False, generator=1), (2, 3, 9),
     (2, 5, 9), ("Conv1d", (3, 5, 4), {"padding": "same", "dilation": 2, "bias": False})),
    (cr.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=1, generator=2), (2, 2, 4, 5, 6),
     (2, 4, 4, 3, 6), ("Conv3d", (2, 4, (3, 2, 3)), {"stride": (1, 2, 1), "padding": 1})),
    (cr.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                           generator=3), (2, 4, 5, 4), (2, 6, 10, 8),
     ("ConvTranspose2d", (4, 6, 3),
      {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2})),
    (cr.nn.ConvTranspose2d(3, 2, (2, 3), dilation=2, bias=False, generator=4), (1, 3, 4, 4),
     (1, 2, 6, 8), ("ConvTranspose2d", (3, 2, (2, 3)), {"dilation": 2, "bias": False})),
    (cr.nn.GroupNorm(2, 6), (3, 6, 4, 5), (3, 6, 4, 5), ("GroupNorm", (2, 6), {})),
    (cr.nn.GroupNorm(3, 3, affine=False, eps=1e-3), (2, 3, 7), (2, 3, 7),
     ("GroupNorm", (3, 3), {"affine": False, "eps": 1e-3})),
    (cr.nn.InstanceNorm2d(3), (2, 3, 4, 4), (2, 3, 4, 4), ("InstanceNorm2d", (3,), {})),
    (cr.nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 5), (2, 2, 3, 5),
     ("InstanceNorm2d", (2,), {"affine": True})),
]
IDS = [repr(layer) for layer, *_ in LAYERS]


@pytest.mark.parametrize("layer, in_shape, out_shape, torch_spec", LAYERS, ids=IDS)
def test_shape_dtype_and_gradients(layer, in_shape, out_shape, torch_spec):
    out = layer(_data(*in_shape))
    assert out.shape == out_shape and out.dtype == np.float32
    layer64 = module_from_spec(module_spec(layer))
    layer64.load_state_dict({k: v.astype(np.float64) for k, v in layer.state_dict().items()})
    params = list(layer64.parameters())
    for p in params:
        p.data = p.data.astype(np.float64)
    x = _data(*in_shape, dtype=np.float64, seed=1)
    x.requires_grad_()
    assert cr.gradcheck(lambda x, *ps: layer64(x), x, *params)


@pytest.mark.parametrize("layer, in_shape, out_shape, torch_spec", LAYERS, ids=IDS)
def test_spec_and_state_round_trip(layer, in_shape, out_shape, torch_spec):
    spec = module_spec(layer)
    rebuilt = module_from_spec(json.loads(json.dumps(spec)))
    assert type(rebuilt) is type(layer) and repr(rebuilt) == repr(layer)
    rebuilt.load_state_dict(layer.state_dict())
    x = _data(*in_shape)
    np.testing.assert_array_equal(rebuilt(x).data, layer(x).data)


def test_save_and_load_model(tmp_path):
    model = cr.nn.Sequential(cr.nn.Conv1d(1, 4, 3, padding=1), cr.nn.GroupNorm(2, 4),
                             cr.nn.SiLU(), cr.nn.Flatten(), cr.nn.Linear(4 * 8, 3))
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load_model(tmp_path / "model.safetensors")
    x = _data(2, 1, 8)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


@pytest.mark.parametrize("layer, in_shape, out_shape, torch_spec", LAYERS, ids=IDS)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_matches_torch(layer, in_shape, out_shape, torch_spec):
    torch = pytest.importorskip("torch")
    name, args, kwargs = torch_spec
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert [tuple(p.shape) for p in theirs.parameters()] == [p.shape for p in
                                                             layer.parameters()]
    with torch.no_grad():
        for mine, other in zip(layer.parameters(), theirs.parameters()):
            other.copy_(torch.from_numpy(mine.data))
    x = _data(*in_shape, seed=2)
    x.requires_grad_()
    tx = torch.from_numpy(x.data.copy()).requires_grad_()
    out, reference = layer(x), theirs(tx)
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-4, atol=1e-5)
    upstream = cr.random.resolve(3).standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    reference.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for mine, other in zip(layer.parameters(), theirs.parameters()):
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_initialisation_bounds_follow_pytorch():
    up = cr.nn.ConvTranspose2d(6, 4, 3, groups=2, generator=0)
    assert up.weight.shape == (6, 2, 3, 3) and up.bias.shape == (4,)
    bound = 1 / np.sqrt(2 * 3 * 3)  # fan_in from the weight's second axis, as PyTorch
    assert bound * 0.8 < np.abs(up.weight.data).max() <= bound
    conv = cr.nn.Conv3d(4, 2, 2, groups=2, generator=0)
    assert conv.weight.shape == (2, 2, 2, 2, 2)
    assert np.abs(conv.weight.data).max() <= 1 / np.sqrt(2 * 8)


@pytest.mark.parametrize("layer, shape, message", [
    (cr.nn.Conv1d(3, 4, 3), (2, 5, 7), r"Conv1d\(3, 4.*conv2d; input \(2, 5, 7\)"),
    (cr.nn.Conv1d(3, 4, 3), (2, 3, 7, 1), r"Conv1d\(3, 4.*expected input of shape \(N, C, L\)"),
    (cr.nn.Conv3d(2, 4, 3), (1, 2, 4, 4), r"Conv3d\(2, 4.*expected input of shape \(N, 2, D"),
    (cr.nn.Conv3d(2, 4, 3), (1, 2, 2, 5, 5), r"Conv3d\(2, 4.*kernel depth 3"),
    (cr.nn.ConvTranspose2d(3, 4, 3), (1, 2, 5, 5),
     r"ConvTranspose2d\(3, 4.*expected input of shape \(N, 3, H, W\), got \(1, 2, 5, 5\)"),
    (cr.nn.GroupNorm(2, 4), (2, 6, 3), r"GroupNorm\(2, 4.*weight must have shape \(6,\)"),
    (cr.nn.InstanceNorm2d(3), (2, 3, 4), r"InstanceNorm2d\(3.*\(N, 3, H, W\), got \(2, 3, 4\)"),
])
def test_bad_input_names_the_layer_and_shapes(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(_data(*shape))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"groups=3 must divide"):
        cr.nn.Conv1d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match=r"num_groups=4 must divide num_channels=6"):
        cr.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"padding must be an int or a pair"):
        cr.nn.ConvTranspose2d(2, 2, 3, padding="same")
    x, w = _data(1, 2, 4, 4), _data(2, 3, 3, 3)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than the "
                                         r"stride \(2, 2\)"):
        cr.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"num_groups must be a positive divisor of the 2"):
        cr.nn.functional.group_norm(x, 3)
