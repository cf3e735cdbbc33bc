"""Single layers exported to ONNX compute what chainrule computes (onnxruntime, float32,
atol 1e-5), at batch sizes (and sequence lengths) other than the example's."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_roundtrip import ATOL, largest_difference, randomize_statistics

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(0)


class SelfAttention(nn.Module):
    """``MultiheadAttention(x, x, x)``: the layer takes three inputs, an export one."""

    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x)


@cr.onnx.converter(SelfAttention)
def _self_attention(g, layer, x):
    out, weights = g.convert(layer.attention, x, x, x)
    return out.name, weights.name


_TIME_MAJOR = [(5, 3, 4), (7, 1, 4)]   # other batch sizes and lengths of a (T=5, B=2, 4) example
_BATCH_FIRST = [(3, 5, 4), (1, 7, 4)]  # … of a (B=2, T=5, 4) example

# name -> (layer, example shape, shapes with other batch sizes); inputs are N(0, 1) floats.
CASES = {
    "Linear": (nn.Linear(6, 3), (2, 6), [(5, 6)]),
    "Linear 3-d without bias": (nn.Linear(6, 3, bias=False), (2, 4, 6), [(3, 4, 6)]),
    "Sigmoid": (nn.Sigmoid(), (2, 7), [(3, 7)]),
    "Tanh": (nn.Tanh(), (2, 7), [(3, 7)]),
    "ReLU": (nn.ReLU(), (2, 7), [(3, 7)]),
    "LeakyReLU": (nn.LeakyReLU(0.2), (2, 7), [(3, 7)]),
    "ELU": (nn.ELU(0.7), (2, 7), [(3, 7)]),
    "GELU": (nn.GELU(), (2, 3, 7), [(3, 3, 7)]),
    "GELU tanh": (nn.GELU("tanh"), (2, 7), [(3, 7)]),
    "Softplus": (nn.Softplus(), (2, 7), [(3, 7)]),
    "Softplus beta": (nn.Softplus(beta=2.5), (2, 7), [(3, 7)]),
    "Softmax": (nn.Softmax(), (2, 7), [(3, 7)]),
    "Softmax axis 1": (nn.Softmax(axis=1), (2, 3, 7), [(3, 3, 7)]),
    "LogSoftmax": (nn.LogSoftmax(), (2, 7), [(3, 7)]),
    "Identity": (nn.Identity(), (2, 7), [(3, 7)]),
    "Sequential": (nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2)), (2, 7), [(3, 7)]),
    "Dropout": (nn.Dropout(0.5), (2, 7), [(3, 7)]),
    "Dropout2d": (nn.Dropout2d(0.5), (2, 3, 4, 4), [(3, 3, 4, 4)]),
    "Flatten": (nn.Flatten(), (2, 3, 4, 5), [(3, 3, 4, 5)]),
    "Flatten inner axes": (nn.Flatten(1, 2), (2, 3, 4, 5), [(3, 3, 4, 5)]),
    "Hardtanh": (nn.Hardtanh(-0.5, 1.5), (2, 7), [(3, 7)]),
    "ReLU6": (nn.ReLU6(), (2, 7), [(3, 7)]),
    "Hardswish": (nn.Hardswish(), (2, 7), [(3, 7)]),
    "SiLU": (nn.SiLU(), (2, 7), [(3, 7)]),
    "Mish": (nn.Mish(), (2, 7), [(3, 7)]),
    "Softsign": (nn.Softsign(), (2, 7), [(3, 7)]),
    "CELU": (nn.CELU(0.5), (2, 7), [(3, 7)]),
    "SELU": (nn.SELU(), (2, 7), [(3, 7)]),
    "Conv1d": (nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9), [(3, 3, 9)]),
    "Conv1d same groups": (nn.Conv1d(4, 6, 4, padding="same", dilation=2, groups=2),
                           (2, 4, 9), [(1, 4, 9)]),
    "Conv3d": (nn.Conv3d(2, 3, (3, 2, 3), stride=(1, 2, 1), padding=1), (2, 2, 4, 5, 6),
               [(3, 2, 4, 5, 6)]),
    "ConvTranspose2d": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                           groups=2), (2, 4, 5, 4), [(3, 4, 5, 4)]),
    "ConvTranspose2d dilation no bias": (nn.ConvTranspose2d(3, 2, (2, 3), dilation=2,
                                                            bias=False), (2, 3, 4, 4),
                                         [(1, 3, 4, 4)]),
    "GroupNorm": (nn.GroupNorm(2, 6), (2, 6, 4, 5), [(3, 6, 4, 5)]),
    "GroupNorm sequences no affine": (nn.GroupNorm(3, 3, affine=False), (2, 3, 7), [(3, 3, 7)]),
    "InstanceNorm2d": (nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4), [(3, 3, 4, 4)]),
    "Conv2d": (nn.Conv2d(3, 4, 3), (2, 3, 9, 9), [(3, 3, 9, 9)]),
    "Conv2d stride padding dilation": (nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 2),
                                                 dilation=(2, 1)), (2, 3, 9, 9), [(3, 3, 9, 9)]),
    "Conv2d groups": (nn.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 7, 7), [(1, 4, 7, 7)]),
    "Conv2d depthwise same": (nn.Conv2d(4, 4, 4, padding="same", groups=4), (2, 4, 7, 7),
                              [(3, 4, 7, 7)]),
    "MaxPool2d": (nn.MaxPool2d(2), (2, 3, 8, 8), [(3, 3, 8, 8)]),
    "MaxPool2d stride padding dilation": (nn.MaxPool2d(3, stride=2, padding=1, dilation=2),
                                          (2, 3, 9, 9), [(3, 3, 9, 9)]),
    "AvgPool2d": (nn.AvgPool2d(2), (2, 3, 8, 8), [(3, 3, 8, 8)]),
    "AvgPool2d padding counted": (nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 9, 9),
                                  [(3, 3, 9, 9)]),
    "AvgPool2d padding not counted": (nn.AvgPool2d(3, stride=2, padding=1,
                                                   count_include_pad=False),
                                      (2, 3, 9, 9), [(3, 3, 9, 9)]),
    "AdaptiveAvgPool2d global": (nn.AdaptiveAvgPool2d(1), (2, 3, 7, 5), [(3, 3, 7, 5)]),
    "AdaptiveAvgPool2d uneven": (nn.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5),
                                 [(3, 3, 7, 5)]),
    "BatchNorm1d": (nn.BatchNorm1d(5), (2, 5), [(3, 5)]),
    "BatchNorm1d sequences": (nn.BatchNorm1d(5, affine=False), (2, 5, 4), [(3, 5, 4)]),
    "BatchNorm2d": (nn.BatchNorm2d(3), (2, 3, 4, 4), [(3, 3, 4, 4)]),
    "LayerNorm": (nn.LayerNorm(6), (2, 4, 6), [(3, 4, 6)]),
    "LayerNorm 2 axes without bias": (nn.LayerNorm((4, 6), bias=False), (2, 4, 6),
                                      [(3, 4, 6)]),
    "RNN": (nn.RNN(4, 3), (5, 2, 4), _TIME_MAJOR),
    "RNN relu bidirectional 2 layers batch_first": (
        nn.RNN(4, 3, num_layers=2, nonlinearity="relu", bidirectional=True, batch_first=True),
        (2, 5, 4), _BATCH_FIRST),
    "LSTM": (nn.LSTM(4, 3), (5, 2, 4), _TIME_MAJOR),
    "LSTM bidirectional 2 layers batch_first": (
        nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True), (2, 5, 4),
        _BATCH_FIRST),
    "LSTM without bias": (nn.LSTM(4, 3, bias=False, batch_first=True), (2, 5, 4),
                          _BATCH_FIRST),
    "LSTM unbatched": (nn.LSTM(4, 3, num_layers=2), (5, 4), [(7, 4)]),
    "GRU": (nn.GRU(4, 3), (5, 2, 4), _TIME_MAJOR),
    "GRU bidirectional 2 layers batch_first": (
        nn.GRU(4, 3, num_layers=2, bidirectional=True, batch_first=True), (2, 5, 4),
        _BATCH_FIRST),
    "MultiheadAttention": (SelfAttention(nn.MultiheadAttention(4, 2)), (5, 2, 4), _TIME_MAJOR),
    "MultiheadAttention batch_first without bias": (
        SelfAttention(nn.MultiheadAttention(4, 4, bias=False, batch_first=True)), (2, 5, 4),
        _BATCH_FIRST),
    "MultiheadAttention unbatched": (SelfAttention(nn.MultiheadAttention(4, 2)), (5, 4),
                                     [(7, 4)]),
    "TransformerEncoderLayer": (nn.TransformerEncoderLayer(4, 2, dim_feedforward=8),
                                (5, 2, 4), _TIME_MAJOR),
    "TransformerEncoderLayer norm_first gelu batch_first": (
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, activation="gelu", norm_first=True,
                                   batch_first=True), (2, 5, 4), _BATCH_FIRST),
    "TransformerEncoder with norm": (
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, dim_feedforward=8,
                                                         batch_first=True),
                              2, norm=nn.LayerNorm(4)), (2, 5, 4), _BATCH_FIRST),
    "PositionalEncoding": (nn.PositionalEncoding(4, max_len=20), (5, 2, 4), _TIME_MAJOR),
    "PositionalEncoding batch_first": (nn.PositionalEncoding(4, max_len=20, batch_first=True),
                                       (2, 5, 4), _BATCH_FIRST),
}


@pytest.mark.parametrize("name", CASES)
def test_layer_matches_onnxruntime(name, tmp_path):
    layer, example, others = CASES[name]
    randomize_statistics(layer)
    inputs = [rng.normal(size=shape).astype(np.float32) for shape in others]
    example = rng.normal(size=example).astype(np.float32)
    assert largest_difference(layer, example, inputs, tmp_path / "layer.onnx") <= ATOL


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_matches_onnxruntime(padding_idx, tmp_path):
    layer = nn.Embedding(10, 4, padding_idx=padding_idx)
    inputs = [rng.integers(0, 10, size=(3, 6)), rng.integers(0, 10, size=(1, 2))]
    assert largest_difference(layer, rng.integers(0, 10, size=(2, 5)), inputs,
                              tmp_path / "embedding.onnx") == 0


def test_every_layer_class_of_chainrule_nn_has_a_case():
    """The layers ``cr.nn`` exports all have a converter and a case above (cells, which
    take one step with an explicit state, and losses are not layers of an exported model)."""
    not_exported = {nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.Module, nn.Parameter,
                    nn.ModuleList}
    layers = {getattr(nn, name) for name in nn.__all__}
    layers = {cls for cls in layers if isinstance(cls, type) and issubclass(cls, nn.Module)
              and not cls.__name__.endswith("Loss")} - not_exported
    covered = {type(entry[0]) for entry in CASES.values()} | {nn.Embedding} | {
        type(entry[0].attention) for entry in CASES.values() if isinstance(entry[0],
                                                                           SelfAttention)}
    assert layers - covered == set()
    assert layers <= set(cr.onnx.CONVERTERS)
