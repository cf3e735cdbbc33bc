"""``to_dict()`` of the XOR example against the chain rule worked by hand in NumPy."""

import numpy as np
import pytest

import chainrule as cr


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _by_hand(model, x, y):
    """Forward and backward of J = 1/(2m) Σ (h − y)², samples as rows, float64."""
    w1, b1 = (p.data.astype(np.float64) for p in (model[0].weight, model[0].bias))
    w2, b2 = (p.data.astype(np.float64) for p in (model[2].weight, model[2].bias))
    a0, y = x.astype(np.float64), y.astype(np.float64)
    m = len(a0)
    z1 = a0 @ w1.T + b1
    a1 = _sigmoid(z1)
    z2 = a1 @ w2.T + b2
    a2 = _sigmoid(z2)
    J = ((a2 - y) ** 2).sum() / (2 * m)
    dh = (a2 - y) / m
    dz2 = dh * a2 * (1 - a2)
    da1 = dz2 @ w2
    dz1 = da1 * a1 * (1 - a1)
    return {
        "z[1]": z1, "a[1]": a1, "z[2]": z2, "a[2]": a2, "J": J, "∂J/∂h": dh,
        "∂J/∂a[2]": dh, "∂J/∂z[2]": dz2, "∂J/∂W[2]": dz2.T @ a1, "∂J/∂b[2]": dz2.sum(0),
        "∂J/∂a[1]": da1, "∂J/∂z[1]": dz1, "∂J/∂W[1]": dz1.T @ a0, "∂J/∂b[1]": dz1.sum(0),
        "∂J/∂a[0]": dz1 @ w1, "g'(z[2])": a2 * (1 - a2), "g'(z[1])": a1 * (1 - a1),
    }


def _terms(data):
    """symbol -> every (values, verified) the dict shows for it."""
    terms = {}
    for view in [data["loss"], *data["layers"]]:
        for q in view["forward"] + view["backward"]:
            terms.setdefault(q["symbol"], []).append((np.asarray(q["values"]), q["verified"]))
    return terms


def test_every_term_matches_the_hand_computation(xor):
    model, x, y, loss = xor
    data = cr.explain(model, x, y, loss).to_dict(full_values=True)
    hand = _by_hand(model, x, y)
    terms = _terms(data)
    assert set(hand) <= set(terms)
    for symbol, expected in hand.items():
        for values, _ in terms[symbol]:
            np.testing.assert_allclose(values, expected, rtol=2e-6, atol=1e-7, err_msg=symbol)
    assert data["loss"]["value"] == pytest.approx(hand["J"], rel=1e-6)
    assert data["loss"]["formula"] == "J = 1/(2m) Σ (h − y)²"
    # every backward term with a formula was verified against the engine
    verified = {s: [v for _, v in terms[s]] for s in terms if s.startswith("∂J/∂")}
    for symbol in ("∂J/∂h", "∂J/∂z[2]", "∂J/∂W[2]", "∂J/∂b[2]", "∂J/∂a[1]", "∂J/∂z[1]",
                   "∂J/∂W[1]", "∂J/∂b[1]", "∂J/∂a[0]"):
        assert True in verified[symbol], symbol
    assert data["verified"] and data["culprit"] is None


def test_layers_symbols_and_shapes(xor_explanation):
    data = xor_explanation.to_dict()
    assert [v["title"] for v in data["layers"]] == [
        "layer 1 · Linear", "layer 1 · Sigmoid", "layer 2 · Linear", "layer 2 · Sigmoid"]
    assert [v["role"] for v in data["layers"]] == ["affine", "activation", "affine",
                                                   "activation"]
    first = {q["symbol"]: q for q in data["layers"][0]["backward"]}
    assert first["∂J/∂W[1]"]["shape"] == [2, 2] and first["∂J/∂W[1]"]["kind"] == "grad_parameter"
    assert first["∂J/∂z[1]"]["kind"] == "grad_output"
    assert data["batch_size"] == 4 and data["model"] == "Sequential"
    assert [(c["layer"], c["module"], [p["symbol"] for p in c["parameters"]])
            for c in data["check"]] == [("layer 1 · Linear", "0", ["W[1]", "b[1]"]),
                                        ("layer 2 · Linear", "2", ["W[2]", "b[2]"])]
    assert all(c["max_rel_error"] < 1e-6 for c in data["check"])


def test_large_arrays_become_statistics():
    net = cr.nn.Sequential(cr.nn.Linear(20, 30), cr.nn.ReLU(), cr.nn.Linear(30, 3))
    x = np.random.default_rng(1).normal(size=(16, 20)).astype(np.float32)
    data = cr.explain(net, x, np.arange(16) % 3, "cross_entropy").to_dict()
    weight = next(q for q in data["layers"][0]["forward"] if q["symbol"] == "W[1]")
    assert "values" not in weight and weight["shape"] == [30, 20]
    expected = np.linalg.norm(net[0].weight.data.astype(np.float64))
    assert weight["stats"]["norm"] == pytest.approx(expected, rel=1e-9)
    relu = data["layers"][1]["forward"][0]
    out = np.maximum(x @ net[0].weight.data.T + net[0].bias.data, 0)
    assert relu["stats"]["zeros"] == pytest.approx(np.mean(out == 0))
