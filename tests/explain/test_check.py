"""The whole-model gradient check names the layer whose backward rule is wrong."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import activation, norm


def _scaled(backward, factor):
    """A backward rule off by ``factor``: the kind of mistake a wrong derivative makes."""
    def wrong(self, grad):
        grads = backward(self, grad)
        if isinstance(grads, tuple):
            return tuple(None if g is None else g * factor for g in grads)
        return grads * factor

    return wrong


@pytest.fixture
def net_and_batch():
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.LayerNorm(4),
                           cr.nn.Linear(4, 2))
    x = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)
    return net, x, np.array([0, 1, 1, 0, 1])


def test_a_correct_model_passes(net_and_batch):
    net, x, y = net_and_batch
    e = cr.explain(net, x, y, "cross_entropy")
    assert e.verified and e.culprit is None
    assert [c.layer for c in e.check] == ["0", "2", "3"]
    assert "every layer's gradient agrees" in str(e)


def test_wrong_layer_norm_backward_is_named(net_and_batch, monkeypatch):
    net, x, y = net_and_batch
    monkeypatch.setattr(norm.LayerNorm, "backward", _scaled(norm.LayerNorm.backward, 1.1))
    e = cr.explain(net, x, y, "cross_entropy")
    assert e.culprit == "2"  # the LayerNorm; layer 3 after it is right, layer 0 inherits
    assert [c.ok for c in e.check] == [False, False, True]
    assert not e.verified
    text = str(e)
    assert "first layer that disagrees (going backward from the loss): 2" in text
    assert e.to_dict()["culprit"] == "2"


def test_wrong_activation_backward_is_caught_twice(net_and_batch, monkeypatch):
    net, x, y = net_and_batch
    monkeypatch.setattr(activation.Tanh, "backward", _scaled(activation.Tanh.backward, 1.5))
    e = cr.explain(net, x, y, "cross_entropy")
    # The check sees parameters: the Linear feeding the Tanh is the first to disagree ...
    assert e.culprit == "0"
    # ... and the formula term ∂J/∂z = ∂J/∂a ⊙ g'(z) names the Tanh itself.
    assert e.disagreements() == ["layer 1 · Tanh (1): ∂J/∂z[1]"]
    assert "✗ DIFFERS" in str(e)


def test_check_can_be_skipped_and_samples_large_parameters(net_and_batch):
    net, x, y = net_and_batch
    assert cr.explain(net, x, y, "cross_entropy", check=False).check == []
    e = cr.explain(net, x, y, "cross_entropy", max_elements=3)
    weight = e.check[0].parameters[0]
    assert (weight.checked, weight.size) == (3, 12)
