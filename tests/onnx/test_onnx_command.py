"""``chainrule export MODEL --onnx FILE``: the written file runs in onnxruntime and gives the
saved model's outputs; the input shape is read from the model or passed."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_roundtrip import ATOL, ort, outputs

import chainrule as cr
from chainrule.cli import main

rng = np.random.default_rng(0)


def _export(tmp_path, model, *options: str) -> tuple[int, object]:
    cr.save(model, tmp_path / "model.safetensors")
    code = main(["export", str(tmp_path / "model.safetensors"), "--onnx",
                 str(tmp_path / "model.onnx"), *options])
    session = ort.InferenceSession(str(tmp_path / "model.onnx")) if code == 0 else None
    return code, session


def test_mlp_input_shape_read_from_its_first_linear(tmp_path, capsys):
    model = cr.models.build("mlp", (64,), 10)
    code, session = _export(tmp_path, model)
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    x = rng.normal(size=(7, 64)).astype(np.float32)
    assert np.abs(session.run(None, {"input": x})[0] - outputs(model, x)[0]).max() <= ATOL


def test_cnn_with_input_shape_and_opset(tmp_path, capsys):
    model = cr.models.build("cnn", (1, 8, 8), 10, channels=(4,), hidden=8)
    code, session = _export(tmp_path, model, "--input-shape", "1,8,8", "--opset", "18")
    assert code == 0
    assert "opset 18" in capsys.readouterr().out
    x = rng.normal(size=(3, 1, 8, 8)).astype(np.float32)
    assert np.abs(session.run(None, {"input": x})[0] - outputs(model, x)[0]).max() <= ATOL


def test_text_model_takes_ids_of_any_length(tmp_path):
    model = cr.models.build("bow", (5,), 3, vocab_size=20, embedding_dim=4)
    code, session = _export(tmp_path, model)
    assert code == 0
    x = rng.integers(0, 20, size=(4, 11))
    assert np.abs(session.run(None, {"input": x})[0] - outputs(model, x)[0]).max() <= ATOL


def test_fixed_batch(tmp_path):
    code, session = _export(tmp_path, cr.models.build("mlp", (4,), 2), "--fixed-batch")
    assert code == 0
    assert session.get_inputs()[0].shape == [1, 4]


def test_model_without_a_known_input_shape_asks_for_one(tmp_path, capsys):
    code, _ = _export(tmp_path, cr.models.build("cnn", (1, 8, 8), 10, channels=(4,)))
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "cannot tell the input shape of a model starting with Conv2d" in error
    assert "--input-shape" in error


def test_bad_input_shape_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _export(tmp_path, cr.models.build("mlp", (4,), 2), "--input-shape", "1,x")
    assert "--input-shape takes sizes like 1,28,28, got '1,x'" in capsys.readouterr().err
