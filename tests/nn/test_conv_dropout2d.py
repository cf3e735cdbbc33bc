"""Dropout2d: whole channels zeroed in training, scaling, eval identity, seeded masks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import module_from_spec, module_spec
from chainrule.nn.functional import dropout2d


def _ones(*shape, dtype=np.float32):
    return cr.tensor(np.ones(shape, dtype=dtype), requires_grad=True)


def test_zeroes_whole_channels_and_scales_the_rest():
    x = _ones(16, 32, 3, 3)
    out = cr.nn.Dropout2d(0.25, generator=0)(x)
    maps = out.data.reshape(16, 32, 9)
    assert set(np.unique(maps)) == {0.0, np.float32(1 / 0.75)}
    assert (maps == maps[:, :, :1]).all()  # each feature map is kept or dropped as a whole
    dropped = (maps[:, :, 0] == 0).mean()
    assert 0.18 < dropped < 0.32  # 512 channels, p = 0.25
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # the gradient is the mask times 1/(1-p)
    assert out.dtype == x.grad.dtype == np.float32


def test_eval_mode_and_p_zero_are_the_identity():
    x = _ones(2, 3, 4, 4)
    assert cr.nn.Dropout2d(0.5).eval()(x) is x
    assert dropout2d(x, 0.0) is x


def test_p_one_zeroes_everything():
    assert not cr.nn.Dropout2d(1.0)(_ones(2, 3, 2, 2)).data.any()


def test_masks_are_seeded_and_differ_between_calls():
    a, b = cr.nn.Dropout2d(0.5, generator=3), cr.nn.Dropout2d(0.5, generator=3)
    x = _ones(8, 8, 2, 2)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)
    cr.manual_seed(5)
    global_first = cr.nn.Dropout2d(0.5)(x).data
    cr.manual_seed(5)
    np.testing.assert_array_equal(global_first, cr.nn.Dropout2d(0.5)(x).data)


def test_saved_configuration_round_trip():
    spec = module_spec(cr.nn.Dropout2d(0.3, generator=1))
    assert spec == {"class": "Dropout2d", "config": {"p": 0.3}}
    assert repr(module_from_spec(spec)) == "Dropout2d(p=0.3)"


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        cr.nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5\): expected input of shape "
                                         r"\(N, C, H, W\), got \(3, 4\)"):
        cr.nn.Dropout2d()(_ones(3, 4))
    with pytest.raises(ValueError, match=r"^dropout2d: expected input of shape \(N, C, H, W\), "
                                         r"got \(3, 4\)"):
        dropout2d(_ones(3, 4))
    with pytest.raises(ValueError, match=r"^dropout2d: p must be in \[0, 1\], got -0.5"):
        dropout2d(_ones(1, 2, 2, 2), -0.5)
    with pytest.raises(TypeError, match=r"^dropout2d: expected floating-point input"):
        dropout2d(cr.tensor(np.ones((1, 2, 2, 2), np.int64)))
