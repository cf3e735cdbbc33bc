"""Every built-in model exported to ONNX computes what chainrule computes (onnxruntime, float32,
atol 1e-5), at batch sizes (and text lengths) other than the example's."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_roundtrip import ATOL, largest_difference, randomize_statistics

import chainrule as cr

rng = np.random.default_rng(0)


def _images(n: int, *shape: int) -> np.ndarray:
    return rng.normal(size=(n, *shape)).astype(np.float32)


def _ids(n: int, steps: int, vocab: int = 50) -> np.ndarray:
    """Right-padded ids (padding 0) of random lengths: the first text full, the last empty."""
    ids = rng.integers(1, vocab, size=(n, steps))
    lengths = rng.integers(1, steps + 1, size=n)
    lengths[0], lengths[-1] = steps, 0
    for row, length in zip(ids, lengths):
        row[length:] = 0
    return ids


def _text(name: str, **options):
    return cr.models.build(name, (12,), 3, vocab_size=50, **options)


CASES = {
    "mlp": lambda: (cr.models.build("mlp", (1, 8, 8), 10, activation="tanh"),
                    _images(2, 1, 8, 8), [_images(5, 1, 8, 8)]),
    "cnn": lambda: (randomize_statistics(cr.models.build("cnn", (1, 12, 12), 10,
                                                         channels=(4, 8), hidden=16)),
                    _images(2, 1, 12, 12), [_images(5, 1, 12, 12), _images(1, 1, 12, 12)]),
    "speech-cnn features": lambda: (randomize_statistics(cr.models.build(
        "speech-cnn", (1, 32, 63), 10)), _images(2, 1, 32, 63), [_images(3, 1, 32, 63)]),
    # The front end computes its log-mel features inside the graph (STFT, mel MatMul, dB).
    "speech-cnn waveforms": lambda: (randomize_statistics(cr.models.build(
        "speech-cnn", (1, 32, 63), 10)), 0.1 * _images(2, 8000), [0.1 * _images(3, 8000)]),
    "speech-cnn other front end": lambda: (randomize_statistics(cr.models.build(
        "speech-cnn", (1, 16, 33), 10, channels=(4,), hidden=8,
        features=cr.audio.SpeechFeatures(duration=0.5, n_fft=128, hop_length=125, n_mels=16,
                                         fmax=3000.0, top_db=30.0, normalize=False))),
        0.1 * _images(2, 4000), [0.1 * _images(3, 4000)]),
    "bow": lambda: (_text("bow", embedding_dim=8, hidden_size=6), _ids(3, 7),
                    [_ids(5, 9), _ids(4, 7)]),
    "lstm max": lambda: (_text("lstm", embedding_dim=8, hidden_size=6, num_layers=2),
                         _ids(3, 7), [_ids(5, 9), _ids(4, 7)]),
    "lstm mean": lambda: (_text("lstm", embedding_dim=8, hidden_size=6, pooling="mean"),
                          _ids(3, 7), [_ids(5, 9)]),
    "lstm last": lambda: (_text("lstm", embedding_dim=8, hidden_size=6, num_layers=2,
                                pooling="last"), _ids(3, 7), [_ids(5, 9)]),
    "lstm last unidirectional": lambda: (_text("lstm", embedding_dim=8, hidden_size=6,
                                               bidirectional=False, pooling="last"),
                                         _ids(3, 7), [_ids(5, 9)]),
    "transformer mean": lambda: (_text("transformer", d_model=8, nhead=2, num_layers=2,
                                       dim_feedforward=16), _ids(3, 7), [_ids(5, 9), _ids(4, 12)]),
    "transformer max": lambda: (_text("transformer", d_model=8, nhead=2, dim_feedforward=16,
                                      pooling="max"), _ids(3, 7), [_ids(5, 9)]),
    "transformer last": lambda: (_text("transformer", d_model=8, nhead=2, dim_feedforward=16,
                                       pooling="last"), _ids(3, 7), [_ids(5, 9)]),
    "char-lm": lambda: (cr.models.build("char-lm", (7,), 30, embedding_dim=8, hidden_size=16,
                                        num_layers=2),
                        rng.integers(0, 30, size=(3, 7)), [rng.integers(0, 30, size=(5, 9))]),
}


@pytest.mark.parametrize("case", CASES)
def test_built_in_model_matches_onnxruntime(case, tmp_path):
    model, example, inputs = CASES[case]()
    assert largest_difference(model, example, inputs, tmp_path / "model.onnx") <= ATOL


def test_every_built_in_model_has_a_case():
    built = {name.split()[0] for name in CASES}
    assert built == set(cr.models._BUILDERS)


def test_declared_shapes_name_the_symbolic_axes(tmp_path):
    proto = cr.onnx.export(cr.models.build("char-lm", (7,), 30, embedding_dim=8, hidden_size=16),
                           rng.integers(0, 30, size=(3, 7)), tmp_path / "lm.onnx")

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert dims(proto.graph.input[0]) == ["batch", "sequence"]
    assert [dims(v) for v in proto.graph.output] == [
        ["batch", "sequence", 30], [1, "batch", 16], [1, "batch", 16]]


def test_fixed_batch_export_declares_the_example_batch(tmp_path):
    proto = cr.onnx.export(cr.models.build("mlp", (4,), 3), _images(2, 4), tmp_path / "m.onnx",
                           dynamic_batch=False)
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [2, 4]


@pytest.mark.parametrize("opset", [17, 20])
def test_transformer_at_other_opsets(opset, tmp_path):
    model = _text("transformer", d_model=8, nhead=2, dim_feedforward=16)
    model.encoder.layers[0].activation = cr.nn.GELU()  # opset 20 has its own Gelu operator
    assert largest_difference(model, _ids(3, 7), [_ids(5, 9)], tmp_path / "t.onnx",
                              opset=opset) <= ATOL


def test_training_mode_is_restored(tmp_path):
    model = cr.models.build("mlp", (4,), 3, dropout=0.5)
    cr.onnx.export(model, _images(2, 4), tmp_path / "m.onnx")
    assert model.training
