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
                          "layer 2 · ReLU", "layer 2 · Add", "layer 3 · Linear (out)"]
    tanh = e.layers[1]
    assert [q.symbol for q in tanh.backward] == ["∂J/∂a[1]", "g'(z[1])", "∂J/∂z[1]"]
    assert tanh.backward[-1].ok is True
    add = e.layers[4]
    assert add.role == "other" and add.forward[-1].formula == "Add(a[1], a[2])"
    assert e.verified and e.culprit is None


def test_an_input_read_twice_shows_each_share_and_the_sum():
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    e = cr.explain(_Custom(), x, np.ones((6, 1), np.float32), "mse")
    fc2, add = e.layers[2], e.layers[4]
    share, total = fc2.backward[-2:]
    assert share.symbol == total.symbol == "∂J/∂a[1]"
    assert share.formula.endswith("(this op's share)") and share.ok is None
    assert total.formula == "Σ over the 2 ops reading it" and total.kind == "grad_input"
    # h feeds fc2 and the residual Add, which passes ∂J/∂a[1]′ straight through
    np.testing.assert_allclose(total.value, share.value + add.backward[0].value, rtol=1e-5,
                               atol=1e-7)


def test_conv_net():
    if not hasattr(cr.nn, "Conv2d"):
        pytest.skip("no Conv2d yet")
    net = cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                           cr.nn.Flatten(), cr.nn.Linear(18, 3))
    x = np.random.default_rng(1).normal(size=(4, 1, 8, 8)).astype(np.float32)
    e = cr.explain(net, x, np.array([0, 1, 2, 1]), "cross_entropy")
    assert _titles(e)[0] == "layer 1 · Conv2d (0)"
    conv = e.layers[0]
    grads = {q.symbol: q for q in conv.backward if q.kind == "grad_parameter"}
    assert set(grads) == {"∂J/∂weight", "∂J/∂bias"}
    assert grads["∂J/∂weight"].value.shape == (2, 1, 3, 3)
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
    if not hasattr(cr.nn, "RNN"):
        pytest.skip("no RNN yet")
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    e = cr.explain(_Recurrent(), x, np.array([0, 1]), "cross_entropy")
    assert _titles(e) == ["layer 1 · RNN (rnn)", "layer 1 · Index", "layer 2 · Linear (fc)"]
    rnn = e.layers[0]
    assert {q.symbol for q in rnn.backward if q.kind == "grad_parameter"} == {
        "∂J/∂weight_ih_l0", "∂J/∂weight_hh_l0", "∂J/∂bias_ih_l0", "∂J/∂bias_hh_l0"}
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
