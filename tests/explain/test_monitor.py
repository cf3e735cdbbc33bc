"""GradientMonitor: statistics checked by hand, NaN/Inf origins named, training unchanged."""

import copy

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.explain import GradientMonitor, plots


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 4))
    y = rng.integers(0, 3, size=96)
    return (centres[y] + rng.normal(size=(96, 4))).astype(np.float32), y


class _ExplainEachEpoch(cr.callbacks.Callback):
    """Calls cr.explain on the model being trained, between epochs."""

    def __init__(self, x, y):
        self.x, self.y, self.calls = x, y, 0

    def on_epoch_end(self, epoch, logs=None):
        assert cr.explain(self.model, self.x, self.y, "cross_entropy").verified
        self.calls += 1


def _train(data, monitor: bool, explain: bool):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.BatchNorm1d(16), cr.nn.ReLU(),
                             cr.nn.Dropout(0.3), cr.nn.Linear(16, 8), cr.nn.Tanh(),
                             cr.nn.Linear(8, 3))
    x, y = data
    callbacks = ([_ExplainEachEpoch(x[:8], y[:8])] if explain else []) + (
        [GradientMonitor()] if monitor else [])
    history = cr.fit(model, data, loss="cross_entropy", optimizer="adam", epochs=3,
                     batch_size=16, seed=0, progress=False, callbacks=callbacks,
                     validation_data=(x[:32], y[:32]))
    return model, history, callbacks


def test_training_is_bitwise_the_same_with_monitor_and_explain(blobs):
    runs = [_train(blobs, monitor, explain) for monitor in (False, True)
            for explain in (False, True)]
    reference, history, _ = runs[0]
    for model, other, _ in runs[1:]:
        for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
            np.testing.assert_array_equal(a, b, err_msg=name)  # running statistics too
        assert other.history == history.history
    assert runs[1][2][0].calls == 3
    # explain's passes are not training batches: the monitor's statistics ignore them
    assert runs[2][2][0].to_dict() == runs[3][2][-1].to_dict()


def _norm(arrays):
    return np.sqrt(sum(np.sum(np.square(a, dtype=np.float64)) for a in arrays))


def test_statistics_match_a_hand_written_loop(xor):
    model, x, y, loss = xor
    twin = copy.deepcopy(model)
    lr, epochs = 2.0, 4
    monitor = GradientMonitor()
    cr.fit(model, (x, y), loss=loss, optimizer=cr.optim.SGD(model.parameters(), lr=lr),
           epochs=epochs, batch_size=4, shuffle=False, metrics=(), progress=False,
           callbacks=[monitor])

    optimizer = cr.optim.SGD(twin.parameters(), lr=lr)
    expected = {k: {name: [] for name in ("0", "2")} for k in ("grad", "ratio", "exact")}
    saturated = {"1": [], "3": []}
    for _ in range(epochs):
        a1 = twin[1](twin[0](cr.tensor(x)))
        h = twin[3](twin[2](a1))
        for name, a in (("1", a1), ("3", h)):
            saturated[name].append(np.mean(np.abs(a.data - 0.5) > 0.49))
        optimizer.zero_grad()
        loss(h, cr.tensor(y)).backward()
        before = {name: [p.data.copy() for p in twin[int(name)].parameters()]
                  for name in ("0", "2")}
        optimizer.step()
        for name in ("0", "2"):
            params = list(twin[int(name)].parameters())
            grad = _norm([p.grad for p in params])
            weight = _norm(before[name])
            expected["grad"][name].append(grad)
            expected["ratio"][name].append(lr * grad / weight)  # SGD: Δθ = −η ∇θ J
            expected["exact"][name].append(
                _norm([p.data - b for p, b in zip(params, before[name])]) / weight)

    data = monitor.to_dict()
    assert data["epochs"] == [0, 1, 2, 3] and data["layers"] == ["0", "2"]
    assert data["kinds"] == {"0": "Linear", "1": "Sigmoid", "2": "Linear", "3": "Sigmoid"}
    for name in ("0", "2"):
        np.testing.assert_allclose(data["grad_norm"][name], expected["grad"][name], rtol=1e-5)
        np.testing.assert_allclose(data["update_ratio"][name], expected["exact"][name],
                                   rtol=1e-5)
        np.testing.assert_allclose(data["update_ratio"][name], expected["ratio"][name],
                                   rtol=1e-3)
    assert data["saturation"] == saturated
    assert data["dead_relu"] == {} and data["nonfinite"] is None


def test_dead_relu_units_are_counted():
    net = cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))
    net[0].bias.data[:] = [-100.0, -100.0, 5.0, 5.0]  # units 0 and 1 never fire
    net[0].weight.data[:] = 0.1
    x = np.random.default_rng(0).uniform(-1, 1, size=(32, 2)).astype(np.float32)
    monitor = GradientMonitor()
    cr.fit(net, (x, x[:, :1]), loss="mse", optimizer=cr.optim.SGD(net.parameters(), lr=0.01),
           epochs=2, batch_size=8, metrics=(), progress=False, callbacks=[monitor])
    assert monitor.to_dict()["dead_relu"] == {"1": [0.5, 0.5]}


def test_saturation_of_tanh():
    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
    net[0].weight.data[:] = 100.0
    net[0].bias.data[:] = 0.0
    x = np.array([[1, 1], [-1, -1], [0.5, 0], [0, 0]], np.float32)
    monitor = GradientMonitor()
    cr.fit(net, (x, np.zeros((4, 1), np.float32)), loss="mse",
           optimizer=cr.optim.SGD(net.parameters(), lr=0.0), epochs=1, batch_size=4,
           metrics=(), progress=False, callbacks=[monitor])
    assert monitor.to_dict()["saturation"] == {"1": [0.75]}  # all but the zero row


class _Log(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = cr.nn.Linear(3, 4), cr.nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(self.fc1(x).log())  # NaN wherever fc1's output is negative


class _Sqrt(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = cr.nn.Linear(3, 4), cr.nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2((self.fc1(x) * 0).sqrt())  # √0 = 0, but its derivative is infinite


def _nonfinite(model, x, lr=0.01, batch_size=8):
    monitor = GradientMonitor(verbose=False)
    cr.fit(model, (x, np.zeros((len(x), 1), np.float32)), loss="mse",
           optimizer=cr.optim.SGD(model.parameters(), lr=lr), epochs=2, batch_size=batch_size,
           shuffle=False, metrics=(), progress=False, callbacks=[monitor])
    return monitor.nonfinite


@pytest.fixture
def inputs():
    return np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)


def test_nan_in_the_data_is_traced_to_the_input(inputs):
    inputs[19, 1] = np.nan
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 1))
    finding = _nonfinite(net, inputs)
    assert (finding["epoch"], finding["batch"], finding["stage"]) == (0, 2, "input")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN is the point
def test_nan_in_the_forward_pass_names_the_op(inputs):
    finding = _nonfinite(_Log(), inputs)
    assert finding["stage"] == "forward" and finding["layer"] == "Log"
    assert (finding["epoch"], finding["batch"]) == (0, 0)
    assert "'Log'" in finding["message"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN is the point
def test_inf_in_the_backward_pass_names_the_op(inputs):
    finding = _nonfinite(_Sqrt(), inputs)
    assert finding["stage"] == "backward" and finding["layer"] == "Sqrt"
    assert finding["message"].startswith("backward: op 'Sqrt' (Sqrt) turned a finite gradient")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN is the point
def test_overflow_in_the_update_names_the_layer(inputs, capsys):
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 1))
    monitor = GradientMonitor()
    cr.fit(net, (inputs, np.ones((32, 1), np.float32)), loss="mse",
           optimizer=cr.optim.SGD(net.parameters(), lr=1e39), epochs=1, batch_size=8,
           shuffle=False, metrics=(), progress=False, callbacks=[monitor])
    finding = monitor.nonfinite
    assert (finding["batch"], finding["stage"], finding["layer"]) == (0, "update", "0")
    assert "GradientMonitor: epoch 1, batch 0: the optimizer step made a parameter of '0'" \
        in capsys.readouterr().out


def test_plot_state_and_errors(xor, tmp_path, monkeypatch):
    importorskip("matplotlib")  # the plots this test looks for
    model, x, y, loss = xor
    monitor = GradientMonitor()
    cr.fit(model, (x, y), loss=loss, optimizer="sgd", epochs=2, batch_size=4, metrics=(),
           progress=False, callbacks=[monitor])
    png = monitor.plot(tmp_path / "flow.png")
    assert png.startswith(b"\x89PNG") and (tmp_path / "flow.png").read_bytes() == png
    restored = GradientMonitor()
    restored.load_state_dict(monitor.state_dict())
    assert restored.to_dict() == monitor.to_dict()
    monkeypatch.setattr(plots, "available", lambda: False)
    assert monitor.plot(tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
    with pytest.raises(ValueError, match="GradientMonitor: saturation must be in"):
        GradientMonitor(saturation=0.7)
    assert cr.explain.GradientMonitor is GradientMonitor
    assert not model[0]._forward_hooks and not model._forward_pre_hooks  # removed at the end


def test_copies_of_the_model_share_the_hooks_not_the_monitor():
    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Linear(3, 1))
    monitor = GradientMonitor()
    monitor.set_context(model=net, train_data=object())
    monitor.on_train_begin()
    twin = copy.deepcopy(net)  # what explain's gradient check does between epochs
    for original, copied in ((net, twin), (net[1], twin[1])):
        hooks = list(original._forward_hooks.values())
        assert hooks and list(copied._forward_hooks.values()) == hooks
    monitor.on_train_end()
    assert not net._forward_hooks and not net[1]._forward_hooks
