"""get_config and module_spec/module_from_spec round trips for every layer of this package."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import module_from_spec, module_spec

LAYERS = [
    cr.nn.Linear(3, 2), cr.nn.Linear(3, 2, bias=False, dtype=np.float64, generator=4),
    cr.nn.Identity(), cr.nn.Flatten(), cr.nn.Flatten(0, 1), cr.nn.Dropout(0.25, generator=1),
    cr.nn.Sigmoid(), cr.nn.Tanh(), cr.nn.ReLU(), cr.nn.LeakyReLU(0.1), cr.nn.ELU(0.5),
    cr.nn.GELU("tanh"), cr.nn.Softplus(beta=3.0), cr.nn.Softmax(axis=0), cr.nn.LogSoftmax(),
    cr.nn.Hardtanh(-2.0, 0.5), cr.nn.ReLU6(), cr.nn.Hardswish(), cr.nn.SiLU(), cr.nn.Mish(),
    cr.nn.Softsign(), cr.nn.CELU(0.3), cr.nn.SELU(),
    cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.ReLU(), cr.nn.Sequential(cr.nn.Linear(3, 3))),
    cr.nn.ModuleList([cr.nn.Linear(3, 3), cr.nn.Tanh()]),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda m: repr(m).split("\n")[0])
def test_spec_round_trip(layer):
    spec = module_spec(layer)
    assert json.loads(json.dumps(spec)) == spec  # plain JSON data
    rebuilt = module_from_spec(json.loads(json.dumps(spec)))
    assert type(rebuilt) is type(layer) and repr(rebuilt) == repr(layer)
    assert module_spec(rebuilt) == spec
    rebuilt.load_state_dict(layer.state_dict())
    rebuilt_state = rebuilt.state_dict()
    assert list(rebuilt_state) == list(layer.state_dict())
    for name, a in layer.state_dict().items():
        assert a.dtype == rebuilt_state[name].dtype and np.array_equal(a, rebuilt_state[name])
    if isinstance(layer, cr.nn.ModuleList):
        return
    dtype = next((p.dtype for p in layer.parameters()), np.float32)
    x = cr.tensor(np.linspace(-1, 1, 6, dtype=dtype).reshape(2, 3))
    layer.eval()
    rebuilt.eval()
    np.testing.assert_array_equal(rebuilt(x).data, layer(x).data)


def test_configs_are_constructor_arguments():
    assert cr.nn.Linear(3, 2, generator=0).get_config() == {
        "in_features": 3, "out_features": 2, "bias": True, "dtype": np.float32}
    assert module_spec(cr.nn.Linear(3, 2))["config"]["dtype"] == "float32"
    assert cr.nn.Dropout(0.3, generator=2).get_config() == {"p": 0.3}
    assert cr.nn.LogSoftmax(axis=1).get_config() == {"axis": 1}
    assert cr.nn.Flatten(2).get_config() == {"start_axis": 2, "end_axis": -1}
