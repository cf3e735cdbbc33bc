"""The layer table on each device (the ``device`` fixture): every layer's forward, input
gradient and parameter gradients on the device equal the CPU's, and stay on the device."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend

nn = cr.nn
_rng = np.random.default_rng(0)


def _floats(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


# (id, layer factory, input array, whether the input takes a gradient)
LAYERS = [
    ("linear", lambda: nn.Linear(5, 3), _floats(4, 5), True),
    ("conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), _floats(2, 2, 6, 6), True),
    ("conv2d_stride_groups", lambda: nn.Conv2d(4, 4, 3, stride=2, groups=2), _floats(2, 4, 7, 7),
     True),
    ("maxpool2d", lambda: nn.MaxPool2d(2), _floats(2, 3, 6, 6), True),
    ("avgpool2d_padding", lambda: nn.AvgPool2d(3, 2, padding=1), _floats(2, 3, 7, 7), True),
    ("adaptive_avgpool2d", lambda: nn.AdaptiveAvgPool2d(1), _floats(2, 3, 5, 5), True),
    ("batchnorm1d", lambda: nn.BatchNorm1d(5), _floats(8, 5), True),
    ("batchnorm2d", lambda: nn.BatchNorm2d(3), _floats(4, 3, 5, 5), True),
    ("layernorm", lambda: nn.LayerNorm(5), _floats(4, 5), True),
    ("dropout", lambda: nn.Dropout(0.4, generator=3), _floats(6, 5), True),
    ("dropout2d", lambda: nn.Dropout2d(0.5, generator=3), _floats(4, 6, 3, 3), True),
    ("gelu_softmax", lambda: nn.Sequential(nn.GELU(), nn.Softmax()), _floats(3, 4), True),
    ("embedding", lambda: nn.Embedding(10, 4, padding_idx=0),
     np.array([[1, 2, 0], [9, 2, 2]]), False),
    ("rnn", lambda: nn.RNN(4, 5, num_layers=2), _floats(6, 3, 4), True),
    ("lstm", lambda: nn.LSTM(4, 5, batch_first=True), _floats(3, 6, 4), True),
    ("gru", lambda: nn.GRU(4, 5, bidirectional=True), _floats(6, 3, 4), True),
    ("multihead_attention", lambda: _SelfAttention(nn.MultiheadAttention(8, 2)),
     _floats(5, 2, 8), True),
    ("transformer_encoder", lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0), 2),
     _floats(5, 2, 8), True),
    ("positional_encoding", lambda: nn.PositionalEncoding(8, max_len=10), _floats(5, 2, 8), True),
]


class _SelfAttention(nn.Module):
    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x, is_causal=True)[0]


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _run(factory, array, differentiable, device):
    cr.manual_seed(0)
    layer = factory().to(device)
    x = cr.tensor(array, device=device, requires_grad=differentiable)
    out = _first(layer(x))
    assert out.device == device
    weights = _rng_weights(out.shape)
    (out * cr.tensor(weights, device=device)).sum().backward()
    grads = {name: p.grad for name, p in layer.named_parameters() if p.grad is not None}
    for name, g in grads.items():
        assert backend.device_of(g) == device, f"the gradient of {name} left {device}"
    state = {name: backend.to_host(a) for name, a in layer.state_dict().items()}
    host = {name: backend.to_host(g) for name, g in grads.items()}
    x_grad = None if x.grad is None else backend.to_host(x.grad)
    return out.numpy(), x_grad, host, state


def _rng_weights(shape):
    return np.random.default_rng(1).uniform(0.5, 1.5, shape).astype(np.float32)


@pytest.mark.parametrize("name, factory, array, differentiable", LAYERS,
                         ids=[row[0] for row in LAYERS])
def test_layer_on_device_matches_cpu(name, factory, array, differentiable, device):
    expected = _run(factory, array, differentiable, "cpu")
    got = _run(factory, array, differentiable, device)
    np.testing.assert_allclose(got[0], expected[0], rtol=2e-5, atol=2e-6, err_msg="output")
    if differentiable:
        np.testing.assert_allclose(got[1], expected[1], rtol=2e-4, atol=2e-5,
                                   err_msg="input gradient")
    assert got[2].keys() == expected[2].keys()
    for key in expected[2]:
        np.testing.assert_allclose(got[2][key], expected[2][key], rtol=2e-4, atol=2e-5,
                                   err_msg=key)
    for key in expected[3]:  # running statistics included
        np.testing.assert_allclose(got[3][key], expected[3][key], rtol=2e-5, atol=2e-6,
                                   err_msg=key)
