"""Values that cannot be right are refused where they are given, naming the layer and the
argument, whether the layer is built in code or rebuilt from a model file (issue 18.9)."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import LoadError, module_spec, write_safetensors

nn = cr.nn
F = cr.nn.functional

BAD = [
    (lambda: nn.BatchNorm1d(3, eps={}), "BatchNorm1d: eps must be a finite real number"),
    (lambda: nn.BatchNorm2d(3, eps=-1.0), "BatchNorm2d: eps must be > 0, got -1.0"),
    (lambda: nn.BatchNorm1d(3, momentum=2.0), r"momentum must be in \[0, 1\]"),
    (lambda: nn.BatchNorm1d(3, affine="yes"), "affine must be True or False"),
    (lambda: nn.BatchNorm1d(3.0), "num_features must be an integer"),
    (lambda: nn.LayerNorm(3, eps=float("nan")), "LayerNorm: eps must be a finite real"),
    (lambda: nn.LayerNorm(3, bias="false"), "LayerNorm: bias must be True or False"),
    (lambda: nn.Linear("3", 2), "Linear: in_features must be an integer, got '3'"),
    (lambda: nn.Linear(True, 2), "Linear: in_features must be an integer, got True"),
    (lambda: nn.Linear(3, -2), "Linear: out_features must be >= 0, got -2"),
    (lambda: nn.Linear(3, 2, bias="false"), "Linear: bias must be True or False"),
    (lambda: nn.Conv2d(1, 2, 3, groups=0), "groups must be >= 1"),
    (lambda: nn.Conv2d(1, 2.5, 3), "out_channels must be an integer"),
    (lambda: nn.Embedding(0, 3), "Embedding: num_embeddings must be >= 1, got 0"),
    (lambda: nn.LSTM(3, 4, dropout="x"), "LSTM: dropout must be a finite real number"),
    (lambda: nn.GRU(3, 4, bidirectional=1), "GRU: bidirectional must be True or False"),
    (lambda: nn.RNNCell(3, 0), "RNNCell: hidden_size must be >= 1"),
    (lambda: nn.MultiheadAttention(4, 2, dropout=1.5), r"dropout must be in \[0, 1\]"),
    (lambda: nn.MultiheadAttention(4, 2, kdim=0), "kdim must be >= 1"),
    (lambda: nn.LeakyReLU("a"), "LeakyReLU: negative_slope must be a finite real number"),
    (lambda: nn.ELU(float("inf")), "ELU: alpha must be a finite real number"),
    (lambda: nn.Softplus(beta=0), "Softplus: beta must be > 0"),
    (lambda: nn.Dropout(p=[0.5]), "Dropout: p must be a finite real number"),
    (lambda: nn.PositionalEncoding(0), "PositionalEncoding: d_model must be >= 1"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), 0),
     "TransformerEncoder: num_layers must be >= 1"),
    (lambda: nn.TransformerEncoderLayer(4, 2, norm_first="no"), "norm_first must be True"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2.0), r"label_smoothing must be in \[0, 1\]"),
    (lambda: nn.MSELoss(half=1), "MSELoss: half must be True or False"),
]


@pytest.mark.parametrize("build, message", BAD, ids=[m.split(":")[0][:30] + str(i)
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_constructor_arguments_are_refused_in_code(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


@pytest.mark.parametrize("change, message", [
    ({"eps": {}}, "eps must be a finite real number, got {}"),
    ({"eps": 0}, "eps must be > 0, got 0"),
    ({"momentum": "0.1"}, "momentum must be a finite real number"),
    ({"affine": "false"}, "affine must be True or False"),
])
def test_the_same_arguments_from_a_file_are_refused_when_loading(tmp_path, change, message):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    spec = json.loads(json.dumps(module_spec(model)))
    spec["config"]["layers"][1]["__module__"]["config"].update(change)
    path = tmp_path / "m.safetensors"
    write_safetensors(path, model.state_dict(), kind="model", architecture=spec)
    with pytest.raises(LoadError, match=f"BatchNorm1d: {message}"):
        cr.load_model(path)


def test_binary_cross_entropy_refuses_a_target_outside_zero_one():
    probs = cr.tensor(np.array([0.5, 0.25]))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\], got values in "
                                         r"\[0.0, 2.0\]"):
        F.binary_cross_entropy(probs, np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="BCELoss.*target must lie in"):
        nn.BCELoss()(probs, np.array([-1.0, 1.0]))
    assert np.isfinite(F.binary_cross_entropy(probs, np.array([0.0, 1.0])).item())
