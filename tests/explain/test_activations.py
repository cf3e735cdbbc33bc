"""Each activation's textbook derivative g'(z), shown by explain, agrees with its backward rule
(the ∂J/∂z = ∂J/∂a ⊙ g'(z) line is checked against backward), with non-default settings."""

import numpy as np
import pytest

import chainrule as cr

ACTIVATIONS = [cr.nn.Hardtanh(-0.5, 0.5), cr.nn.ReLU6(), cr.nn.Hardswish(), cr.nn.SiLU(),
               cr.nn.Mish(), cr.nn.Softsign(), cr.nn.CELU(0.7), cr.nn.SELU(),
               cr.nn.LeakyReLU(0.2), cr.nn.ELU(0.5), cr.nn.Softplus(2.0)]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda m: type(m).__name__)
def test_the_shown_derivative_matches_backward(activation):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 8), activation, cr.nn.Linear(8, 1))
    model = model.astype(np.float64)
    # inputs wide enough that z crosses every kink (±0.5, 0, 6, ±3) somewhere
    x = np.random.default_rng(0).normal(size=(16, 3)) * 8
    e = cr.explain(model, x, np.ones((16, 1)), "mse")
    view = e.layers[1]
    assert view.role == "activation" and view.title == f"layer 1 · {type(activation).__name__}"
    slope, dz = view.backward[1], view.backward[2]
    assert slope.symbol == "g'(z[1])" and dz.symbol == "∂J/∂z[1]"
    assert len(np.unique(np.round(slope.value, 6))) > 1  # g' is not constant on this data
    assert dz.ok is True and e.verified
