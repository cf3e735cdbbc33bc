"""Keras-style callbacks: code that ``cr.fit`` runs at fixed points of training.

Hooks, in order: ``on_train_begin`` → per epoch ``on_epoch_begin``, ``on_batch_end`` after each
batch, ``on_epoch_end`` → ``on_train_end``. Epoch logs hold ``loss``, the metrics, their
``val_`` versions and ``lr``; batch logs hold the running averages so far in the epoch. Setting
``self.model.stop_training = True`` ends training after the current batch.

Before training, ``fit`` gives every callback the run it belongs to (``set_context``):
``self.model``, ``self.optimizer``, ``self.scheduler``, ``self.train_data``, ``self.history``,
``self.params`` and ``self.callbacks`` (all of the run's callbacks). Only callbacks that override
``on_batch_end`` are called per batch, so the others cost nothing inside the loop.

A callback whose decisions depend on what it has seen (``EarlyStopping``'s patience count)
returns that in ``state_dict()``, so ``BackupAndRestore`` can resume it exactly.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from collections.abc import Callable, Mapping

import numpy as np

from .metrics import get as get_metric
from .metrics import greater_is_better

__all__ = [
    "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "CSVLogger",
    "TerminateOnNaN", "BackupAndRestore",
]


class Callback:
    """Base class: override the hooks you need; each gets the logs described above."""

    model = optimizer = scheduler = train_data = history = params = None
    callbacks: tuple | list = ()
    metrics: Mapping[str, Callable] | None = None  # the run's metric functions by logged name

    def set_context(self, **context) -> None:
        """Receive the run's objects (``model``, ``optimizer``, …) from ``fit``."""
        for name, value in context.items():
            setattr(self, name, value)

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def state_dict(self) -> dict:
        """What must survive a restart: dicts, lists, strings, numbers and NumPy arrays."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _runs_per_batch(callback: Callback) -> bool:
    """Whether ``on_batch_end`` does anything (overridden in the class or on the instance)."""
    return getattr(callback.on_batch_end, "__func__", None) is not Callback.on_batch_end


def _set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _direction(monitor: str, metrics: Mapping[str, Callable]) -> str | None:
    """``'min'`` or ``'max'`` for a logged name, as its metric declares; None when unknown.

    A loss is minimised; ``val_<name>`` goes the way ``<name>`` does. The run's metrics are
    found by their logged name, and chainrule's own metrics also by theirs (``'acc'``)."""
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "min"
    metric = metrics.get(name)
    if metric is None:
        try:
            metric = get_metric(name)
        except ValueError:
            return None
    better = greater_is_better(metric)
    return None if better is None else ("max" if better else "min")


class _Monitor:
    """Tracks the best value of one logged quantity, with a ``min_delta`` margin.

    Which way is better comes from ``mode``, or with ``mode='auto'`` from what the metric
    declares (``resolve``, called when training begins, when the run's metrics are known)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.owner, self.monitor, self.min_delta = owner, monitor, abs(min_delta)
        self.auto = mode == "auto"
        self.mode: str | None = None if self.auto else mode
        self.best: float | None = None

    def resolve(self, metrics: Mapping[str, Callable] | None) -> None:
        """Decide the direction of ``mode='auto'`` from the run's metrics (name -> function)."""
        if not self.auto:
            return
        metrics = metrics or {}
        self.mode = _direction(self.monitor, metrics)
        if self.mode is not None:
            return
        name = self.monitor.removeprefix("val_")
        if name in metrics:
            problem = f"declare it on the metric ({name}.greater_is_better = True)"
        else:
            problem = (f"it is neither the loss nor one of the metrics {sorted(metrics)}; "
                       "name a logged value,")
        raise ValueError(f"{self.owner}: cannot tell whether a higher or lower "
                         f"{self.monitor!r} is better: {problem} or pass mode='max' or "
                         "mode='min'")

    def reset(self) -> None:
        """Forget the best value: the next one seen is an improvement."""
        self.best = None

    def value(self, logs: dict) -> float:
        if self.monitor not in logs:
            hint = "; pass validation_data to fit" if self.monitor.startswith("val_") else ""
            raise KeyError(
                f"{self.owner}: monitor {self.monitor!r} is not among the logged values "
                f"{sorted(logs)}{hint}"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if self.mode is None:
            raise RuntimeError(f"{self.owner}: call on_train_begin first (it decides whether "
                               f"a higher or lower {self.monitor!r} is better)")
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: logged quantity to watch (``'val_loss'``, ``'val_accuracy'``, ``'loss'``…).
        patience: stop after this many epochs in a row without improvement (0: at the first).
        min_delta: an improvement must exceed this margin to count.
        mode: ``'min'``, ``'max'`` or ``'auto'``: the way the metric declares better
            (``greater_is_better``; a loss is minimised).
        restore_best_weights: at the end of training, copy back the weights of the best epoch.

    Example:
        >>> import chainrule as cr
        >>> stop = cr.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.best_epoch = -1
        self.stopped_epoch = -1
        self.best_weights: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> float | None:
        """The best value seen so far (None before the first)."""
        return self._monitor.best

    def on_train_begin(self, logs=None):
        self._monitor.resolve(self.metrics)
        self._monitor.reset()
        self.wait, self.best_epoch, self.stopped_epoch, self.best_weights = 0, -1, -1, None

    def on_epoch_end(self, epoch, logs=None):
        value = self._monitor.value(logs)
        if self._monitor.improved(value):
            self._monitor.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras' count: patience=0 stops at the first miss
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self._monitor.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self._monitor.best = None if state["best"] is None else float(state["best"])
        self.wait, self.best_epoch = int(state["wait"]), int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else dict(weights)


class ModelCheckpoint(Callback):
    """Save the model with ``cr.save`` after every epoch, or only when ``monitor`` improves.

    Args:
        path: file to write; may contain ``{epoch}`` (1-based) and logged names, e.g.
            ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.safetensors"``.
        monitor: quantity compared when ``save_best_only``.
        save_best_only: write only when ``monitor`` improves on the best so far.
        mode: ``'min'``, ``'max'`` or ``'auto'`` (the way the metric declares better).
        save_weights_only: write the state dict (``cr.save_state``) instead of the model with
            its architecture (``cr.save``), for models built from custom classes.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto",
                 save_weights_only: bool = False):
        self.path = os.fspath(path)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.last_saved: str | None = None

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            self._monitor.resolve(self.metrics)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._monitor.value(logs)
            if not self._monitor.improved(value):
                return
            self._monitor.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        from .. import io  # saving needs the io module only here

        if self.save_weights_only:
            io.save_state(self.model, path)
        else:
            io.save(self.model, path)
        self.last_saved = path

    def state_dict(self):
        return {"best": self._monitor.best}

    def load_state_dict(self, state):
        self._monitor.best = None if state["best"] is None else float(state["best"])


class LearningRateScheduler(Callback):
    """Change the learning rate during training.

    ``schedule`` is either a function ``schedule(epoch, lr) -> new_lr`` (Keras), applied at the
    start of every epoch to every parameter group, or a scheduler from ``cr.optim.lr_scheduler``,
    stepped after every epoch (``interval='epoch'``) or every batch (``interval='batch'``, for
    warm-up and one-cycle schedules). A scheduler whose ``step`` takes a value
    (``ReduceLROnPlateau``) receives the logged ``monitor`` at the end of each epoch.

    Example:
        >>> import chainrule as cr
        >>> halve = cr.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    """

    def __init__(self, schedule, *, interval: str = "epoch", monitor: str = "val_loss"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'batch', "
                             f"got {interval!r}")
        self.is_scheduler = hasattr(schedule, "step")
        if not self.is_scheduler and not callable(schedule):
            raise TypeError("LearningRateScheduler: schedule must be a function (epoch, lr) -> lr "
                            f"or a scheduler with step(), got {type(schedule).__name__}")
        self.schedule, self.interval = schedule, interval
        self._monitor = _Monitor("LearningRateScheduler", monitor, "auto")
        self.takes_value = self.is_scheduler and _step_takes_value(schedule.step)
        if self.takes_value and interval == "batch":
            raise ValueError("LearningRateScheduler: a scheduler stepped on a monitored value "
                             "(ReduceLROnPlateau) needs interval='epoch'")
        if self.is_scheduler and interval == "batch":
            self.on_batch_end = self._step_batch  # registers the per-batch hook only when used

    def set_context(self, **context):
        super().set_context(**context)
        if self.is_scheduler:
            self.scheduler = self.schedule

    def on_train_begin(self, logs=None):
        # A plateau scheduler has a direction of its own (mode='min' by default): it must be
        # the one the monitored metric declares, or it would cut the rate while training improves.
        own = getattr(self.schedule, "mode", None) if self.takes_value else None
        declared = _direction(self._monitor.monitor, self.metrics or {})
        if own in ("min", "max") and declared is not None and own != declared:
            higher = "higher" if declared == "max" else "lower"
            raise ValueError(f"LearningRateScheduler: {type(self.schedule).__name__} has "
                             f"mode={own!r} but a {higher} {self._monitor.monitor!r} is better; "
                             f"build it with mode={declared!r}")

    def on_epoch_begin(self, epoch, logs=None):
        if not self.is_scheduler:
            lr = float(self.schedule(epoch, float(self.optimizer.param_groups[0]["lr"])))
            if not math.isfinite(lr) or lr < 0:
                raise ValueError(f"LearningRateScheduler: schedule returned lr={lr} at epoch "
                                 f"{epoch}; expected a finite value >= 0")
            _set_lr(self.optimizer, lr)

    def _step_batch(self, batch, logs=None):
        self.schedule.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.is_scheduler and self.interval == "epoch":
            if self.takes_value:
                self.schedule.step(self._monitor.value(logs))
            else:
                self.schedule.step()


def _step_takes_value(step: Callable) -> bool:
    """Whether ``step`` has a required argument (ReduceLROnPlateau's ``step(metrics)``)."""
    for parameter in inspect.signature(step).parameters.values():
        if parameter.default is inspect.Parameter.empty and parameter.kind in (
                inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            return True
    return False


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then every logged value.

    The file is rewritten from the run's ``History`` when training starts logging, so a resumed
    run (``BackupAndRestore``) holds every epoch once; later rows are appended and flushed as
    each epoch ends.
    """

    def __init__(self, path: str | os.PathLike, separator: str = ","):
        self.path, self.separator = os.fspath(path), separator
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        self._file = self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self._file is None:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._file = open(self.path, "w", newline="")  # noqa: SIM115 - open across epochs
            self._writer = csv.writer(self._file, delimiter=self.separator)
            keys = list(self.history.history)
            self._writer.writerow(["epoch", *keys])
            for row, past in enumerate(self.history.epoch):
                self._writer.writerow([past, *(self.history.history[k][row] for k in keys)])
        else:
            self._writer.writerow([epoch, *(logs.get(k, "") for k in self.history.history)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite (checked after every batch)."""

    def on_batch_end(self, batch, logs=None):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch}: loss is {loss}; stopping training")
            self.model.stop_training = True


class BackupAndRestore(Callback):
    """Resume an interrupted run where it stopped, with bitwise the same result.

    After every epoch this writes one checkpoint (atomically: a crash while writing leaves the
    previous one) holding the model, the optimizer's state, the scheduler, the global random
    state, the training ``DataLoader``'s shuffling generator, the ``History`` and the other
    callbacks' ``state_dict()``. When ``fit`` starts and the file exists, all of it is restored
    and training continues with the next epoch, so re-running the same script after a crash
    gives the same final weights as a run that was never interrupted. A finished run deletes the
    backup (``delete_checkpoint``), so the next run starts afresh.

    An epoch interrupted part-way is trained again from its start.

    Args:
        path: checkpoint file, e.g. ``"run/backup.ckpt"``.
        delete_checkpoint: delete the file when training ends normally.

    Example:
        >>> import chainrule as cr
        >>> backup = cr.callbacks.BackupAndRestore("run/backup.ckpt")
        >>> # cr.fit(model, (x, y), loss="cross_entropy", optimizer="adam", epochs=20,
        >>> #        callbacks=[backup])  # re-run the same line after a crash to resume
    """

    def __init__(self, path: str | os.PathLike, delete_checkpoint: bool = True):
        self.path = os.fspath(path)
        self.delete_checkpoint = delete_checkpoint
        self.restored_epoch: int | None = None

    def _others(self) -> list[Callback]:
        return [c for c in self.callbacks if c is not self]

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        if not os.path.exists(self.path):
            return
        from ..io import load_checkpoint

        info = load_checkpoint(self.path, model=self.model, optimizer=self.optimizer,
                               scheduler=self.scheduler)
        extra = info["extra"]
        self.history.load_state_dict(extra["history"])
        if extra.get("loader") is not None:
            self.train_data.load_state_dict(extra["loader"])
        for callback, state in zip(self._others(), extra["callbacks"]):
            callback.load_state_dict(state)
        self.model.stop_training = bool(extra.get("stop_training", False))
        self.restored_epoch = int(info["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        from ..io import save_checkpoint

        loader_state = getattr(self.train_data, "state_dict", None)
        extra = {
            "history": self.history.state_dict(),
            "loader": loader_state() if loader_state is not None else None,
            "callbacks": [c.state_dict() for c in self._others()],
            "stop_training": bool(getattr(self.model, "stop_training", False)),
        }
        save_checkpoint(self.path, model=self.model, optimizer=self.optimizer,
                        scheduler=self.scheduler, epoch=epoch + 1, extra=extra)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
