"""One parameter's chain-rule path (explain.path): its terms are explain's, its sum is the
gradient backpropagation gave, and its central-difference check agrees."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.path import chain_path, check_entry, subscript


def _network(seed=0):
    """A 3-4-3-2 tanh/ReLU network on logits: deeper than the textbook example, no output
    activation, so the path runs through two hidden layers and a cross-entropy loss."""
    generator = np.random.default_rng(seed)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4, generator=generator), cr.nn.Tanh(),
                             cr.nn.Linear(4, 3, generator=generator), cr.nn.ReLU(),
                             cr.nn.Linear(3, 2, generator=generator))
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1])
    return model, x, y, cr.nn.CrossEntropyLoss()


def test_every_entry_sums_to_the_gradient_backpropagation_gave(xor):
    model, x, y, loss = xor
    explanation = cr.explain(model, x, y, loss, check=False)
    for layer, module in enumerate([model[0], model[2]], start=1):
        model.zero_grad()
        loss(model(cr.Tensor(x)), y).backward()
        for parameter, tensor in (("W", module.weight), ("b", module.bias)):
            for index in np.ndindex(tensor.shape):
                path = chain_path(explanation, layer, parameter, index)
                assert path.backward == pytest.approx(float(tensor.grad[index]), rel=1e-6)
                assert path.gradient == pytest.approx(path.backward, rel=1e-5, abs=1e-9)
                assert path.terms.shape == (4,)


def test_the_path_is_the_textbook_chain_for_a_hidden_weight(xor):
    model, x, y, loss = xor
    path = chain_path(cr.explain(model, x, y, loss, check=False), 1, "W", (1, 0))
    assert path.symbol == "W[1]₂,₁"
    assert [link.symbol for link in path.links] == [
        "∂J/∂h", "g'(z[2])", "∂J/∂z[2]", "∂J/∂a[1]₂", "g'(z[1]₂)", "∂J/∂z[1]₂"]
    # By hand, per sample: (h − y)/m · σ'(z[2]) · W[2]₁,₂ · σ'(z[1]₂) · x₁
    x64 = x.astype(np.float64)
    w1, b1 = model[0].weight.data.astype(np.float64), model[0].bias.data.astype(np.float64)
    w2, b2 = model[2].weight.data.astype(np.float64), model[2].bias.data.astype(np.float64)
    a1 = 1 / (1 + np.exp(-(x64 @ w1.T + b1)))
    h = 1 / (1 + np.exp(-(a1 @ w2.T + b2)))
    by_hand = (h[:, 0] - y[:, 0]) / 4 * h[:, 0] * (1 - h[:, 0]) * w2[0, 1] \
        * a1[:, 1] * (1 - a1[:, 1]) * x64[:, 0]
    np.testing.assert_allclose(path.terms, by_hand, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(path.local.value, x64[:, 0])
    assert all(link.verified is not False for link in path.links)


def test_a_deeper_network_on_logits():
    model, x, y, loss = _network()
    explanation = cr.explain(model, x, y, loss, check=False)
    path = chain_path(explanation, 1, "W", (2, 1))
    assert [link.symbol for link in path.links] == [
        "∂J/∂h", "∂J/∂a[2]", "g'(z[2])", "∂J/∂z[2]", "∂J/∂a[1]₃", "g'(z[1]₃)", "∂J/∂z[1]₃"]
    assert path.links[0].value.shape == (5, 2) and path.links[-1].value.shape == (5,)
    assert path.gradient == pytest.approx(path.backward, rel=1e-5, abs=1e-9)
    bias = chain_path(explanation, 3, "b", (1,))
    assert [link.symbol for link in bias.links] == ["∂J/∂h₂"]
    np.testing.assert_allclose(bias.terms, bias.links[0].value)


def test_central_differences_agree_with_backward_and_leave_the_model_alone():
    model, x, y, loss = _network()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    explanation = cr.explain(model, x, y, loss, check=False)
    for layer, name, index in ((1, "0.weight", (2, 1)), (2, "2.bias", (0,)),
                               (3, "4.weight", (1, 2))):
        parameter = "W" if name.endswith("weight") else "b"
        path = chain_path(explanation, layer, parameter, index)
        numerical = check_entry(model, x, y, loss, name, index)
        assert numerical == pytest.approx(path.backward, rel=1e-3, abs=1e-7)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
        assert p.data.dtype == np.float32


def test_central_differences_differentiate_the_loss_they_are_given(xor):
    model, x, y, loss = xor
    doubled = check_entry(model, x, y, lambda h, t: loss(h, t) * 2.0, "0.weight", (1, 0))
    single = check_entry(model, x, y, loss, "0.weight", (1, 0))
    assert doubled == pytest.approx(2 * single, rel=1e-6) and abs(single) > 1e-4


def test_bad_requests_name_what_is_wrong(xor):
    model, x, y, loss = xor
    explanation = cr.explain(model, x, y, loss, check=False)
    with pytest.raises(ValueError, match="no Linear layer 3; the model has layers 1 to 2"):
        chain_path(explanation, 3, "W", (0, 0))
    with pytest.raises(ValueError, match=r"index \(2, 0\) is outside W\[1\] of shape \(2, 2\)"):
        chain_path(explanation, 1, "W", (2, 0))
    with pytest.raises(ValueError, match="outside b"):
        chain_path(explanation, 1, "b", (0, 0))
    with pytest.raises(ValueError, match="parameter must be 'W' or 'b'"):
        chain_path(explanation, 1, "z", (0,))
    with pytest.raises(ValueError, match="no parameter 'w'; it has 0.weight"):
        check_entry(model, x, y, loss, "w", (0,))
    unbiased = cr.nn.Sequential(cr.nn.Linear(2, 1, bias=False))
    no_bias = cr.explain(unbiased, x, y[:, :1], loss, check=False)
    with pytest.raises(ValueError, match=r"no term ∂J/∂b\[1\]"):
        chain_path(no_bias, 1, "b", (0,))
    conv = cr.explain(cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(4, 1)),
                      np.ones((2, 2, 2), np.float32), np.ones((2, 1), np.float32), check=False)
    with pytest.raises(ValueError, match="follows Linear layers and activations, not layer"):
        chain_path(conv, 1, "W", (0, 0))


def test_subscripts_count_from_one():
    assert subscript(0) == "₁" and subscript(1, 10) == "₂,₁₁"
