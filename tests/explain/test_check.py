"""The whole-model gradient check names the layer whose backward rule is wrong."""

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.models  # noqa: F401 - cr.models.build
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
    assert "every checked gradient agrees with central differences" in str(e)


def test_wrong_layer_norm_backward_is_named(net_and_batch, monkeypatch):
    net, x, y = net_and_batch
    monkeypatch.setattr(norm.LayerNorm, "backward", _scaled(norm.LayerNorm.backward, 1.1))
    e = cr.explain(net, x, y, "cross_entropy")
    # the LayerNorm; layer 3 after it is right, layer 1 inherits the error
    assert e.culprit == "layer 2 · LayerNorm"
    assert [c.ok for c in e.check] == [False, False, True]
    assert not e.verified
    text = str(e)
    assert "first layer that disagrees (going backward from the loss): layer 2 · LayerNorm" \
        in text
    assert e.to_dict()["culprit"] == "layer 2 · LayerNorm"


def test_wrong_activation_backward_is_caught_twice(net_and_batch, monkeypatch):
    net, x, y = net_and_batch
    monkeypatch.setattr(activation.Tanh, "backward", _scaled(activation.Tanh.backward, 1.5))
    e = cr.explain(net, x, y, "cross_entropy")
    # The check sees parameters: the Linear feeding the Tanh is the first to disagree ...
    assert e.culprit == "layer 1 · Linear"
    # ... and the formula term ∂J/∂z = ∂J/∂a ⊙ g'(z) names the Tanh itself.
    assert e.disagreements() == ["layer 1 · Tanh: ∂J/∂z[1]"]
    assert "✗ DIFFERS" in str(e)


def test_check_can_be_skipped_and_samples_large_parameters(net_and_batch):
    net, x, y = net_and_batch
    assert cr.explain(net, x, y, "cross_entropy", check=False).check == []
    e = cr.explain(net, x, y, "cross_entropy", max_elements=3)
    weight = e.check[0].parameters[0]
    assert (weight.checked, weight.size) == (3, 12)


def test_the_check_samples_the_entries_whose_gradient_is_not_zero():
    """An embedding's gradient is zero outside the rows of the batch's tokens: a sample of
    all entries would check zeros only (and print ✓ over nothing)."""
    cr.manual_seed(0)
    model = cr.models.build("bow", (5,), 3, vocab_size=2000, embedding_dim=8)
    ids = np.array([[3, 17, 17, 400, 0], [1999, 5, 0, 0, 0]])
    e = cr.explain(model, ids, np.array([0, 2]), "cross_entropy")
    embedding = e.check[0].parameters[0]
    tokens = 5  # distinct ids other than padding
    assert (embedding.size, embedding.nonzero) == (16000, tokens * 8)
    assert embedding.checked_nonzero == 24 - embedding.checked_zero and embedding.checked_zero > 0
    assert embedding.ok and not embedding.vacuous
    check = str(e).split("GRADIENT CHECK")[1]
    row = next(line for line in check.splitlines() if line.lstrip().startswith("E[1]"))
    assert f"{embedding.checked_nonzero} of {tokens * 8} ≠ 0" in row
    assert f"{embedding.checked_zero} of {16000 - tokens * 8} = 0" in row


def test_a_check_with_nothing_to_check_says_so():
    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Linear(3, 1))
    net[0].bias.data[:] = -100  # every unit dead: no gradient reaches layer 1
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    e = cr.explain(net, x, np.ones((4, 1), np.float32), "mse")
    weight = e.check[0].parameters[0]
    assert weight.vacuous and weight.nonzero == 0 and weight.ok
    check = str(e).split("GRADIENT CHECK")[1]
    rows = [line for line in check.splitlines() if line.lstrip().startswith(("W[1]", "b[1]"))]
    assert len(rows) == 2 and all("nothing to check" in r and "✓" not in r for r in rows)
    assert "nothing to check for W[1], b[1] (layer 1 · Linear)" in str(e)
    assert "every checked gradient agrees" in str(e)


def test_the_text_check_shows_the_absolute_error_beside_the_relative(net_and_batch):
    net, x, y = net_and_batch
    e = cr.explain(net, x, y, "cross_entropy")
    text = str(e)
    header = next(line for line in text.splitlines() if "max rel. error" in line)
    assert "max abs. error" in header
    first = e.check[0].parameters[0]
    check = text.split("GRADIENT CHECK")[1]
    row = next(line for line in check.splitlines() if line.lstrip().startswith("W[1] "))
    assert f"{first.max_abs_error:.2e}" in row and f"{first.max_rel_error:.2e}" in row


def test_the_check_names_layers_as_the_headings_do():
    """One numbering: the textbook's l, never a module's position in a Sequential."""
    net = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(4, 3), cr.nn.ReLU(),
                           cr.nn.Linear(3, 2))
    x = np.random.default_rng(0).normal(size=(5, 2, 2)).astype(np.float32)
    e = cr.explain(net, x, np.array([0, 1, 1, 0, 1]), "cross_entropy")
    text = str(e)
    assert [v.title for v in e.layers] == ["layer 0 · Flatten", "layer 1 · Linear",
                                           "layer 1 · ReLU", "layer 2 · Linear"]
    check = text.split("GRADIENT CHECK")[1]
    assert "layer 1 · Linear" in check and "layer 2 · Linear" in check
    assert not re.search(r"\((?:0|1|3)\)", text)  # no module positions anywhere
    assert [p.name for c in e.check for p in c.parameters] == ["weight", "bias"] * 2
    assert [row["parameters"][0]["symbol"] for row in e.to_dict()["check"]] == ["W[1]", "W[2]"]


def _penalised_cross_entropy(h, y):
    """Cross-entropy plus ‖∂L/∂h‖²: a loss that differentiates the model's output itself."""
    base = cr.nn.functional.cross_entropy(h, y)
    (slope,) = cr.autograd.grad(base, h, create_graph=True)
    return base + (slope * slope).sum() * 100


def test_a_create_graph_loss_has_its_second_order_terms_checked(net_and_batch, monkeypatch):
    net, x, y = net_and_batch
    e = cr.explain(net, x, y, _penalised_cross_entropy)
    assert e.verified and all(c.second_order for c in e.check)
    assert "compared its second-order terms too" in " ".join(str(e).split())
    assert not any(c.second_order for c in cr.explain(net, x, y, "cross_entropy").check)
    # A wrong double backward: the right gradient as a constant (the first-order rule on
    # arrays), so no ∂²L/∂h² reaches the weights. Only the check's second-order terms see it.
    def constant(self, grad):
        return cr.tensor(cr.ops.loss.CrossEntropy.backward(self, grad.data))

    monkeypatch.setattr(cr.ops.loss.CrossEntropy, "backward_graph", constant)
    e = cr.explain(net, x, y, _penalised_cross_entropy)
    assert not e.verified and e.culprit is not None
