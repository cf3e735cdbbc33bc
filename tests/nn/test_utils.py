"""Gradient clipping: hand values, every norm type, skipped parameters, errors, and torch."""

import math

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.nn import Parameter
from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_


def _params(dtype=np.float32, scale=1.0):
    rng = np.random.default_rng(0)
    params = [Parameter(np.zeros(s, dtype)) for s in [(4, 3), (3,), (2, 2, 2)]]
    for p in params:
        p.grad = (rng.normal(size=p.shape) * scale).astype(dtype)
    return params


def test_clip_norm_by_hand():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    grad = a.grad
    assert clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(5.0)
    assert a.grad is grad  # scaled in place
    np.testing.assert_allclose(np.r_[a.grad, b.grad], np.array([3.0, 0.0, 4.0]) / (5 + 1e-6))


@pytest.mark.parametrize("norm_type", [1, 2.0, 3, math.inf, "inf"])
def test_clip_norm_every_norm_type(norm_type):
    params = _params(np.float64)
    flat = np.concatenate([p.grad.ravel() for p in params])
    p = math.inf if norm_type == "inf" else norm_type
    expected = np.linalg.norm(flat, ord=p)
    total = clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-12)
    clipped = np.concatenate([q.grad.ravel() for q in params])
    np.testing.assert_allclose(clipped, flat * 0.5 / (expected + 1e-6), rtol=1e-12)
    assert np.linalg.norm(clipped, ord=p) <= 0.5


def test_small_norm_is_left_alone_and_float32_stays():
    params = _params(np.float32, scale=1e-3)
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, max_norm=1.0)
    assert type(total) is float and 0 < total < 1
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad, g)
    big = _params(np.float32, scale=10.0)
    clip_grad_norm_(big, 1.0)
    assert all(p.grad.dtype == np.float32 for p in big)


def test_parameters_without_grad_a_single_tensor_and_none_at_all():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    a.grad = np.array([0.0, 2.0])
    assert clip_grad_norm_(a, 1.0) == pytest.approx(2.0)
    np.testing.assert_allclose(a.grad, [0.0, 1.0], rtol=1e-6)
    assert clip_grad_norm_(iter([b]), 1.0) == 0.0  # generators work; no gradients: norm 0
    assert clip_grad_norm_([Parameter(np.zeros((0, 3)))], 1.0) == 0.0


def test_nonfinite_norm():
    a = Parameter(np.zeros(2))
    a.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total 2.0-norm of the gradients is inf"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf · 0 is NaN, as in PyTorch
        assert clip_grad_norm_([a], 1.0) == math.inf
    assert np.isnan(a.grad[0]) and a.grad[1] == 0.0  # max_norm / inf scales finite ones to 0


@pytest.mark.parametrize("kwargs,message", [
    ({"max_norm": -1.0}, "max_norm must be a number >= 0, got -1.0"),
    ({"max_norm": 1.0, "norm_type": 0}, "norm_type must be a positive number or 'inf', got 0"),
    ({"max_norm": 1.0, "norm_type": "l2"}, "norm_type"),
])
def test_clip_norm_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        clip_grad_norm_(_params(), **kwargs)


def test_clip_value():
    a, b = Parameter(np.zeros(3, np.float32)), Parameter(np.zeros(1))
    a.grad = np.array([-3.0, 0.2, 5.0], np.float32)
    grad = a.grad
    clip_grad_value_([a, b], 1.0)
    assert a.grad is grad and a.grad.dtype == np.float32 and b.grad is None
    np.testing.assert_array_equal(a.grad, np.array([-1.0, 0.2, 1.0], np.float32))
    with pytest.raises(ValueError, match="clip_value must be a number >= 0, got -1"):
        clip_grad_value_([a], -1)


def test_clipping_before_a_step_bounds_the_update():
    w = Parameter(np.ones(4, np.float32))
    (cr.tensor(np.full(4, 100.0, np.float32)) * w).sum().backward()
    clip_grad_norm_([w], max_norm=1.0)
    cr.optim.SGD([w], lr=1.0).step()
    assert np.linalg.norm(1.0 - w.data) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_matches_torch(norm_type):
    torch = importorskip("torch")
    ours = _params(np.float32, scale=3.0)
    theirs = [torch.zeros(p.shape, requires_grad=True) for p in ours]
    for p, t in zip(ours, theirs):
        t.grad = torch.from_numpy(p.grad.copy())
    total = clip_grad_norm_(ours, 2.0, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 2.0, norm_type=norm_type)
    assert total == pytest.approx(float(ref), rel=1e-6)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)
    for p, t in zip(ours, theirs):  # value clipping from identical gradients: bitwise equal
        t.grad = torch.from_numpy(p.grad.copy())
    torch.nn.utils.clip_grad_value_(theirs, 0.05)
    clip_grad_value_(ours, 0.05)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
