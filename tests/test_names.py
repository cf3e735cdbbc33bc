"""One spelling rule for every lookup by name (case, "-" and "_" ignored), and names that do not
collide: ``cr.nn.activation`` and ``cr.nn.loss`` are the submodules, the lookups have names of
their own."""

import types

import numpy as np
import pytest

import chainrule as cr
from chainrule.names import lookup, normalize


def test_normalize_ignores_case_hyphens_and_underscores():
    assert normalize("Leaky_ReLU") == normalize("leaky-relu") == normalize("LEAKYRELU")


@pytest.mark.parametrize("spellings, find", [
    (["leaky_relu", "Leaky-ReLU", "LeakyReLU"], lambda n: type(cr.nn.get_activation(n))),
    (["cross_entropy", "Cross-Entropy", "CrossEntropyLoss"], lambda n: type(cr.nn.get_loss(n))),
    (["adamw", "adam_w", "AdamW"], lambda n: type(cr.optim.get(n, [cr.nn.Parameter([1.0])]))),
    (["top_k_accuracy", "Top-K-Accuracy", "topkaccuracy"], cr.metrics.get),
    (["char-lm", "char_lm", "CharLM"], lambda n: type(cr.models.build(
        n, (3,), 5, embedding_dim=2, hidden_size=2))),
    (["leaky_relu", "Leaky-ReLU"], lambda n: cr.nn.init.calculate_gain(n, 0.5)),
])
def test_every_registry_follows_one_spelling_rule(spellings, find):
    found = [find(name) for name in spellings]
    assert all(f == found[0] for f in found), found


def test_data_set_names_follow_the_rule():
    (x_a, _), _ = cr.datasets.load("digits", seed=0, flatten=True)
    (x_b, _), _ = cr.datasets.load("DIGITS", seed=0, flatten=True)
    np.testing.assert_array_equal(x_a, x_b)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'char lm'; expected one of mlp, cnn"):
        lookup("model", "char lm", {"mlp": 1, "cnn": 2})
    with pytest.raises(ValueError, match=r"unknown optimizer 3; expected one of sgd$"):
        lookup("optimizer", 3, {"sgd": 1})


def test_lookups_and_submodules_do_not_collide():
    assert isinstance(cr.nn.activation, types.ModuleType)
    assert isinstance(cr.nn.loss, types.ModuleType)
    assert cr.nn.loss.get_loss is cr.nn.get_loss
    assert cr.nn.activation.get_activation is cr.nn.get_activation
