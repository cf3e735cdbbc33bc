"""cr.fit, cr.evaluate and cr.predict: the loop's arithmetic, History, output, inputs, errors."""

import io
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader
from chainrule.train.progress import LineLogger, ProgressBar, progress_callback

from .conftest import mlp


def _fit(model, data, **kwargs):
    options = {"loss": "cross_entropy", "epochs": 2, "progress": False}
    options.update(kwargs)
    if "optimizer" not in options:
        options["optimizer"] = cr.optim.SGD(model.parameters(), lr=0.1)
    return cr.fit(model, data, **options)


def test_fit_is_the_hand_written_loop(blobs):
    (x, y), _ = blobs
    cr.manual_seed(3)
    model = mlp()
    cr.manual_seed(3)
    reference = mlp()
    history = _fit(model, (x, y), batch_size=32, shuffle=False, epochs=2)

    optimizer = cr.optim.SGD(reference.parameters(), lr=0.1)
    epoch_losses = []
    for _ in range(2):
        total = 0.0
        for xb, yb in DataLoader((x, y), batch_size=32):
            loss = cr.nn.functional.cross_entropy(reference(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        epoch_losses.append(total / len(y))
    for (name, a), b in zip(model.named_parameters(), reference.parameters()):
        assert np.array_equal(a.data, b.data), name
    assert history.history["loss"] == pytest.approx(epoch_losses, rel=1e-12)


def test_history_holds_one_value_per_epoch(blobs):
    train, val = blobs
    model = mlp()
    history = _fit(model, train, validation_data=val, epochs=3, metrics=["accuracy", "top5"])
    assert list(history.history) == ["loss", "accuracy", "top_k_accuracy", "val_loss",
                                     "val_accuracy", "val_top_k_accuracy", "lr"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert history.params == {"epochs": 3, "steps": 4}
    assert history.history["lr"] == [pytest.approx(0.1)] * 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    # validation runs after the epoch's last step, on the weights fit returns
    final = cr.evaluate(model, val, loss="cross_entropy", metrics=["accuracy", "top5"])
    assert history.history["val_loss"][-1] == final["loss"]
    assert history.history["val_accuracy"][-1] == final["accuracy"] > 0.9
    assert history.history["val_top_k_accuracy"][-1] == 1.0


def test_digits_mlp_reaches_the_bar(digits):
    # SGD with momentum, a cosine schedule and label smoothing: 0.978-0.983 over seeds 0-3
    (x_train, y_train), (x_test, y_test) = digits
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = cr.fit(model, (x_train, y_train), epochs=20, progress=False,
                     loss=cr.nn.CrossEntropyLoss(label_smoothing=0.1), optimizer=optimizer,
                     scheduler=cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=20))
    result = cr.evaluate(model, (x_test, y_test), loss="cross_entropy")
    assert history.history["accuracy"][-1] > 0.99
    assert history.history["lr"][-1] < 0.001
    assert result["accuracy"] >= 0.975, result


def test_progress_lines_when_not_a_terminal(blobs, capsys):
    train, val = blobs
    _fit(mlp(), train, validation_data=val, epochs=2, progress=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    pattern = (r"Epoch {}/2 - \d+\.\d\ds - loss: \d\.\d{{4}} - accuracy: \d\.\d{{4}} - "
               r"val_loss: \d\.\d{{4}} - val_accuracy: \d\.\d{{4}} - lr: 0\.1$")
    for epoch, line in enumerate(lines, 1):
        assert re.match(pattern.format(epoch), line), line


def test_progress_false_prints_nothing(blobs, capsys):
    _fit(mlp(), blobs[0], progress=False)
    assert capsys.readouterr().out == ""


def test_progress_bar_shows_batches_and_values(blobs):
    stream = io.StringIO()
    _fit(mlp(), blobs[0], epochs=2, batch_size=30, callbacks=[ProgressBar(file=stream)])
    text = stream.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "/4 " in text
    assert re.search(r"Epoch 2/2  \d\.\d\ds  loss \d\.\d{4}  acc \d\.\d{4}\n", text)


def _bar_lines(blobs, monkeypatch, columns: str, metrics="auto") -> list[str]:
    """What the bar leaves in a terminal of ``columns`` (carriage returns resolved)."""
    monkeypatch.setenv("COLUMNS", columns)
    stream = io.StringIO()
    x, y = blobs[0]
    _fit(mlp(), (x, y), epochs=3, batch_size=30, validation_data=(x[:40], y[:40]),
         metrics=metrics, callbacks=[ProgressBar(file=stream)])
    return [line.rsplit("\r", 1)[-1] for line in stream.getvalue().split("\n")[:-1]]


def test_progress_bar_keeps_validation_values_visible_at_80_columns(blobs, monkeypatch):
    lines = _bar_lines(blobs, monkeypatch, "80")
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines), lines
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(rf"Epoch {epoch}/3  \d\.\d\ds  loss \d\.\d{{4}}  acc \d\.\d{{4}}  "
                            r"val_loss \d\.\d{4}  val_acc \d\.\d{4}", line), line


def test_progress_bar_wraps_what_does_not_fit(blobs, monkeypatch):
    lines = _bar_lines(blobs, monkeypatch, "80", metrics=["accuracy", "top_k_accuracy"])
    assert len(lines) == 6 and all(len(line) <= 80 for line in lines), lines
    assert lines[1].startswith("    ") and "val_top_k" in lines[1]


def test_progress_bar_on_a_terminal_of_no_width_prints_no_blank_lines(blobs, monkeypatch):
    lines = _bar_lines(blobs, monkeypatch, "0")
    assert len(lines) == 3 and all(line.startswith("Epoch ") for line in lines), lines
    assert all("val_acc" in line and len(line) <= 80 for line in lines)


def test_progress_picks_a_bar_only_for_terminals():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_callback(True, Terminal()), ProgressBar)
    assert isinstance(progress_callback(True, io.StringIO()), LineLogger)
    assert isinstance(progress_callback("lines", Terminal()), LineLogger)
    assert isinstance(progress_callback("bar", io.StringIO()), ProgressBar)
    assert progress_callback(False) is None


def test_progress_rejects_unknown_modes(blobs):
    with pytest.raises(ValueError, match="fit: progress must be True, False, 'bar' or 'lines'"):
        _fit(mlp(), blobs[0], progress="fancy")


def test_evaluate_equals_one_full_batch(blobs):
    _, (x, y) = blobs
    model = mlp(dropout=0.5)
    model.train()
    result = cr.evaluate(model, (x, y), loss="cross_entropy", batch_size=7)
    assert model.training  # its mode comes back
    model.eval()
    with cr.no_grad():
        logits = model(cr.tensor(x))
        expected_loss = cr.nn.functional.cross_entropy(logits, y).item()
    assert result == {"loss": pytest.approx(expected_loss, rel=1e-5),
                      "accuracy": cr.metrics.accuracy(y, logits.data)}
    assert not model.training
    assert cr.evaluate(model, (x, y)) == {"accuracy": result["accuracy"]}


def test_predict_in_eval_mode_without_a_graph(blobs):
    _, (x, _) = blobs
    model = mlp(dropout=0.5)
    out = cr.predict(model, x, batch_size=7)
    assert isinstance(out, np.ndarray) and out.shape == (30, 3) and out.dtype == np.float32
    assert model.training and all(p.grad is None for p in model.parameters())
    model.eval()
    with cr.no_grad():
        np.testing.assert_allclose(out, model(cr.tensor(x)).data, rtol=1e-6)
    np.testing.assert_array_equal(cr.predict(model, x.tolist(), batch_size=7), out)
    np.testing.assert_array_equal(cr.predict(model, DataLoader((x,), batch_size=7)), out)


def test_eval_mode_restores_the_mode_also_after_an_error():
    model = mlp(dropout=0.5)
    for before in (True, False):
        model.train(before)
        with pytest.raises(RuntimeError, match="inside"), cr.train.eval_mode(model):
            assert not model.training and not cr.is_grad_enabled()
            raise RuntimeError("inside")
        assert model.training is before and cr.is_grad_enabled()


def test_fit_scheduler_is_a_learning_rate_scheduler_callback(blobs):
    """fit(scheduler=s) and callbacks=[LearningRateScheduler(s)] are one path: the same run."""
    histories = []
    for by_argument in (True, False):
        cr.manual_seed(0)
        model = mlp()
        optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
        scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        options = ({"scheduler": scheduler} if by_argument else
                   {"callbacks": [cr.callbacks.LearningRateScheduler(scheduler)]})
        histories.append(_fit(model, blobs[0], epochs=3, shuffle=False, optimizer=optimizer,
                              **options).history)
    assert histories[0] == histories[1]
    assert histories[0]["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_regression_with_mse_and_regression_metrics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.1).astype(np.float32)
    model = cr.nn.Sequential(cr.nn.Linear(3, 1))
    history = cr.fit(model, (x[:150], y[:150]), loss="mse", epochs=30, progress=False,
                     optimizer=cr.optim.SGD(model.parameters(), lr=0.05), metrics=["mae", "r2"],
                     validation_data=(x[150:], y[150:]))
    assert set(history.history) >= {"mean_absolute_error", "r2_score", "val_r2_score"}
    pred = cr.predict(model, x[150:])
    assert history.history["val_r2_score"][-1] == pytest.approx(
        cr.metrics.r2_score(y[150:], pred), rel=1e-9)
    assert history.history["val_r2_score"][-1] > 0.999
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_optimizer_by_name_and_loader_input(blobs):
    (x, y), _ = blobs
    seen = []

    class Spy(cr.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.optimizer)

    model = mlp()
    before = [p.data.copy() for p in model.parameters()]
    loader = DataLoader((x, y), batch_size=16, shuffle=True, seed=1)
    history = cr.fit(model, loader, loss=cr.nn.CrossEntropyLoss(), optimizer="adam", epochs=1,
                     progress=False, callbacks=[Spy()])
    assert isinstance(seen[0], cr.optim.Adam)
    assert seen[0].param_groups[0]["params"] == list(model.parameters())
    assert history.params["steps"] == 8
    assert all(not np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))


def test_any_iterable_of_batches_is_training_data(blobs):
    (x, y), _ = blobs
    batches = [(x[i:i + 40], y[i:i + 40]) for i in range(0, 120, 40)]
    history = _fit(mlp(), batches, epochs=2)
    assert len(history.history["loss"]) == 2 and history.params["steps"] == 3


def test_training_mode_during_fit_and_previous_mode_after(blobs):
    modes = []

    class Mode(cr.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            modes.append(self.model.training)

    model = mlp(dropout=0.2).eval()
    _fit(model, blobs[0], validation_data=blobs[1], epochs=2, callbacks=[Mode()])
    assert modes and all(modes)
    assert not model.training


def test_stop_training_ends_after_the_current_batch(blobs):
    class StopAtThird(cr.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            self.batches = batch + 1
            if batch == 2:
                self.model.stop_training = True

    stop = StopAtThird()
    history = _fit(mlp(), blobs[0], epochs=5, batch_size=10, callbacks=[stop])
    assert stop.batches == 3 and history.epoch == [0]


def test_bad_labels_get_a_clear_error(blobs):
    (x, y), _ = blobs
    with pytest.raises(ValueError, match=re.escape(
            "fit: the loss failed on the model's output of shape (32, 3) (float32) and targets "
            "of shape (32,) (float32)") + ".*y.astype\\('int64'\\)"):
        _fit(mlp(), (x, y.astype(np.float32)))


def test_mismatched_x_and_y_get_a_clear_error(blobs):
    (x, y), _ = blobs
    with pytest.raises(ValueError, match=re.escape(
            "fit: train_data x has shape (120, 4) and y has shape (100,); they need the same "
            "number of samples")):
        _fit(mlp(), (x, y[:100]))
    with pytest.raises(ValueError, match="fit: validation_data x has shape"):
        _fit(mlp(), (x, y), validation_data=(x[:5], y[:4]))
    with pytest.raises(ValueError, match=re.escape("evaluate: data x has shape (120, 4)")):
        cr.evaluate(mlp(), (x, y[:3]))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"epochs": -1}, ValueError, "fit: epochs must be an int >= 0, got -1"),
    ({"metrics": ["f1"]}, ValueError, "unknown metric 'f1'"),
    ({"loss": 3}, TypeError, "fit: loss must be a callable or a name"),
    ({"loss": "hinge"}, ValueError, "hinge"),
    ({"optimizer": 0.1}, TypeError, "fit: optimizer must be an Optimizer or a name"),
    ({"callbacks": [print]}, TypeError, "fit: callbacks must be Callback objects"),
    ({"metrics": ["confusion_matrix"]}, ValueError, "confusion_matrix is not a scalar metric"),
])
def test_bad_arguments_fail_before_training(blobs, kwargs, error, message):
    model = mlp()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(error, match=re.escape(message)):
        _fit(model, blobs[0], **kwargs)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))


def test_data_that_is_not_pairs_is_rejected(blobs):
    (x, y), _ = blobs
    with pytest.raises(TypeError, match=r"fit: train_data must be a pair \(x, y\) or a "
                                        r"DataLoader, got a single array"):
        _fit(mlp(), x)
    with pytest.raises(ValueError, match=r"fit: each batch must be a pair \(x, y\), got a "
                                         r"1-tuple"):
        _fit(mlp(), DataLoader((x,), batch_size=8))
    with pytest.raises(TypeError, match="fit: model must be a chainrule Module"):
        cr.fit(lambda t: t, (x, y), loss="mse", optimizer="sgd", epochs=1)


def test_a_hand_made_optimizer_works_without_an_lr_log(blobs):
    class HalfStep:
        def __init__(self, params):
            self.params = list(params)

        def zero_grad(self):
            for p in self.params:
                p.grad = None

        def step(self):
            for p in self.params:
                p.data -= 0.05 * p.grad

    model = mlp()
    history = _fit(model, blobs[0], optimizer=HalfStep(model.parameters()), epochs=3)
    assert list(history.history) == ["loss", "accuracy"]
    assert history.history["loss"][2] < history.history["loss"][0]
