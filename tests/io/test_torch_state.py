"""PyTorch weights in: bfloat16/float16 safetensors files and cr.load_torch_state, checked against
models built the same way in PyTorch (skipped without torch)."""

import tracemalloc

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.io import LoadError, read_safetensors

torch = importorskip("torch")
safetensors_torch = importorskip("safetensors.torch")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# ------------------------------------------------------------------------------ the models
def lenet(nn):
    """LeNet-5 with batch norm, spelled the same in either library (`nn` is torch.nn or cr.nn)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.BatchNorm1d(120), nn.Tanh(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def sequence_model(nn):
    """Embedding, a bidirectional two-layer LSTM, a GRU, an RNN, LayerNorm, attention and a
    Transformer encoder layer, spelled the same in either library."""

    class SequenceModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 16)
            self.lstm = nn.LSTM(16, 12, num_layers=2, bidirectional=True, batch_first=True)
            self.gru = nn.GRU(24, 20, batch_first=True)
            self.rnn = nn.RNN(20, 20, batch_first=True)
            self.norm = nn.LayerNorm(20)
            self.attention = nn.MultiheadAttention(20, 4, batch_first=True)
            self.encoder = nn.TransformerEncoderLayer(20, 4, dim_feedforward=32, dropout=0.0,
                                                      batch_first=True)
            self.head = nn.Linear(20, 5)

        def forward(self, tokens):
            x, _ = self.lstm(self.embed(tokens))
            x, _ = self.gru(x)
            x, _ = self.rnn(x)
            x = self.norm(x)
            x, _ = self.attention(x, x, x, need_weights=False)
            return self.head(self.encoder(x))

    return SequenceModel()


def images(rng):
    return rng.standard_normal((4, 1, 28, 28)).astype(np.float32)


def tokens(rng):
    return rng.integers(0, 50, size=(3, 7))


MODELS = {"lenet": (lenet, images), "sequence": (sequence_model, tokens)}


def torch_model_and_file(name: str, dtype: str, path):
    """A PyTorch model whose batch-norm statistics have moved, saved in `dtype` to `path`; and
    the same model in float32 with the weights rounded to `dtype`, the reference to match."""
    build, make_input = MODELS[name]
    torch.manual_seed(0)
    model = build(torch.nn)
    with torch.no_grad():
        model.train()(torch.from_numpy(make_input(np.random.default_rng(1))))
    model.eval()
    safetensors_torch.save_file(model.to(DTYPES[dtype]).state_dict(), path)
    return model.float()


def max_output_difference(name: str, dtype: str, path) -> float:
    """Load the PyTorch file into the chainrule twin; the largest |chainrule - PyTorch| output."""
    build, make_input = MODELS[name]
    reference = torch_model_and_file(name, dtype, path)
    model = build(cr.nn)
    assert cr.load_torch_state(model, path) == ([], [])
    x = make_input(np.random.default_rng(2))
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    actual = model.eval()(cr.tensor(x)).data
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    return float(np.abs(actual - expected).max())


# ------------------------------------------------------------------------------ equal outputs
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", list(MODELS))
def test_pytorch_weights_give_pytorch_outputs(tmp_path, name, dtype):
    assert max_output_difference(name, dtype, tmp_path / "weights.safetensors") < 2e-6


def test_every_weight_and_statistic_is_loaded_exactly(tmp_path):
    path = tmp_path / "lenet.safetensors"
    reference = torch_model_and_file("lenet", "bfloat16", path)
    model = lenet(cr.nn)
    cr.load_torch_state(model, path)
    expected = reference.state_dict()
    assert int(expected["1.num_batches_tracked"]) == 1
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, expected[key].numpy(), err_msg=key)


def test_weights_are_converted_to_the_models_dtype(tmp_path):
    path = tmp_path / "linear.safetensors"
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2).to(torch.bfloat16)
    safetensors_torch.save_file(layer.state_dict(), path)
    model = cr.nn.Linear(3, 2, dtype=np.float64)
    cr.load_torch_state(model, path)
    assert model.weight.dtype == np.float64 and model.weight.data.flags.f_contiguous
    np.testing.assert_array_equal(model.weight.data, layer.weight.double().detach().numpy())


# ------------------------------------------------------------------------------ bad fits
def _torch_file(path, module):
    safetensors_torch.save_file(module.state_dict(), path)
    return path


def test_every_shape_mismatch_is_named_with_both_shapes(tmp_path):
    path = _torch_file(tmp_path / "w.safetensors", torch.nn.Linear(3, 4))
    model = cr.nn.Linear(3, 5)
    before = model.weight.data.copy()
    with pytest.raises(LoadError) as info:
        cr.load_torch_state(model, path)
    message = str(info.value)
    assert "w.safetensors does not fit Linear" in message
    assert "'weight': expected shape (5, 3), got (4, 3)" in message
    assert "'bias': expected shape (5,), got (4,)" in message
    np.testing.assert_array_equal(model.weight.data, before)  # nothing was copied


def test_missing_and_unexpected_names_are_listed(tmp_path):
    path = _torch_file(tmp_path / "w.safetensors",
                       torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)))
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    with pytest.raises(LoadError) as info:
        cr.load_torch_state(model, path)
    assert "missing from the file: ['2.weight', '2.bias']" in str(info.value)
    assert "not in the model: ['1." in str(info.value)  # in the file's order
    missing, unexpected = cr.load_torch_state(model, path, strict=False)
    assert missing == ["2.weight", "2.bias"] and sorted(unexpected) == ["1.bias", "1.weight"]


def test_a_float_for_an_integer_buffer_is_refused(tmp_path):
    path = tmp_path / "bn.safetensors"
    state = torch.nn.BatchNorm1d(3).state_dict()
    state["num_batches_tracked"] = state["num_batches_tracked"].float()
    safetensors_torch.save_file(state, path)
    with pytest.raises(LoadError, match="'num_batches_tracked': expected dtype int64, got "
                                        "float32"):
        cr.load_torch_state(cr.nn.BatchNorm1d(3), path)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_wrapper_prefixes_are_removed(tmp_path, prefix):
    path = tmp_path / "w.safetensors"
    layer = torch.nn.Linear(3, 2)
    safetensors_torch.save_file({prefix + k: v for k, v in layer.state_dict().items()}, path)
    model = cr.nn.Linear(3, 2)
    assert cr.load_torch_state(model, path) == ([], [])
    np.testing.assert_array_equal(model.bias.data, layer.bias.detach().numpy())


@pytest.mark.parametrize("zipped", [True, False])
def test_a_pickled_pytorch_file_is_named_and_refused_unread(tmp_path, monkeypatch, zipped):
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path, _use_new_zipfile_serialization=zipped)
    monkeypatch.setattr("pickle.Unpickler", None)  # any attempt to unpickle would fail loudly
    with pytest.raises(LoadError, match=r"weights.pt is a pickled PyTorch file \(torch.save\)"):
        cr.load_torch_state(cr.nn.Linear(3, 2), path)


# ------------------------------------------------------------------------------ reading bf16
def test_bfloat16_and_float16_tensors_are_read_exactly(tmp_path):
    path = tmp_path / "values.safetensors"
    special = [0.0, -0.0, 1.0, -2.5, 1e-40, 3.0e38, float("inf"), float("-inf"), float("nan")]
    values = torch.tensor(special + list(np.random.default_rng(0).standard_normal(100)))
    safetensors_torch.save_file({"bf16": values.bfloat16(), "f16": values.half(),
                                 "scalar": torch.tensor(1.5, dtype=torch.bfloat16),
                                 "empty": torch.zeros(0, 3, dtype=torch.bfloat16)}, path)
    tensors, info = read_safetensors(path)
    assert info == {}
    assert {name: (a.dtype.name, a.shape) for name, a in tensors.items()} == {
        "bf16": ("float32", (109,)), "f16": ("float16", (109,)), "scalar": ("float32", ()),
        "empty": ("float32", (0, 3))}
    np.testing.assert_array_equal(tensors["bf16"], values.bfloat16().float().numpy())
    np.testing.assert_array_equal(tensors["f16"], values.half().numpy())
    assert np.signbit(tensors["bf16"][1]) and tensors["scalar"] == 1.5


def test_reading_bfloat16_takes_a_small_multiple_of_the_file(tmp_path):
    path = tmp_path / "big.safetensors"
    safetensors_torch.save_file({"w": torch.zeros(2**20, dtype=torch.bfloat16)}, path)
    tracemalloc.start()
    try:
        read_safetensors(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the 2-byte payloads, their 4-byte widening, and nothing the size of the file besides
    assert peak < 3.2 * 2**21


def test_a_file_cut_after_its_header_was_checked_raises_load_error(tmp_path, monkeypatch):
    from chainrule.io import format as file_format

    path = tmp_path / "cut.safetensors"
    safetensors_torch.save_file({"w": torch.ones(64, dtype=torch.bfloat16)}, path)
    header = file_format._validated_header(str(path))
    path.write_bytes(path.read_bytes()[:-10])  # as by a writer racing the reader
    monkeypatch.setattr(file_format, "_validated_header", lambda _: header)
    with pytest.raises(LoadError, match="'w' ends past the end of the file"):
        read_safetensors(path)
