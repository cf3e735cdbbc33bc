"""explain on models beyond the MLP: free ops in a custom forward, convolutions, recurrence;
and it only reads."""

import numpy as np
import pytest

import chainrule as cr


class _Custom(cr.nn.Module):
    """Ops between modules: an activation applied by ``forward`` and a residual sum."""

    def __init__(self):
        super().__init__()
        self.fc1 = cr.nn.Linear(3, 4)
        self.fc2 = cr.nn.Linear(4, 4)
        self.out = cr.nn.Linear(4, 1)

    def forward(self, x):
        h = self.fc1(x).tanh()
        return self.out(h + self.fc2(h).relu())


def _titles(e):
    return [view.title for view in e.layers]


def test_free_ops_become_steps_and_are_verified():
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    e = cr.explain(_Custom(), x, np.ones((6, 1), np.float32), "mse")
    assert _titles(e) == ["layer 1 · Linear (fc1)", "layer 1 · Tanh", "layer 2 · Linear (fc2)",
                          "layer 2 · ReLU", "layer 2 · Add (skip connection from a[1])",
                          "layer 3 · Linear (out)"]
    tanh = e.layers[1]
    assert [q.symbol for q in tanh.backward] == ["∂J/∂a[1]", "g'(z[1])", "∂J/∂z[1]"]
    assert tanh.backward[-1].ok is True
    add = e.layers[4]
    assert add.role == "other" and add.forward[-1].formula == "a[1] + a[2]"
    assert e.verified and e.culprit is None


def test_an_input_read_twice_shows_each_share_and_the_sum():
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    e = cr.explain(_Custom(), x, np.ones((6, 1), np.float32), "mse")
    tanh, fc2, add = e.layers[1], e.layers[2], e.layers[4]
    share_fc2 = fc2.backward[-1]
    share_add = next(q for q in add.backward if q.kind == "grad_share")
    assert share_fc2.symbol == "∂J/∂a[1] via z[2]" and share_fc2.ok is None
    assert share_add.symbol == "∂J/∂a[1] via a[2]′" and share_add.ok is None
    # h feeds fc2 and the residual Add, which passes ∂J/∂a[2]′ straight through; the sum
    # arrives at the Tanh that made a[1], checked against backward
    total = tanh.backward[0]
    assert total.symbol == "∂J/∂a[1]" and total.ok is True
    assert total.formula == "∂J/∂a[1] via z[2] + ∂J/∂a[1] via a[2]′"
    np.testing.assert_allclose(total.value, share_fc2.value + share_add.value, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(share_add.value, add.backward[0].value)


class _Residual(cr.nn.Module):
    """``forward(x) = b(x + tanh(a(x)))``: the input skips layer a."""

    def __init__(self):
        super().__init__()
        self.a = cr.nn.Linear(3, 3)
        self.b = cr.nn.Linear(3, 1)

    def forward(self, x):
        return self.b(x + self.a(x).tanh())


def test_a_skip_connection_from_the_input_keeps_every_name():
    cr.manual_seed(0)
    model = _Residual().astype(np.float64)  # the hand computation below is float64
    x = np.random.default_rng(0).normal(size=(4, 3))
    y = np.ones((4, 1))
    e = cr.explain(model, x, y, "mse")
    assert _titles(e) == ["layer 1 · Linear (a)", "layer 1 · Tanh",
                          "layer 1 · Add (skip connection from a[0])", "layer 2 · Linear (b)"]
    add = e.layers[2].forward[-1]
    a1 = e.layers[1].forward[-1]
    assert (add.symbol, add.formula, a1.symbol) == ("a[1]′", "a[0] + a[1]", "a[1]")
    np.testing.assert_allclose(add.value, x + a1.value)
    assert "skip connection from a[0]" in str(e)

    terms: dict[str, list] = {}
    for view in [e.loss_view, *e.layers]:
        for q in view.backward:
            terms.setdefault(q.symbol, []).append(q)
    for symbol, seen in terms.items():  # one name, one value
        for q in seen[1:]:
            np.testing.assert_allclose(q.value, seen[0].value, err_msg=symbol)
    # the chain rule by hand: s = x + tanh(z[1]), J = 1/m Σ (h − y)²
    w1, b1, w2, b2 = (p.data for p in model.parameters())
    a = np.tanh(x @ w1.T + b1)
    ds = 2 * (((x + a) @ w2.T + b2) - y) / len(x) @ w2
    dx = ds + (ds * (1 - a * a)) @ w1
    np.testing.assert_allclose(terms["∂J/∂a[1]"][0].value, ds, rtol=1e-9)
    [total] = terms["∂J/∂a[0]"]
    assert total.ok is True and total.formula == "∂J/∂a[0] via z[1] + ∂J/∂a[0] via a[1]′"
    np.testing.assert_allclose(total.value, dx, rtol=1e-9)
    assert e.verified


def test_conv_net():
    net = cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                           cr.nn.Flatten(), cr.nn.Linear(18, 3))
    x = np.random.default_rng(1).normal(size=(4, 1, 8, 8)).astype(np.float32)
    e = cr.explain(net, x, np.array([0, 1, 2, 1]), "cross_entropy")
    assert _titles(e)[0] == "layer 1 · Conv2d"
    conv = e.layers[0]
    grads = {q.symbol: q for q in conv.backward if q.kind == "grad_parameter"}
    assert set(grads) == {"∂J/∂W[1]", "∂J/∂b[1]"}
    assert grads["∂J/∂W[1]"].value.shape == (2, 1, 3, 3)
    assert [(q.symbol, q.formula) for q in conv.forward] == [
        ("W[1]", "weight"), ("b[1]", "bias"), ("z[1]", "Conv2d(a[0])")]
    assert e.verified and e.culprit is None and [c.layer for c in e.check] == ["0", "4"]


class _Recurrent(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = cr.nn.RNN(3, 4, batch_first=True)
        self.fc = cr.nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def test_recurrent_net_returning_output_and_state():
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    e = cr.explain(_Recurrent(), x, np.array([0, 1]), "cross_entropy")
    assert _titles(e) == ["layer 1 · RNN (rnn)", "layer 1 · Index", "layer 2 · Linear (fc)"]
    rnn = e.layers[0]
    assert {q.symbol for q in rnn.backward if q.kind == "grad_parameter"} == {
        "∂J/∂weight_ih_l0[1]", "∂J/∂weight_hh_l0[1]", "∂J/∂bias_ih_l0[1]", "∂J/∂bias_hh_l0[1]"}
    assert rnn.forward[-1].value.shape == (2, 5, 4)
    assert e.verified and e.culprit is None


def test_explain_only_reads():
    net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.BatchNorm1d(8), cr.nn.ReLU(),
                           cr.nn.Dropout(0.5), cr.nn.Linear(8, 2))
    x = np.random.default_rng(3).normal(size=(8, 4)).astype(np.float32)
    y = np.arange(8) % 2
    cr.nn.functional.cross_entropy(net(cr.tensor(x)), cr.tensor(y)).backward()
    state = {k: v.copy() for k, v in net.state_dict().items()}
    grads = [p.grad.copy() for p in net.parameters()]
    rng = cr.get_rng_state()
    e = cr.explain(net, x, y, "cross_entropy")
    assert e.verified
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)  # BatchNorm's too
    for p, grad in zip(net.parameters(), grads):
        np.testing.assert_array_equal(p.grad, grad)
    assert cr.get_rng_state() == rng
    assert net.training and not net[0]._forward_hooks and not net[0]._forward_pre_hooks


def test_errors_are_clear():
    net = cr.nn.Sequential(cr.nn.Linear(2, 1))
    with pytest.raises(ValueError, match="Linear.*expected input of shape"):
        cr.explain(net, np.zeros((3, 5), np.float32), np.zeros((3, 1), np.float32))
    with pytest.raises(ValueError, match="explain: the loss must return a scalar"):
        cr.explain(net, np.zeros((3, 2), np.float32), np.zeros((3, 1), np.float32),
                   loss=lambda h, y: h - y)


def test_an_explanation_keeps_its_values_when_the_model_trains_on(xor):
    model, x, y, loss = xor
    e = cr.explain(model, x, y, loss)
    weight = e.layers[0].forward[1].value.copy()
    cr.fit(model, (x, y), loss=loss, optimizer="sgd", epochs=1, batch_size=4, metrics=(),
           progress=False)
    assert not np.array_equal(model[0].weight.data, weight)
    np.testing.assert_array_equal(e.layers[0].forward[1].value, weight)
