"""cr.save / load_model / save_state / load_state and the validation of untrusted files."""

import json
import os
import pickle
import stat
import struct

import numpy as np
import pytest
import safetensors.numpy
from optional_packages import importorskip

import chainrule as cr
from chainrule.io import LoadError, read_safetensors, write_safetensors
from chainrule.nn.module import REGISTRY


class Affine(cr.nn.Module):
    """A custom layer: y = x Wᵀ + b, with an integer buffer."""

    constructed = 0

    def __init__(self, n_in: int = 3, n_out: int = 2, dtype: str = "float32"):
        super().__init__()
        Affine.constructed += 1
        gen = cr.random.default_generator()
        self.weight = cr.nn.Parameter(gen.standard_normal((n_out, n_in)).astype(dtype))
        self.bias = cr.nn.Parameter(gen.standard_normal(n_out).astype(dtype))
        self.register_buffer("steps", np.array(7, dtype=np.int64))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Stack(cr.nn.Module):
    """A custom container taking its layers as *args."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, f"l{i}", layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x


CUSTOM = {"Affine": Affine, "Stack": Stack}


@pytest.fixture
def registered(monkeypatch):
    """Make the test classes describable by cr.save for the duration of a test."""
    for name, cls in CUSTOM.items():
        monkeypatch.setitem(REGISTRY, name, cls)


def _assert_same_state(a: dict, b: dict):
    assert list(a) == list(b)
    for name, value in a.items():
        assert value.dtype == b[name].dtype, name
        np.testing.assert_array_equal(value, b[name])


# ------------------------------------------------------------------------------ save_state
def test_state_round_trip_keeps_values_dtypes_and_layout(tmp_path):
    path = tmp_path / "state.safetensors"
    state = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "f64": np.array([np.pi, -0.0, np.inf, np.nan]),
        "f16": np.array([1.5, -2.25], dtype=np.float16),
        "i64": np.array([2**62, -5], dtype=np.int64),
        "u8": np.arange(4, dtype=np.uint8),
        "c64": np.array([1 + 2j, -0.5j], dtype=np.complex64),
        "mask": np.array([True, False, True]),
        "scalar": np.array(3.25, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "strided": np.arange(12.0).reshape(3, 4).T,  # a view that is not C-contiguous
        "big_endian": np.array([1.0, 2.0], dtype=">f8"),
        "tensor": cr.tensor([[1.0, 2.0]]),
    }
    cr.save_state(state, path)
    loaded = cr.load_state(path)
    assert set(loaded) == set(state)
    for name, value in state.items():
        expected = np.asarray(value.data if isinstance(value, cr.Tensor) else value)
        assert loaded[name].dtype == expected.dtype.newbyteorder("="), name
        assert loaded[name].shape == expected.shape, name
        np.testing.assert_array_equal(loaded[name], expected)
    assert loaded["strided"][0, 1] == 4.0  # written by value, not as the raw strided buffer


def test_file_is_plain_safetensors_readable_by_the_reference_reader(tmp_path):
    path = tmp_path / "state.safetensors"
    cr.save_state({"w": np.ones((2, 2), np.float32)}, path)
    np.testing.assert_array_equal(safetensors.numpy.load_file(path)["w"], np.ones((2, 2)))
    _, info = read_safetensors(path)
    assert info == {"format_version": 1, "kind": "state", "dtypes": {"w": "float32"}}


def test_load_state_reads_files_from_other_writers(tmp_path):
    path = tmp_path / "foreign.safetensors"
    safetensors.numpy.save_file({"a": np.arange(3, dtype=np.int32)}, path)
    np.testing.assert_array_equal(cr.load_state(path)["a"], [0, 1, 2])


def test_load_state_reads_files_written_by_torch(tmp_path):
    torch = importorskip("torch")
    safetensors_torch = importorskip("safetensors.torch")
    layer = torch.nn.Linear(3, 2)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(layer.state_dict(), path)
    model = cr.nn.Linear(3, 2)
    cr.load_state(path, into=model)
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


def test_save_state_of_a_module_and_load_into_another(tmp_path):
    path = tmp_path / "affine.safetensors"
    source, target = Affine(), Affine()
    source.steps = np.array(11, dtype=np.int64)
    cr.save_state(source, path)
    returned = cr.load_state(path, into=target)
    _assert_same_state(target.state_dict(), source.state_dict())
    _assert_same_state(returned, source.state_dict())
    assert target.weight.data is not returned["weight"]  # copied into the existing parameter


def test_load_state_into_reports_missing_and_unexpected_names(tmp_path):
    path = tmp_path / "partial.safetensors"
    cr.save_state({"weight": np.zeros((2, 3), np.float32), "other": np.zeros(1)}, path)
    model = Affine()
    with pytest.raises(LoadError, match=r"partial\.safetensors.*Affine.*bias.*other"):
        cr.load_state(path, into=model)
    before = model.bias.data.copy()
    cr.load_state(path, into=model, strict=False)
    np.testing.assert_array_equal(model.weight.data, 0)
    np.testing.assert_array_equal(model.bias.data, before)


def test_load_state_into_reports_shapes(tmp_path):
    path = tmp_path / "wrong.safetensors"
    cr.save_state(Affine(n_in=4), path)
    with pytest.raises(LoadError, match=r"wrong\.safetensors.*weight.*\(2, 4\).*\(2, 3\)"):
        cr.load_state(path, into=Affine(n_in=3))


def test_saving_an_unsupported_dtype_names_the_tensor(tmp_path):
    with pytest.raises(TypeError, match="'names'.*dtype"):
        cr.save_state({"names": np.array(["a", "b"])}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="'objects'.*object"):
        cr.save_state({"objects": np.array([None, 1])}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------ atomic writes
def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.safetensors"
    cr.save_state({"w": np.ones(3)}, path)

    def broken(tensors, filename, metadata=None):
        with open(filename, "wb") as file:
            file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        cr.save_state({"w": np.zeros(3)}, path)
    assert os.listdir(tmp_path) == ["state.safetensors"]
    np.testing.assert_array_equal(cr.load_state(path)["w"], np.ones(3))


def test_written_file_has_the_usual_permissions(tmp_path):
    path = tmp_path / "state.safetensors"
    cr.save_state({"w": np.ones(3)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


# ------------------------------------------------------------------------------ save / load_model
def test_model_round_trip_rebuilds_architecture_and_weights(tmp_path, registered):
    path = tmp_path / "model.safetensors"
    model = Stack(Affine(3, 5), Affine(5, 2))
    cr.save(model, path)
    Affine.constructed = 0
    loaded = cr.load_model(path)
    assert Affine.constructed == 2
    assert isinstance(loaded, Stack) and [type(m) for m in loaded.children()] == [Affine, Affine]
    assert loaded.l0.weight.shape == (5, 3) and loaded.l1.weight.shape == (2, 5)
    _assert_same_state(loaded.state_dict(), model.state_dict())
    x = cr.tensor(np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_load_model_leaves_the_global_random_stream_alone(tmp_path, registered):
    path = tmp_path / "model.safetensors"
    cr.save(Stack(Affine(3, 5), Affine(5, 2)), path)
    state = cr.get_rng_state()
    cr.load_model(path)
    assert cr.get_rng_state() == state


def test_model_saved_in_float64_loads_in_float64(tmp_path, registered):
    path = tmp_path / "model64.safetensors"
    model = Affine().astype(np.float64)
    cr.save(model, path)
    loaded = cr.load_model(path)
    assert loaded.weight.dtype == np.float64
    np.testing.assert_array_equal(loaded.weight.data, model.weight.data)


def test_linear_sequential_round_trip(tmp_path):
    path = tmp_path / "mlp.safetensors"
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Dropout(0.25),
                             cr.nn.Linear(8, 3, bias=False))
    cr.save(model, path)
    loaded = cr.load_model(path)
    assert repr(loaded) == repr(model)
    _assert_same_state(loaded.state_dict(), model.state_dict())
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    model.eval(), loaded.eval()
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_save_refuses_a_custom_class_and_points_to_save_state(tmp_path):
    with pytest.raises(TypeError, match="cr.save: Affine is not a chainrule layer.*save_state"):
        cr.save(Affine(), tmp_path / "model.safetensors")
    assert os.listdir(tmp_path) == []


def test_load_model_with_custom_objects(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    with monkeypatch.context() as patch:  # registered only while saving
        for name, cls in CUSTOM.items():
            patch.setitem(REGISTRY, name, cls)
        model = Stack(Affine())
        cr.save(model, path)
    with pytest.raises(LoadError, match=r"\['Affine', 'Stack'\].*custom_objects.*save_state"):
        cr.load_model(path)
    loaded = cr.load_model(path, custom_objects=CUSTOM)
    _assert_same_state(loaded.state_dict(), model.state_dict())


def test_load_model_on_a_state_file_points_to_load_state(tmp_path):
    path = tmp_path / "state.safetensors"
    cr.save_state(Affine(), path)
    with pytest.raises(LoadError, match="no architecture.*load_state"):
        cr.load_model(path)


# ------------------------------------------------------------------------------ hostile files
def _raw_file(path, header, data=b"", length=None):
    """Write a safetensors-like file by hand: a header (dict or raw bytes), then data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def _model_file(path, architecture, tensors):
    """A model file whose architecture is chosen by the test."""
    write_safetensors(path, tensors, kind="model", architecture=architecture)
    return path


def _valid_bytes(tmp_path):
    path = tmp_path / "valid.safetensors"
    cr.save_state({"a": np.arange(4, dtype=np.float32), "b": np.ones((2, 2))}, path)
    return path.read_bytes()


F32x4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
BAD_HEADERS = {
    "empty header": (b"", None, b"", "not valid JSON"),
    "length beyond file": ({"a": F32x4}, 10**6, b"\0" * 16, "header claims 1,000,000 bytes"),
    "length beyond cap": ({"a": F32x4}, 2**63, b"", "header claims"),
    "bad json": (b"{not json", None, b"", "not valid JSON"),
    "not utf-8": (b"\xff\xfe{}", None, b"", "not valid JSON"),
    "not an object": (b"[1, 2]", None, b"", "JSON list, not an object"),
    "duplicate keys": (b'{"a": {}, "a": {}}', None, b"", "duplicate keys"),
    "wrong dtype string": ({"a": {**F32x4, "dtype": "F128"}}, None, b"\0" * 16, "'F128'"),
    "bfloat16 size": ({"a": {**F32x4, "dtype": "BF16"}}, None, b"\0" * 16,
                      r"shape \(4,\) of BF16 needs 8 bytes but its offsets span 16"),
    "huge shape": ({"a": {**F32x4, "shape": [2**40, 2**40]}}, None, b"\0" * 16,
                   "needs 4,835,703,278,458,516,698,824,704 bytes but its offsets span 16"),
    "negative shape": ({"a": {**F32x4, "shape": [-4]}}, None, b"\0" * 16, "non-negative"),
    "float shape": ({"a": {**F32x4, "shape": [4.0]}}, None, b"\0" * 16, "non-negative integers"),
    "too many dims": ({"a": {**F32x4, "shape": [1] * 65}}, None, b"\0" * 16, "at most 64"),
    "offsets out of range": ({"a": {**F32x4, "data_offsets": [16, 32]}}, None, b"\0" * 16,
                             "outside the 16 bytes"),
    "offsets reversed": ({"a": {**F32x4, "data_offsets": [16, 0]}}, None, b"\0" * 16,
                         "begin <= end"),
    "overlapping": ({"a": F32x4, "b": {**F32x4, "data_offsets": [8, 24]}}, None, b"\0" * 24,
                    "'b' at bytes 8..24 overlaps"),
    "gap": ({"a": {**F32x4, "data_offsets": [8, 24]}}, None, b"\0" * 24, "leaves a gap"),
    "trailing bytes": ({"a": F32x4}, None, b"\0" * 20, "4 bytes follow the last tensor"),
    "missing field": ({"a": {"dtype": "F32", "shape": [4]}}, None, b"\0" * 16, "data_offsets"),
    "metadata not strings": ({"__metadata__": {"k": 1}, "a": F32x4}, None, b"\0" * 16,
                             "map strings to strings"),
    "bad chainrule metadata": ({"__metadata__": {"chainrule": "{oops"}, "a": F32x4}, None,
                               b"\0" * 16, "chainrule's metadata is not valid JSON"),
    "future format": ({"__metadata__": {"chainrule": json.dumps(
        {"format_version": 99, "kind": "state", "dtypes": {"a": "float32"}})}, "a": F32x4},
        None, b"\0" * 16, "format version 99"),
    "dtypes altered": ({"__metadata__": {"chainrule": json.dumps(
        {"format_version": 1, "kind": "state", "dtypes": {"a": "float64"}})}, "a": F32x4},
        None, b"\0" * 16, "dtypes recorded"),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_headers_raise_load_error_naming_the_file(tmp_path, case):
    header, length, data, message = BAD_HEADERS[case]
    path = _raw_file(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(LoadError, match=message) as info:
        cr.load_state(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("keep", [0, 5, 8, 40, -1])
def test_truncated_files_raise_load_error(tmp_path, keep):
    raw = _valid_bytes(tmp_path)
    path = tmp_path / "cut.safetensors"
    path.write_bytes(raw[:keep])
    with pytest.raises(LoadError, match="cut.safetensors.*truncated"):
        cr.load_state(path)


def test_flipped_byte_in_the_header_raises_load_error(tmp_path):
    raw = bytearray(_valid_bytes(tmp_path))
    raw[raw.index(b'"shape"') + 1] ^= 0x01  # a key name the reader requires
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(raw))
    with pytest.raises(LoadError, match="expected an object with dtype, shape and data_offsets"):
        cr.load_state(path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_renamed_safetensors_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weight": _Exploit(str(marker))}))
    for load in (cr.load_model, cr.load_state):
        with pytest.raises(LoadError, match="model.safetensors: the header claims .* bytes"):
            load(path)
    assert not marker.exists()


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(cr.LoadError, match="is a folder; expected a .safetensors file"):
        cr.load_state(tmp_path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        cr.load_model(tmp_path / "absent.safetensors")


# ------------------------------------------------------------------------------ hostile specs
def _affine_spec(n_in=3, n_out=2):
    return {"class": "Affine", "config": {"n_in": n_in, "n_out": n_out, "dtype": "float32"}}


def test_unknown_layer_class(tmp_path):
    path = _model_file(tmp_path / "m.safetensors", {"class": "os.system", "config": {}}, {})
    with pytest.raises(LoadError, match=r"\['os.system'\].*custom_objects"):
        cr.load_model(path)


def test_missing_or_malformed_architecture(tmp_path):
    path = _model_file(tmp_path / "m.safetensors", ["Affine"], {})
    with pytest.raises(LoadError, match="layer description"):
        cr.load_model(path)
    path = _model_file(tmp_path / "n.safetensors",
                       {"class": "Stack", "config": {"layers": [{"__module__": 5}]}}, {})
    with pytest.raises(LoadError, match="layer description"):
        cr.load_model(path, custom_objects=CUSTOM)


def test_bad_constructor_arguments(tmp_path):
    spec = {"class": "Affine", "config": {"n_in": "three"}}
    path = _model_file(tmp_path / "m.safetensors", spec, {})
    with pytest.raises(LoadError, match="cannot rebuild the model.*TypeError"):
        cr.load_model(path, custom_objects=CUSTOM)


def test_huge_claimed_layer_is_refused_before_it_is_built(tmp_path):
    path = _model_file(tmp_path / "m.safetensors", _affine_spec(10**6, 10**6),
                       {"weight": np.zeros((2, 3), np.float32)})
    Affine.constructed = 0
    with pytest.raises(LoadError, match="far beyond the 6 values stored"):
        cr.load_model(path, custom_objects=CUSTOM)
    assert Affine.constructed == 0


def test_weights_with_wrong_shapes_for_the_architecture(tmp_path):
    tensors = {"weight": np.zeros((2, 3), np.float32), "bias": np.zeros(2, np.float32),
               "steps": np.array(0)}
    path = _model_file(tmp_path / "m.safetensors", _affine_spec(n_in=4), tensors)
    with pytest.raises(LoadError, match=r"weight.*\(2, 3\) in the state but \(2, 4\)"):
        cr.load_model(path, custom_objects=CUSTOM)


def test_weights_missing_for_the_architecture(tmp_path):
    path = _model_file(tmp_path / "m.safetensors", _affine_spec(),
                       {"weight": np.zeros((2, 3), np.float32)})
    with pytest.raises(LoadError, match="does not fit Affine.*missing keys.*bias"):
        cr.load_model(path, custom_objects=CUSTOM)


def test_kinds_are_not_confused(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save_checkpoint(path, model=Affine())
    with pytest.raises(LoadError, match="is a checkpoint: read it with load_checkpoint"):
        cr.load_model(path)
    with pytest.raises(LoadError, match="is a checkpoint"):
        cr.load_state(path)
    with pytest.raises(LoadError, match="holds a chainrule checkpoint, not a model"):
        read_safetensors(path, kind="model")
