"""Standardizer: statistics, dtypes, inverse, per-channel axes, JSON state, errors."""

import json

import numpy as np
import pytest

from chainrule.data import Standardizer


def test_fit_transform_gives_zero_mean_unit_std_in_float32():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(500, 4)) * [1, 10, 0.1, 3] + [5, -2, 0, 100]).astype(np.float32)
    s = Standardizer()
    z = s.fit_transform(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(s.mean_[0], x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-5, atol=1e-4)
    assert s.inverse_transform(z).dtype == np.float32


def test_constant_feature_is_only_centred_and_ints_become_float32():
    x = np.array([[1, 7], [3, 7], [5, 7]])
    z = Standardizer().fit_transform(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 1], 0)
    np.testing.assert_allclose(z[:, 0], np.array([-1, 0, 1]) * np.sqrt(1.5), rtol=1e-6)


def test_per_channel_axes_for_images():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3, 5, 5)) * np.array([1, 2, 3])[:, None, None] + 4
    s = Standardizer(axis=(0, 2, 3)).fit(x)
    assert s.mean_.shape == (1, 3, 1, 1)
    z = s.transform(x[:2])  # any batch size
    assert z.shape == (2, 3, 5, 5) and z.dtype == np.float64
    np.testing.assert_allclose(s.transform(x).std(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_state_is_json_and_round_trips_exactly():
    x = np.random.default_rng(2).normal(size=(20, 3)).astype(np.float32)
    s = Standardizer().fit(x)
    state = json.loads(json.dumps(s.state_dict()))
    t = Standardizer().load_state_dict(state)
    np.testing.assert_array_equal(t.transform(x), s.transform(x))
    assert t.axis == (0,) and "fitted" in repr(t)


def test_errors():
    s = Standardizer()
    with pytest.raises(RuntimeError, match=r"Standardizer.transform: not fitted"):
        s.transform(np.zeros((2, 3)))
    s.fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected data shaped like \('\*', 3\).*got \(2, 4\)"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="axis"):
        Standardizer(axis=2).fit(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="numeric"):
        Standardizer().fit(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="malformed"):
        Standardizer().load_state_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="positive"):
        Standardizer().load_state_dict({"axis": [0], "mean": [[0.0]], "scale": [[0.0]]})
