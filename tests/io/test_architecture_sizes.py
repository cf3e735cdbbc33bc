"""load_model sizes the whole architecture from its configs before any constructor runs
(issue 18.1): every chainrule layer declares its size, the declaration matches what the
constructor allocates, and a file claiming more than it stores is refused quickly and cheaply."""

import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from nn.cases import CASES

import chainrule as cr
from chainrule.audio import SpeechFeatures
from chainrule.io import LoadError, module_spec, write_safetensors
from chainrule.models.text import BagOfEmbeddings, CharLSTM, LSTMClassifier, TransformerClassifier
from chainrule.nn.module import REGISTRY

nn = cr.nn


def _examples():
    """An instance of every registered layer class: the layer-case table's, and the model
    classes built on them."""
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=6, batch_first=True)
    lstm = nn.LSTM(4, 3, batch_first=True)
    return [case.make() for case in CASES] + [
        BagOfEmbeddings(nn.Embedding(9, 4), nn.Linear(4, 2)),
        LSTMClassifier(nn.Embedding(11, 4, padding_idx=0), lstm, nn.Linear(3, 2)),
        TransformerClassifier(nn.Embedding(9, 8), nn.PositionalEncoding(8, batch_first=True),
                              nn.TransformerEncoder(layer, 2), nn.Linear(8, 3)),
        CharLSTM(nn.Embedding(9, 4), nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 9)),
        SpeechFeatures(),
    ]


def _declared(spec) -> int | None:
    cls, config = REGISTRY[spec["class"]], spec["config"]
    submodules = {}
    for name, value in config.items():
        values = value if isinstance(value, list) else [value]
        submodules[name] = sum(_declared(v["__module__"]) for v in values
                               if isinstance(v, dict) and "__module__" in v)
    defaults = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()
                if v.default is not v.empty}
    return cls.state_size({**defaults, **config}, submodules)


@pytest.mark.parametrize("layer", _examples(), ids=lambda m: repr(m).split("\n")[0][:40])
def test_declared_size_is_what_the_constructor_allocates(layer):
    spec = json.loads(json.dumps(module_spec(layer)))
    assert _declared(spec) == sum(a.size for a in layer.state_dict().values())


def test_every_registered_layer_declares_its_size_and_has_an_example():
    examples = {type(m).__name__ for e in _examples() for m in e.modules()}
    chainrule_layers = {name for name, cls in REGISTRY.items()
                        if cls.__module__.startswith("chainrule.")}
    assert chainrule_layers - examples <= {"SyncBatchNorm"}  # needs MPI; shares BatchNorm's rule
    for name in chainrule_layers:
        cls = REGISTRY[name]
        assert cls.stateless or "state_size" in {k for c in cls.__mro__[:-1]
                                                 for k in c.__dict__ if c is not nn.Module}, name


def test_a_positional_encoding_with_a_long_table_saves_and_loads(tmp_path):
    path = tmp_path / "pe.safetensors"
    cr.save(nn.Sequential(nn.PositionalEncoding(512, max_len=100_000), nn.Linear(512, 2)), path)
    assert cr.load_model(path)[0].max_len == 100_000


def test_a_file_storing_fewer_values_than_its_architecture_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    state = model.state_dict()
    state.pop("1.num_batches_tracked")
    write_safetensors(path, state, kind="model", architecture=module_spec(model))
    with pytest.raises(LoadError, match="describes layers of 17 values but the file stores 16"):
        cr.load_model(path)


@pytest.mark.parametrize("config, message", [
    ({"in_features": -3, "out_features": -2}, "out_features must be an integer >= 0"),
    ({"in_features": True, "out_features": 2}, "in_features must be an integer"),
    ({"in_features": 3.0, "out_features": 2}, "in_features must be an integer"),
    ({"in_features": 3, "out_features": 2, "dtype": "U250000000"}, "dtype 'U250000000'"),
    ({"in_features": 3, "out_features": 2, "dtype": "int64"}, "dtype 'int64'"),
])
def test_bad_sizes_and_dtypes_are_refused_naming_the_layer(tmp_path, config, message):
    path = tmp_path / "m.safetensors"
    write_safetensors(path, {"weight": np.zeros((2, 3), np.float32)}, kind="model",
                      architecture={"class": "Linear", "config": config})
    with pytest.raises(LoadError, match=f"layer Linear: .*{message}"):
        cr.load_model(path)


def _linear(n_in, n_out):
    return {"__module__": {"class": "Linear", "config": {"in_features": n_in,
                                                          "out_features": n_out}}}


HOSTILE = {
    "LSTM(1, 20000)": {"class": "LSTM", "config": {"input_size": 1, "hidden_size": 20000}},
    "MultiheadAttention(30000, 1)": {"class": "MultiheadAttention",
                                     "config": {"embed_dim": 30000, "num_heads": 1}},
    "Conv2d(1, 1, 20000)": {"class": "Conv2d", "config": {
        "in_channels": 1, "out_channels": 1, "kernel_size": 20000}},
    "64 x Linear(4000, 4000)": {"class": "Sequential",
                                "config": {"layers": [_linear(4000, 4000)] * 64}},
    "dtype V1000000000": {"class": "Linear", "config": {
        "in_features": 2, "out_features": 2, "dtype": "V1000000000"}},
}


def test_hostile_specs_are_refused_quickly_with_little_memory(tmp_path):
    """Each spec is loaded in a fresh child process: its peak RSS (ru_maxrss) must stay within
    a few MB of a child that only imports chainrule."""
    paths = {}
    for name, spec in HOSTILE.items():
        paths[name] = str(tmp_path / f"{len(paths)}.safetensors")
        write_safetensors(paths[name], {"w": np.zeros(6, np.float32)}, kind="model",
                          architecture=spec)
    script = textwrap.dedent("""
        import resource, sys, time
        import chainrule as cr
        path = sys.argv[1]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        if path != "-":
            try:
                cr.load_model(path)
                print("loaded")
            except cr.LoadError:
                pass
        print(time.perf_counter() - start,
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    for name, path in paths.items():
        output = subprocess.run([sys.executable, "-c", script, path], capture_output=True,
                                text=True, check=True, timeout=120).stdout.split()
        seconds, grown_kb = float(output[-2]), int(output[-1])
        assert output[0] != "loaded", name
        assert seconds < 5.0 and grown_kb < 16_000, (name, seconds, grown_kb)
