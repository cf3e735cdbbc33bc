"""Each callback's behaviour inside cr.fit, and BackupAndRestore resuming in-process."""

import csv
import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.callbacks import (
    BackupAndRestore,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)

from .conftest import mlp


def _fit(model, data, **kwargs):
    options = {"loss": "cross_entropy", "epochs": 2, "progress": False, "shuffle": False}
    options.update(kwargs)
    if "optimizer" not in options:
        options["optimizer"] = cr.optim.SGD(model.parameters(), lr=0.1)
    return cr.fit(model, data, **options)


def _frozen_after(epochs: int) -> LearningRateScheduler:
    """lr 0.1 for the first ``epochs`` epochs, then 0: later epochs repeat the same loss."""
    return LearningRateScheduler(lambda epoch, lr: 0.1 if epoch < epochs else 0.0)


# ------------------------------------------------------------------ EarlyStopping
def test_early_stopping_counts_patience_like_keras(blobs):
    stop = EarlyStopping(monitor="loss", patience=2)
    history = _fit(mlp(), blobs[0], epochs=20, callbacks=[_frozen_after(2), stop])
    # epochs 0-2 improve (epoch 2 is the first with frozen weights), 3 and 4 repeat epoch 2
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][3] == history.history["loss"][2]
    assert (stop.best_epoch, stop.stopped_epoch, stop.wait) == (2, 4, 2)
    assert stop.best == history.history["loss"][2]


def test_early_stopping_min_delta_mode_and_best_weights():
    model = cr.nn.Linear(2, 1)
    stop = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.05,
                         restore_best_weights=True)
    stop.set_context(model=model)
    model.stop_training = False
    stop.on_train_begin()
    for epoch, value in enumerate([0.5, 0.8, 0.84, 0.7]):
        model.weight.data[...] = epoch
        stop.on_epoch_end(epoch, {"val_accuracy": value})
        if model.stop_training:
            break
    assert epoch == 2 and stop.best == 0.8  # +0.04 is within min_delta: no improvement
    stop.on_train_end()
    np.testing.assert_array_equal(model.weight.data, np.ones((1, 2), np.float32))


def test_early_stopping_names_a_missing_monitor(blobs):
    with pytest.raises(KeyError, match=re.escape(
            "EarlyStopping: monitor 'val_loss' is not among the logged values ['accuracy', "
            "'loss', 'lr']; pass validation_data to fit")):
        _fit(mlp(), blobs[0], callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="EarlyStopping: mode must be"):
        EarlyStopping(mode="best")


# ------------------------------------------------------------------ ModelCheckpoint
def test_model_checkpoint_saves_every_epoch_with_formatted_names(blobs, tmp_path):
    model = mlp()
    path = tmp_path / "ckpt" / "model-{epoch:02d}-{loss:.3f}.safetensors"
    history = _fit(model, blobs[0], epochs=3, callbacks=[ModelCheckpoint(path)])
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == [f"model-{e + 1:02d}-{loss:.3f}.safetensors"
                     for e, loss in enumerate(history.history["loss"])]
    loaded = cr.load_model(tmp_path / "ckpt" / names[-1])
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert np.array_equal(a, b), name


def test_model_checkpoint_best_only_keeps_the_best_weights(blobs, tmp_path):
    path = tmp_path / "best.safetensors"
    model = mlp()
    saved = []

    class Track(cr.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append({k: v.copy() for k, v in self.model.state_dict().items()})

    check = ModelCheckpoint(path, monitor="loss", save_best_only=True, save_weights_only=True)
    history = _fit(model, blobs[0], epochs=5, callbacks=[_frozen_after(1), Track(), check])
    best = int(np.argmin(history.history["loss"]))
    assert best == 1  # epoch 1 is the first with frozen weights; 2-4 only repeat it
    state = cr.load_state(path)
    for name, value in saved[best].items():
        assert np.array_equal(state[name], value), name


# ------------------------------------------------------------------ which way is better
def precision(y_true, y_pred):
    """Macro precision over the classes predicted at least once: higher is better."""
    counts = cr.metrics.confusion_matrix(y_true, y_pred, num_classes=y_pred.shape[-1])
    predicted = counts.sum(axis=0)
    return float(np.mean(np.diag(counts)[predicted > 0] / predicted[predicted > 0]))


precision.greater_is_better = True


def true_class_probability(y_true, y_pred):
    """The mean softmax probability of the true class: higher is better, and smooth."""
    p = cr.Tensor(y_pred).softmax(axis=-1).data
    return float(p[np.arange(len(y_true)), y_true].mean())


true_class_probability.greater_is_better = True


def _fit_tracked(blobs, callbacks, epochs=6, metrics=("accuracy", precision,
                                                       true_class_probability)):
    """Train with SGD at lr 0.01 (slow enough that the validation values move every epoch);
    returns the history and each epoch's weights."""
    cr.manual_seed(0)
    model = mlp()
    saved = []

    class Track(cr.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append({k: v.copy() for k, v in self.model.state_dict().items()})

    history = _fit(model, blobs[0], epochs=epochs, validation_data=blobs[1], metrics=metrics,
                   optimizer=cr.optim.SGD(model.parameters(), lr=0.01),
                   callbacks=[Track(), *callbacks])
    return history, saved


@pytest.mark.parametrize("monitor, best", [
    ("val_loss", np.argmin), ("loss", np.argmin), ("val_accuracy", np.argmax),
    ("val_precision", np.argmax), ("val_true_class_probability", np.argmax),
])
def test_model_checkpoint_keeps_the_best_model_as_its_metric_declares(blobs, tmp_path, monitor,
                                                                       best):
    path = tmp_path / "best.safetensors"
    check = ModelCheckpoint(path, monitor=monitor, save_best_only=True, save_weights_only=True)
    history, saved = _fit_tracked(blobs, [check])
    values = history.history[monitor]
    assert best(values) != (np.argmax if best is np.argmin else np.argmin)(values)  # can fail
    state = cr.load_state(path)
    for name, value in saved[int(best(values))].items():
        assert np.array_equal(state[name], value), name


def test_early_stopping_follows_a_metric_that_should_rise(blobs):
    stop = EarlyStopping(monitor="val_true_class_probability", patience=1)
    history, _ = _fit_tracked(blobs, [stop])
    assert np.all(np.diff(history.history["val_true_class_probability"]) > 0)
    assert history.epoch == [0, 1, 2, 3, 4, 5] and stop.best_epoch == 5
    stop = EarlyStopping(monitor="val_precision", patience=1, restore_best_weights=True)
    history, _ = _fit_tracked(blobs, [stop])
    assert stop.best_epoch == int(np.argmax(history.history["val_precision"])) > 0
    assert stop.best == max(history.history["val_precision"])


def test_a_metric_without_a_declared_direction_needs_a_mode(blobs):
    def f1(y_true, y_pred):
        return precision(y_true, y_pred)

    with pytest.raises(ValueError, match=re.escape(
            "EarlyStopping: cannot tell whether a higher or lower 'val_f1' is better: declare "
            "it on the metric (f1.greater_is_better = True) or pass mode='max' or mode='min'")):
        _fit_tracked(blobs, [EarlyStopping(monitor="val_f1")], metrics=[f1])
    with pytest.raises(ValueError, match=re.escape(
            "ModelCheckpoint: cannot tell whether a higher or lower 'val_acuracy' is better: it "
            "is neither the loss nor one of the metrics ['accuracy']; name a logged value, or "
            "pass mode='max' or mode='min'")):
        _fit_tracked(blobs, [ModelCheckpoint("unused", monitor="val_acuracy",
                                             save_best_only=True)], metrics=["acc"])
    stop = EarlyStopping(monitor="val_f1", mode="max", patience=1)
    history, _ = _fit_tracked(blobs, [stop], metrics=[f1])
    assert stop.best == max(history.history["val_f1"][:stop.best_epoch + 1])


def test_plateau_scheduler_must_agree_with_the_metric(blobs):
    model = mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    plateau = cr.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)  # mode="min"
    with pytest.raises(ValueError, match=re.escape(
            "LearningRateScheduler: ReduceLROnPlateau has mode='min' but a higher "
            "'val_accuracy' is better; build it with mode='max'")):
        _fit(model, blobs[0], optimizer=optimizer, validation_data=blobs[1],
             callbacks=[LearningRateScheduler(plateau, monitor="val_accuracy")])
    optimizer.param_groups[0]["lr"] = 0.01
    plateau = cr.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                      patience=0)
    history = _fit(model, blobs[0], optimizer=optimizer, validation_data=blobs[1], epochs=4,
                   metrics=[true_class_probability], callbacks=[
                       LearningRateScheduler(plateau, monitor="val_true_class_probability")])
    assert np.all(np.diff(history.history["val_true_class_probability"]) > 0)
    assert history.history["lr"] == [0.01] * 4  # a rising value is no plateau


# ------------------------------------------------------------------ learning rates
def test_learning_rate_function_schedule(blobs):
    history = _fit(mlp(), blobs[0], epochs=4, callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    with pytest.raises(ValueError, match="LearningRateScheduler: schedule returned lr=nan"):
        _fit(mlp(), blobs[0], callbacks=[LearningRateScheduler(lambda e, lr: math.nan)])


def test_fit_scheduler_steps_once_per_epoch(blobs):
    model = mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = _fit(model, blobs[0], epochs=5, optimizer=optimizer, scheduler=scheduler)
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_per_batch_scheduler(blobs):
    model = mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    scheduler = cr.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    history = _fit(model, blobs[0], epochs=2, batch_size=40, optimizer=optimizer,
                   callbacks=[LearningRateScheduler(scheduler, interval="batch")])
    assert history.history["lr"] == pytest.approx([0.1, 0.1 * 0.5 ** 3])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 6)


def test_plateau_scheduler_gets_the_monitored_value(blobs):
    model = mlp()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    plateau = cr.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    history = _fit(model, blobs[0], epochs=4, optimizer=optimizer, callbacks=[
        LearningRateScheduler(plateau, monitor="loss")])
    losses, lrs = history.history["loss"], history.history["lr"]
    for epoch in range(1, 4):  # halved after each epoch that did not improve on the best
        improved = losses[epoch - 1] < min(losses[:epoch - 1], default=math.inf)
        assert lrs[epoch] == pytest.approx(lrs[epoch - 1] * (1 if improved else 0.5))
    with pytest.raises(ValueError, match="needs interval='epoch'"):
        LearningRateScheduler(plateau, interval="batch")


# ------------------------------------------------------------------ CSVLogger, TerminateOnNaN
def test_csv_logger_writes_the_history(blobs, tmp_path):
    path = tmp_path / "logs" / "history.csv"
    history = _fit(mlp(), blobs[0], validation_data=blobs[1], epochs=3,
                   callbacks=[CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:]):
        assert int(row[0]) == epoch + 1  # counted as the progress display counts them
        assert [float(v) for v in row[1:]] == [history.history[k][epoch] for k in rows[0][1:]]


def test_terminate_on_nan_stops_at_the_first_bad_batch(blobs, capsys):
    calls = []

    def loss(pred, y):
        calls.append(1)
        value = cr.nn.functional.cross_entropy(pred, y)
        return value * math.nan if len(calls) == 3 else value

    history = _fit(mlp(), blobs[0], loss=loss, epochs=4, batch_size=10,
                   callbacks=[TerminateOnNaN()])
    assert len(calls) == 3 and history.epoch == [0]
    assert math.isnan(history.history["loss"][0])
    assert "TerminateOnNaN: batch 2: loss is nan; stopping training" in capsys.readouterr().out


# ------------------------------------------------------------------ BackupAndRestore
class _Crash(cr.callbacks.Callback):
    """Raises part-way through an epoch, as a killed process would stop."""

    def __init__(self, epoch: int, batch: int):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, batch, logs=None):
        if len(self.history.epoch) == self.epoch and batch == self.batch:
            raise KeyboardInterrupt


def _resumable_run(backup_path, crash=None):
    """Dropout (global generator), shuffling (loader generator), Adam state, a scheduler and
    EarlyStopping's counters all have to come back for the result to be bitwise the same."""
    x, y = np.random.default_rng(0).normal(size=(90, 4)).astype(np.float32), np.arange(90) % 3
    cr.manual_seed(7)
    model = mlp(dropout=0.3)
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    callbacks = [EarlyStopping("loss", patience=10, restore_best_weights=True),
                 BackupAndRestore(backup_path)]
    if crash is not None:
        callbacks.append(crash)
    history = cr.fit(model, (x, y), loss="cross_entropy", optimizer=optimizer, epochs=6,
                     batch_size=16, scheduler=scheduler, progress=False, callbacks=callbacks)
    return model, history, callbacks


def test_backup_and_restore_resumes_bitwise(tmp_path):
    reference, expected, _ = _resumable_run(tmp_path / "a.ckpt")
    backup = tmp_path / "b.ckpt"
    with pytest.raises(KeyboardInterrupt):
        _resumable_run(backup, _Crash(epoch=3, batch=2))
    assert backup.exists()
    model, history, callbacks = _resumable_run(backup)
    assert callbacks[1].restored_epoch == 3
    assert history.history == expected.history and history.epoch == expected.epoch
    for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
        assert np.array_equal(a, b), name
    assert not backup.exists()  # a finished run removes its backup


def test_backup_without_a_file_starts_afresh(tmp_path, blobs):
    backup = BackupAndRestore(tmp_path / "none.ckpt", delete_checkpoint=False)
    history = _fit(mlp(), blobs[0], epochs=2, callbacks=[backup])
    assert backup.restored_epoch is None and history.epoch == [0, 1]
    assert (tmp_path / "none.ckpt").exists()
    # the same call again finds the finished run and trains no further
    again = _fit(mlp(), blobs[0], epochs=2, callbacks=[backup])
    assert backup.restored_epoch == 2 and again.history == history.history
