"""Callbacks that end training: ``EarlyStopping`` (no more improvement) and ``TerminateOnNaN``."""

from __future__ import annotations

import math

import numpy as np

from .base import Callback
from .monitor import Monitor

__all__ = ["EarlyStopping", "TerminateOnNaN"]


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
        self._monitor = Monitor("EarlyStopping", monitor, mode, min_delta)
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
        counts = {name: state[name] for name in ("wait", "best_epoch", "stopped_epoch")}
        if not all(type(n) is int and n >= (0 if name == "wait" else -1)
                   for name, n in counts.items()):
            raise ValueError(f"EarlyStopping: wait >= 0 and epochs >= -1 must be ints, got "
                             f"{counts!r:.100}")
        weights = state["best_weights"]
        if weights is not None:
            own = self.model.state_dict()
            if not (isinstance(weights, dict) and set(weights) == set(own) and all(
                    isinstance(w, np.ndarray) and w.shape == own[k].shape
                    for k, w in weights.items())):
                raise ValueError("EarlyStopping: the best weights do not fit the model")
        self._monitor.best = None if state["best"] is None else float(state["best"])
        self.wait, self.best_epoch = counts["wait"], counts["best_epoch"]
        self.stopped_epoch = counts["stopped_epoch"]
        self.best_weights = None if weights is None else dict(weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite (checked after every batch)."""

    def on_batch_end(self, batch, logs=None):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch}: loss is {loss}; stopping training")
            self.model.stop_training = True
