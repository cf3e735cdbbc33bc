"""Normalisation layers: batch statistics in training, running statistics in eval, buffers that
follow the weights' dtype, errors naming the layer, and PyTorch's layers step for step."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
import chainrule.nn.functional as F


def _batch(*shape, dtype=np.float32, seed=0, scale=3.0, shift=2.0):
    data = cr.random.resolve(seed).standard_normal(shape) * scale + shift
    return cr.tensor(data.astype(dtype), requires_grad=True)


def test_training_output_is_standardised_per_channel():
    bn = cr.nn.BatchNorm2d(3)
    out = bn(_batch(8, 3, 4, 5))
    np.testing.assert_allclose(out.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.data.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_running_statistics_update_and_eval_uses_them():
    bn = cr.nn.BatchNorm1d(2, momentum=0.5)
    x = cr.tensor(np.array([[1.0, 10.0], [3.0, 30.0]], np.float32))
    bn(x)
    np.testing.assert_allclose(bn.running_mean, [1.0, 10.0])  # 0.5·0 + 0.5·mean
    np.testing.assert_allclose(bn.running_var, [0.5 + 0.5 * 2.0, 0.5 + 0.5 * 200.0])  # unbiased
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    before = bn.running_mean.copy()
    out = bn(x[:1])  # one sample is fine in eval, and does not move the statistics
    np.testing.assert_allclose(out.data, (x.data[:1] - before) / np.sqrt(bn.running_var + 1e-5),
                               rtol=1e-6)
    np.testing.assert_array_equal(bn.running_mean, before)
    assert int(bn.num_batches_tracked) == 1


def test_eval_output_of_a_sample_does_not_depend_on_its_batch():
    bn = cr.nn.BatchNorm2d(3)
    for seed in range(3):
        bn(_batch(4, 3, 2, 2, seed=seed))
    bn.eval()
    batch = _batch(5, 3, 2, 2, seed=9)
    np.testing.assert_allclose(bn(batch).data[:1], bn(batch[:1]).data, rtol=1e-6)


def test_cumulative_average_when_momentum_is_none():
    bn = cr.nn.BatchNorm1d(1, momentum=None)
    means = []
    for seed in range(4):
        x = _batch(6, 1, seed=seed)
        means.append(x.data.mean())
        bn(x)
    np.testing.assert_allclose(bn.running_mean, [np.mean(means)], rtol=1e-5)


def test_without_running_statistics_eval_uses_the_batch():
    bn = cr.nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]
    out = bn(_batch(4, 2, 3, 3))
    np.testing.assert_allclose(out.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_no_affine_has_no_parameters():
    bn = cr.nn.BatchNorm1d(4, affine=False)
    assert bn.num_parameters() == 0 and bn.weight is None
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_buffers_follow_the_weights_dtype(dtype):
    bn = cr.nn.BatchNorm2d(3, dtype=dtype)
    assert bn.running_mean.dtype == bn.running_var.dtype == bn.weight.dtype == dtype
    out = bn(_batch(4, 3, 2, 2, dtype=dtype))
    out.sum().backward()
    assert out.dtype == bn.weight.grad.dtype == bn.running_var.dtype == dtype
    bn.astype(np.float64 if dtype == np.float32 else np.float32)
    assert bn.running_mean.dtype == bn.running_var.dtype == bn.weight.dtype
    assert bn.num_batches_tracked.dtype == np.int64


def test_float32_statistics_stay_float32_under_float64_input():
    bn = cr.nn.BatchNorm1d(2)
    bn(_batch(5, 2, dtype=np.float64))
    assert bn.running_mean.dtype == np.float32
    bn.eval()
    assert bn(_batch(5, 2)).dtype == np.float32


def test_gradients_through_the_layer_match_central_differences():
    bn = cr.nn.BatchNorm2d(2, dtype=np.float64)
    bn.weight.data[:] = [0.5, 2.0]
    x = _batch(3, 2, 2, 3, dtype=np.float64)
    assert cr.gradcheck(lambda t, w, b: cr.nn.functional.batch_norm(t, weight=w, bias=b,
                                                                     training=True),
                        x, bn.weight, bn.bias)
    assert cr.gradcheck(lambda t: bn(t), x)  # the layer itself, statistics updating meanwhile


@pytest.mark.parametrize("layer, shape, message", [
    (cr.nn.BatchNorm2d(3), (4, 2, 5, 5), (r"expected input of shape \(N, 3, H, W\), got "
                                         r"\(4, 2, 5, 5\)")),
    (cr.nn.BatchNorm2d(3), (4, 3), r"expected input of shape \(N, 3, H, W\), got \(4, 3\)"),
    (cr.nn.BatchNorm1d(3), (4, 3, 2, 2), r"expected input of shape \(N, 3\) or \(N, 3, L\)"),
    (cr.nn.LayerNorm((3, 4)), (2, 4, 3), (r"expected input of shape \(\*, 3, 4\), got "
                                         r"\(2, 4, 3\)")),
], ids=lambda v: repr(v) if isinstance(v, cr.nn.Module) else "")
def test_bad_input_names_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match="^" + repr(layer).replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.") + ": " + message):
        layer(cr.tensor(np.zeros(shape, np.float32)))


@pytest.mark.parametrize("call, message", [
    (lambda x: F.batch_norm(x[0, 0], training=True),
     r"^batch_norm: expected input of shape \(N, C, \.\.\.\), got \(4,\)"),
    (lambda x: F.batch_norm(x, np.zeros(2), np.ones(3)),
     r"^batch_norm: running_mean must have shape \(3,\) for input of shape \(2, 3, 4\)"),
    (lambda x: F.batch_norm(x, np.zeros(3)), r"^batch_norm: pass both running_mean and "),
    (lambda x: F.layer_norm(x, (4, 3)),
     r"^layer_norm: expected input of shape \(\*, 4, 3\), got \(2, 3, 4\)"),
    (lambda x: F.layer_norm(x, 4, bias=cr.tensor(np.zeros(4))), r"^layer_norm: a bias needs "),
    (lambda x: F.layer_norm(x, 4, cr.tensor(np.ones(3))),
     r"^layer_norm: weight must have shape \(4,\), got \(3,\)"),
], ids=["rank", "running_shape", "running_pair", "shape", "bias_alone", "weight_shape"])
def test_bad_input_names_the_function(call, message):
    with pytest.raises(ValueError, match=message):
        call(cr.tensor(np.zeros((2, 3, 4), np.float32)))


def test_training_on_one_value_per_channel_is_refused():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        cr.nn.BatchNorm1d(3)(cr.tensor(np.zeros((1, 3), np.float32)))


def test_layer_norm_standardises_each_sample():
    ln = cr.nn.LayerNorm((3, 4))
    out = ln(_batch(5, 3, 4))
    np.testing.assert_allclose(out.data.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.data.var(axis=(1, 2)), 1, atol=1e-3)
    assert ln.weight.shape == ln.bias.shape == (3, 4)


def test_layer_norm_options():
    assert cr.nn.LayerNorm(4, bias=False).bias is None
    plain = cr.nn.LayerNorm(4, elementwise_affine=False)
    assert plain.num_parameters() == 0
    x = _batch(2, 4)
    np.testing.assert_allclose(plain(x).data, cr.nn.LayerNorm(4)(x).data)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(6, 3), (6, 3, 5), (4, 3, 5, 6)])
def test_batch_norm_matches_torch_over_steps(shape, momentum):
    torch = importorskip("torch")
    layer = cr.nn.BatchNorm1d if len(shape) < 4 else cr.nn.BatchNorm2d
    ours = layer(3, momentum=momentum)
    theirs = getattr(torch.nn, layer.__name__)(3, momentum=momentum)
    ours.weight.data[:] = [0.5, 1.0, 2.0]
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    for step in range(3):
        x = _batch(*shape, seed=step)
        tx = torch.from_numpy(x.data.copy()).requires_grad_()
        out, reference = ours(x), theirs(tx)
        np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-4, atol=1e-5)
        upstream = cr.random.resolve(step).standard_normal(shape).astype(np.float32)
        out.backward(upstream)
        reference.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4)
    ours.eval()
    theirs.eval()
    x = _batch(*shape, seed=10)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x.data)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_layer_norm_matches_torch():
    torch = importorskip("torch")
    ours, theirs = cr.nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))
    ours.weight.data[:] = cr.random.resolve(1).uniform(0.5, 2, (3, 4))
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    x = _batch(2, 5, 3, 4)
    tx = torch.from_numpy(x.data.copy()).requires_grad_()
    out, reference = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    reference.sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
