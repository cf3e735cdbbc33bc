"""get_config: a layer's configuration is its constructor arguments (the model-file round trip
of every layer is in the layer-case table, tests/nn/test_layers.py)."""

import numpy as np

import chainrule as cr
from chainrule.io import module_spec


def test_configs_are_constructor_arguments():
    assert cr.nn.Linear(3, 2, generator=0).get_config() == {
        "in_features": 3, "out_features": 2, "bias": True, "dtype": np.float32}
    assert module_spec(cr.nn.Linear(3, 2))["config"]["dtype"] == "float32"
    assert cr.nn.Dropout(0.3, generator=2).get_config() == {"p": 0.3}
    assert cr.nn.LogSoftmax(axis=1).get_config() == {"axis": 1}
    assert cr.nn.Flatten(2).get_config() == {"start_axis": 2, "end_axis": -1}
