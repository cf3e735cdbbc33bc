"""Dropout: inverted scaling in training, identity in eval, seeded masks, gradient."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def test_training_zeroes_about_p_and_scales_the_rest():
    x = cr.tensor(np.full((400, 250), 3.0, dtype=np.float32), requires_grad=True)
    out = cr.nn.Dropout(0.3)(x)
    assert out.dtype == np.float32
    kept = out.data != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out.data[kept], 3.0 / 0.7, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / np.float32(0.7), rtol=1e-6)  # dy/dx = m/(1-p)


def test_eval_and_edge_probabilities_are_exact():
    x = cr.tensor(np.ones((3, 4), dtype=np.float32))
    assert cr.nn.Dropout(0.9).eval()(x) is x
    assert cr.nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(cr.nn.Dropout(1.0)(x).data, np.zeros((3, 4)))


def test_seeded_masks():
    x = cr.tensor(np.ones((20, 20), dtype=np.float32))
    a = cr.nn.Dropout(0.5, generator=7)
    b = cr.nn.Dropout(0.5, generator=np.random.default_rng(7))
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)  # an int seed still gives new masks per call
    cr.manual_seed(3)
    g1 = cr.nn.Dropout(0.5)(x).data
    cr.manual_seed(3)
    np.testing.assert_array_equal(cr.nn.Dropout(0.5)(x).data, g1)
    assert "generator" not in cr.nn.Dropout(0.5, generator=1).get_config()


def test_functional_dropout_and_errors():
    x = cr.tensor(np.ones(10))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.5, generator=0).dtype == np.float64
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\], got 1.5"):
        cr.nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got -0.1"):
        F.dropout(x, -0.1)
    with pytest.raises(TypeError, match="dropout: expected floating-point input, got dtype int64"):
        F.dropout(cr.tensor([1, 2]), 0.5)
