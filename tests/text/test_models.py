"""Text models: shapes and dtypes, padding never matters, gradients against central differences
(float64), the LSTM's final state at each text's true end, saving with a vocabulary, errors."""

import numpy as np
import pytest
from nn.cases import gradcheck_module

import chainrule as cr
from chainrule.models.text import (
    BagOfEmbeddings,
    CharLSTM,
    LSTMClassifier,
    TransformerClassifier,
    bow,
    char_lm,
    lstm,
    masked_pool,
    transformer,
)
from chainrule.text import Vocabulary

IDS = np.array([[4, 7, 2, 9, 0, 0], [5, 0, 0, 0, 0, 0], [3, 3, 8, 6, 2, 1]])


def _classifiers(dtype=np.float32, small=False):
    size = dict(embedding_dim=3, hidden_size=3) if small else {}
    common = dict(vocab_size=10, dtype=dtype, generator=0)
    tiny = dict(d_model=4, nhead=2, dim_feedforward=4) if small else {}
    return {
        "bow": bow((6,), 3, embedding_dim=3 if small else 64, **common),
        "bow-mlp": bow((6,), 3, **common, **(size or dict(hidden_size=16))),
        "lstm-max": lstm((6,), 3, pooling="max", **common, **size),
        "lstm-mean": lstm((6,), 3, pooling="mean", **common, **size),
        "lstm-last": lstm((6,), 3, pooling="last", **common, **size),
        "lstm-uni": lstm((6,), 3, bidirectional=False, num_layers=2, pooling="last", **common,
                         **size),
        "transformer": transformer((6,), 3, **common, **tiny),
        "transformer-max": transformer((6,), 3, pooling="max", **common,
                                       **(tiny if small else dict(d_model=8, nhead=2))),
    }


@pytest.mark.parametrize("name", list(_classifiers()))
def test_shapes_dtype_and_padding_never_matters(name):
    model = _classifiers()[name].eval()
    out = model(IDS)
    assert out.shape == (3, 3) and out.dtype == np.float32
    padded = np.pad(IDS, ((0, 0), (0, 5)))  # five more padding steps
    np.testing.assert_allclose(model(cr.tensor(padded)).data, out.data, rtol=1e-5, atol=1e-6)
    alone = model(IDS[1:2, :1]).data  # the one-token text without any padding
    np.testing.assert_allclose(alone, out.data[1:2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(_classifiers()))
def test_gradients_match_central_differences(name):
    model = _classifiers(small=True)[name].eval()
    ids = IDS[:, :4]
    assert gradcheck_module(model, lambda m: m(ids))


@pytest.mark.parametrize("how", ["mean", "max", "last"])
def test_masked_pool_values_and_gradcheck(how):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    mask = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
    expected = {"mean": lambda r, n: r[:n].mean(0), "max": lambda r, n: r[:n].max(0),
                "last": lambda r, n: r[n - 1]}[how]
    out = masked_pool(x, mask, how)
    for row, n, got in zip(x.data, mask.sum(1), out.data):
        np.testing.assert_allclose(got, expected(row, n))
    assert cr.gradcheck(lambda t: masked_pool(t, mask, how), x)
    assert masked_pool(x.astype(np.float32), mask, how).dtype == np.float32
    with pytest.raises(ValueError, match="how must be one of"):
        masked_pool(x, mask, "median")
    with pytest.raises(ValueError, match=r"expected x \(N, T, F\) and mask \(N, T\)"):
        masked_pool(x, mask[:, :2], how)


def test_lstm_last_pooling_reads_each_text_at_its_true_end():
    model = lstm((6,), 3, vocab_size=10, hidden_size=5, pooling="last", generator=0).eval()
    emb = model.embedding
    for row in IDS:
        n = max(int((row != 0).sum()), 1)
        _, (h_n, _) = model.lstm(emb(row[None, :n]))
        expected = model.output(cr.concatenate([h_n[0], h_n[1]], axis=1))
        np.testing.assert_allclose(model(row[None]).data, expected.data, rtol=1e-5, atol=1e-6)


def test_char_lstm_state_continues_the_text():
    model = char_lm((9,), 12, embedding_dim=4, hidden_size=6, num_layers=2, generator=0).eval()
    assert isinstance(model, CharLSTM) and model.vocab_size == 12
    ids = np.random.default_rng(0).integers(0, 12, (2, 9))
    whole, _ = model(ids)
    first, state = model(ids[:, :4])
    rest, _ = model(ids[:, 4:], state)
    assert whole.shape == (2, 9, 12) and state[0].shape == (2, 2, 6)
    np.testing.assert_allclose(np.concatenate([first.data, rest.data], axis=1), whole.data,
                               rtol=1e-5, atol=1e-6)
    small = char_lm((3,), 5, embedding_dim=2, hidden_size=3, dtype=np.float64, generator=0)
    assert gradcheck_module(small, lambda m: m(ids[:, :3] % 5)[0])


def test_builders_and_errors():
    assert isinstance(cr.models.build("bow", (6,), 4, vocab_size=10), BagOfEmbeddings)
    assert isinstance(cr.models.build("lstm", (6,), 4, vocab_size=10), LSTMClassifier)
    model = cr.models.build("transformer", (37,), 4, vocab_size=10)
    assert model.positions.max_len == 37
    assert cr.models.build("char-lm", (6,), 12, vocab_size=12).vocab_size == 12
    with pytest.raises(ValueError, match="model 'bow' reads token ids and needs vocab_size"):
        cr.models.build("bow", (6,), 4)
    with pytest.raises(ValueError, match="vocab_size \\(10\\) and num_classes \\(12\\)"):
        cr.models.build("char-lm", (6,), 12, vocab_size=10)
    with pytest.raises(ValueError, match="pooling must be one of"):
        lstm((6,), 2, vocab_size=10, pooling="first")
    parts = cr.nn.Embedding(10, 4), cr.nn.LSTM(4, 4), cr.nn.Linear(4, 2)
    with pytest.raises(ValueError, match="LSTMClassifier: the LSTM must be built with "
                                         "batch_first=True"):
        LSTMClassifier(*parts)
    with pytest.raises(ValueError, match="TransformerClassifier: the PositionalEncoding must"):
        TransformerClassifier(cr.nn.Embedding(10, 4), cr.nn.PositionalEncoding(4),
                              cr.nn.TransformerEncoderLayer(4, 2, batch_first=True), parts[2])
    model = bow((3,), 2, vocab_size=10)
    with pytest.raises(ValueError, match=r"BagOfEmbeddings: expected integer token ids of shape "
                                         r"\(batch, seq\), got float32 array of shape \(2, 3\)"):
        model(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        model(np.array([1, 2, 3]))
    with pytest.raises(IndexError, match="id 10 is out of range for 10 embeddings"):
        model(np.array([[10]]))


@pytest.mark.parametrize("name", ["bow", "lstm-max", "transformer"])
def test_save_and_load_with_the_vocabulary(tmp_path, name):
    model = _classifiers()[name].eval()
    vocab = Vocabulary.build(["a b c d e f g h"])
    path = tmp_path / "model.safetensors"
    cr.save(model, path, metadata={"vocabulary": vocab.to_dict(), "classes": ["x", "y", "z"]})
    loaded = cr.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.eval()(IDS).data, model(IDS).data)
    metadata = cr.load_metadata(path)
    assert Vocabulary.from_dict(metadata["vocabulary"]) == vocab
    assert metadata["classes"] == ["x", "y", "z"]


def test_metadata_is_optional_and_checked(tmp_path):
    model = bow((3,), 2, vocab_size=5, embedding_dim=2, hidden_size=0)
    assert isinstance(model, BagOfEmbeddings) and len(model.classifier) == 2
    cr.save(model, tmp_path / "plain.safetensors")
    assert cr.load_metadata(tmp_path / "plain.safetensors") == {}
    with pytest.raises(TypeError, match="metadata must be JSON-able"):
        cr.save(model, tmp_path / "bad.safetensors", metadata={"set": {1, 2}})
    assert not (tmp_path / "bad.safetensors").exists()
    with pytest.raises(FileNotFoundError):
        cr.load_metadata(tmp_path / "missing.safetensors")
