"""Every layer case (tests/nn/cases) through the same checks: output shapes and dtypes, the
parameter count against the case's formula, state-dict and model-file round trips, gradients of
inputs and parameters against central differences in float64, values and gradients against
PyTorch with the same weights, and a meta-test that every public layer of ``cr.nn`` has a case."""

import importlib
import json
import pkgutil

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.io import module_spec
from nn.cases import CASES, gradcheck_module, outputs

PARITY = [case for case in CASES if case.torch_fn is not None]


def _randomize(layer, seed=3):
    """Draw every parameter and floating buffer anew (in place, keeping each array's layout), so
    that a copied state differs from a fresh one; buffers stay positive (running variances)."""
    rng = np.random.default_rng(seed)
    for parameter in layer.parameters():
        parameter.data[...] = rng.uniform(-1.0, 1.0, parameter.shape)
    for _, buffer in layer.named_buffers():
        if isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f":
            buffer[...] = rng.uniform(0.5, 1.5, buffer.shape)
    return layer


def _tensors(case, dtype, requires_grad=False):
    return [cr.tensor(x.astype(dtype), requires_grad=requires_grad) for x in case.inputs]


def _values(case, layer):
    """The outputs' arrays for inputs in the layer's dtype (float32 for a layer without weights)."""
    dtype = next((p.dtype for p in layer.parameters()), np.float32)
    return [out.data for out in outputs(case.run(layer, *_tensors(case, dtype), *case.constants))]


def _assert_same_state(state, expected):
    assert list(state) == list(expected)
    for name, value in expected.items():
        assert state[name].dtype == value.dtype, name
        np.testing.assert_array_equal(state[name], value, err_msg=name)


def _public_layer_classes() -> list[type]:
    """Every public ``Module`` subclass defined in ``chainrule.nn``."""
    found = []
    for info in pkgutil.walk_packages(cr.nn.__path__, "chainrule.nn."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, cr.nn.Module) and obj is not cr.nn.Module
                    and not name.startswith("_") and obj.__module__ == module.__name__):
                found.append(obj)
    return found


# ------------------------------------------------------------------ the table itself
def test_every_layer_has_a_case():
    layers = _public_layer_classes()
    assert {"Linear", "LSTM", "CrossEntropyLoss", "TransformerEncoder"} <= {
        layer.__name__ for layer in layers}
    covered = {type(case.make()) for case in CASES}
    missing = sorted(layer.__name__ for layer in layers if layer not in covered)
    assert not missing, f"layers without a case in tests/nn/cases: {missing}"


# ------------------------------------------------------------------ per case
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_output_shapes_and_dtype(case, dtype):
    found = outputs(case.run(case.build(dtype=dtype), *_tensors(case, dtype), *case.constants))
    assert [out.shape for out in found] == list(case.out_shapes)
    assert all(out.dtype == dtype for out in found), [out.dtype for out in found]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_parameter_count_is_the_formula(case):
    layer = case.build()
    assert layer.num_parameters() == case.num_params
    assert sum(p.data.size for p in layer.parameters()) == case.num_params


@pytest.mark.parametrize("case", CASES, ids=str)
def test_state_dict_round_trip(case):
    source, target = _randomize(case.build(seed=1)), case.build(seed=2)
    target.load_state_dict(source.state_dict())
    _assert_same_state(target.state_dict(), source.state_dict())
    for ours, expected in zip(_values(case, target), _values(case, source)):
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_save_and_load_model_round_trip(case, tmp_path):
    source = _randomize(case.build(seed=1))
    spec = module_spec(source)
    assert json.loads(json.dumps(spec)) == spec  # the architecture is plain JSON data
    cr.save(source, tmp_path / "layer.safetensors")
    loaded = cr.load_model(tmp_path / "layer.safetensors").train(case.train)
    assert type(loaded) is type(source) and repr(loaded) == repr(source)
    assert module_spec(loaded) == spec
    _assert_same_state(loaded.state_dict(), source.state_dict())
    for ours, expected in zip(_values(case, loaded), _values(case, source)):
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("case", [case for case in CASES if case.gradcheck], ids=str)
def test_gradients_of_inputs_and_parameters_match_central_differences(case):
    def flat(layer, *inputs):
        found = outputs(case.run(layer, *inputs, *case.constants))
        return cr.concatenate([out.reshape(-1) for out in found])

    layer = _randomize(case.build(seed=1))
    assert gradcheck_module(layer, flat, *_tensors(case, np.float64, requires_grad=True))


@pytest.mark.parametrize("case", PARITY, ids=str)
def test_matches_torch(case):
    torch = importorskip("torch")
    rtol, atol = case.tolerance
    ours = _randomize(case.build(seed=1, dtype=np.float64))
    theirs = case.torch_fn(torch).double().train(case.train)
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({name: torch.from_numpy(np.array(value))
                            for name, value in state.items()})

    our_inputs = _tensors(case, np.float64, requires_grad=True)
    their_inputs = [torch.tensor(x, requires_grad=True) for x in case.inputs]
    constants = [torch.from_numpy(c) if isinstance(c, np.ndarray) else c for c in case.constants]
    our_outs = outputs(case.run(ours, *our_inputs, *case.constants))
    their_outs = outputs(case.run(theirs, *their_inputs, *constants))
    assert len(our_outs) == len(their_outs)
    for out, expected in zip(our_outs, their_outs):
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    # the running statistics a training step updates
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)

    rng = np.random.default_rng(4)
    weights = [rng.uniform(0.5, 1.5, out.shape) for out in our_outs]
    sum(((out * w).sum() for out, w in zip(our_outs, weights)), cr.tensor(0.0)).backward()
    sum((out * torch.from_numpy(w)).sum() for out, w in zip(their_outs, weights)).backward()
    for i, (x, expected) in enumerate(zip(our_inputs, their_inputs)):
        np.testing.assert_allclose(x.grad, expected.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"input {i}")
    their_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad, their_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)
