"""cr.nn.init: formulas (bounds, mean, std) with seeded generators, fans and gains."""

import math

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.nn import init

SHAPE = (300, 400)  # 120,000 draws: sample mean/std within ~1% of the formula


def _param(shape=SHAPE, dtype=np.float32):
    return cr.nn.Parameter(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize(
    ("nonlinearity", "param", "expected"),
    [("linear", None, 1.0), ("sigmoid", None, 1.0), ("conv2d", None, 1.0),
     ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
     ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
     ("leaky_relu", math.sqrt(5), math.sqrt(2 / 6)), ("leaky_relu", 0, math.sqrt(2))],
)
def test_calculate_gain_by_hand(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_calculate_gain_matches_torch():
    torch = importorskip("torch")
    cases = [("linear", None), ("conv1d", None), ("conv3d", None), ("conv_transpose2d", None),
             ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
             ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5))]
    for nonlinearity, param in cases:
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12), nonlinearity


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a number"):
        init.calculate_gain("leaky_relu", "0.2")


def test_fans():
    assert init.calculate_fan_in_and_fan_out(np.empty((3, 5))) == (5, 3)
    assert init.calculate_fan_in_and_fan_out(np.empty((8, 3, 5, 5))) == (75, 200)
    with pytest.raises(ValueError, match=r"at least 2 axes.*\(7,\)"):
        init.calculate_fan_in_and_fan_out(np.empty(7))


def test_fans_match_torch():
    torch = importorskip("torch")
    for shape in [(3, 5), (8, 3, 5, 5), (4, 2, 3)]:
        expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert init.calculate_fan_in_and_fan_out(np.empty(shape)) == expected


def test_uniform_bounds_mean_std():
    w = _param()
    assert init.uniform_(w, -2.0, 3.0, generator=np.random.default_rng(1)) is w
    data = w.data
    assert data.dtype == np.float32
    assert data.min() >= -2.0 and data.max() <= 3.0
    assert data.min() < -1.99 and data.max() > 2.99  # the whole interval is used
    assert data.mean() == pytest.approx(0.5, abs=0.02)
    assert data.std() == pytest.approx(5 / math.sqrt(12), rel=0.01)


def test_normal_mean_std():
    w = _param(dtype=np.float64)
    init.normal_(w, mean=1.5, std=0.3, generator=3)
    assert w.dtype == np.float64
    assert w.data.mean() == pytest.approx(1.5, abs=0.005)
    assert w.data.std() == pytest.approx(0.3, rel=0.01)


def test_constants():
    w = _param((2, 3))
    assert np.array_equal(init.ones_(w).data, np.ones((2, 3)))
    assert np.array_equal(init.zeros_(w).data, np.zeros((2, 3)))
    assert np.array_equal(init.constant_(w, -0.25).data, np.full((2, 3), -0.25))
    assert w.dtype == np.float32


def test_xavier():
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    w = init.xavier_uniform_(_param(), gain=2.0, generator=4)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    w = init.xavier_normal_(_param(), generator=5)
    assert w.data.mean() == pytest.approx(0.0, abs=0.001)
    assert w.data.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.01)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming(mode):
    shape = (60, 40, 5, 5)  # fan_in 1000, fan_out 1500
    fan = 1000 if mode == "fan_in" else 1500
    w = init.kaiming_uniform_(_param(shape), mode=mode, nonlinearity="relu", generator=6)
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    w = init.kaiming_normal_(_param(shape), a=0.2, mode=mode, generator=7)
    std = math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(fan)
    assert w.data.std() == pytest.approx(std, rel=0.01)


def test_kaiming_uniform_sqrt5_is_pytorch_linear_default():
    w = init.kaiming_uniform_(_param((50, 400)), a=math.sqrt(5), generator=8)
    bound = 1 / math.sqrt(400)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound


def test_seeding_explicit_and_global():
    a = init.normal_(_param((4, 5)), generator=np.random.default_rng(11)).data
    b = init.normal_(_param((4, 5)), generator=11).data
    assert np.array_equal(a, b)
    cr.manual_seed(12)
    c = init.uniform_(_param((4, 5))).data
    d = init.uniform_(_param((4, 5))).data
    cr.manual_seed(12)
    assert np.array_equal(init.uniform_(_param((4, 5))).data, c)
    assert not np.array_equal(c, d)  # the global stream moves on


def test_arrays_and_non_contiguous_and_half():
    array = np.zeros((6, 4), dtype=np.float32)
    init.uniform_(array.T, 1.0, 2.0, generator=0)  # a transposed view is written in place
    assert array.min() >= 1.0 and array.max() <= 2.0
    half = init.normal_(np.zeros((50, 50), dtype=np.float16), generator=0)
    assert half.dtype == np.float16 and 0.9 < half.std() < 1.1


def test_errors():
    with pytest.raises(TypeError, match=r"uniform_: needs a floating-point .* int64"):
        init.uniform_(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(_param((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="fan_in is 0"):
        init.kaiming_uniform_(_param((3, 0)))
    with pytest.raises(ValueError, match="a=1 exceeds upper bound b=0"):
        init.uniform_(_param((2, 2)), 1, 0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        init.normal_(_param((2, 2)), std=-1.0)


def test_fan_in_uniform_is_the_pytorch_layer_default():
    weight, bias = _param((40, 30, 3, 3)), _param((40,))  # a conv weight: fan_in = 270
    assert init.fan_in_uniform_(weight, bias, generator=9) is weight
    bound = 1 / math.sqrt(270)
    for p in (weight.data, bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    same = init.kaiming_uniform_(_param((40, 30, 3, 3)), a=math.sqrt(5), generator=9)
    np.testing.assert_allclose(same.data, weight.data, rtol=1e-6)
    empty, zero_bias = _param((3, 0)), cr.nn.Parameter(np.ones(3, dtype=np.float32))
    init.fan_in_uniform_(empty, zero_bias)  # no inputs: nothing to scale by, the bias is 0
    np.testing.assert_array_equal(zero_bias.data, np.zeros(3))
