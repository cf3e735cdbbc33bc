"""The layers of issue 13 (Conv1d, Conv3d, ConvTranspose2d, GroupNorm, InstanceNorm2d): errors
naming the layer, PyTorch's initialisation bounds, and a model of them saved and loaded. (Shapes,
gradients, round trips and PyTorch parity: the layer-case table, tests/nn/cases/porting.py.)"""

import numpy as np
import pytest

import chainrule as cr


def _data(*shape, dtype=np.float32, seed=0):
    return cr.tensor(cr.random.resolve(seed).standard_normal(shape).astype(dtype))


def test_save_and_load_model(tmp_path):
    model = cr.nn.Sequential(cr.nn.Conv1d(1, 4, 3, padding=1), cr.nn.GroupNorm(2, 4),
                             cr.nn.SiLU(), cr.nn.Flatten(), cr.nn.Linear(4 * 8, 3))
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load_model(tmp_path / "model.safetensors")
    x = _data(2, 1, 8)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


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
