"""``LearningRateScheduler``: the one way ``fit`` changes the learning rate during training.

``fit(scheduler=s)`` is this callback (``callbacks=[LearningRateScheduler(s)]``); the scheduler's
state is the callback's state, so ``BackupAndRestore`` resumes it with the other callbacks.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from .base import Callback
from .monitor import Monitor, direction

__all__ = ["LearningRateScheduler"]


class LearningRateScheduler(Callback):
    """Change the learning rate during training.

    ``schedule`` is either a function ``schedule(epoch, lr) -> new_lr`` (Keras), applied at the
    start of every epoch to every parameter group, or a scheduler from ``cr.optim.lr_scheduler``,
    stepped after every epoch (``interval='epoch'``) or every batch (``interval='batch'``, for
    warm-up and one-cycle schedules). A scheduler whose ``step`` takes a value
    (``ReduceLROnPlateau``) receives the logged ``monitor`` at the end of each epoch; its
    ``mode`` must be the way the monitored metric declares better.

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
        self._monitor = Monitor("LearningRateScheduler", monitor, "auto")
        self.takes_value = self.is_scheduler and _step_takes_value(schedule.step)
        if self.takes_value and interval == "batch":
            raise ValueError("LearningRateScheduler: a scheduler stepped on a monitored value "
                             "(ReduceLROnPlateau) needs interval='epoch'")
        if self.is_scheduler and interval == "batch":
            # registers the per-batch hook only when used
            self.on_batch_end = self._step_batch  # type: ignore[method-assign]

    def on_train_begin(self, logs=None):
        # A plateau scheduler has a direction of its own (mode='min' by default): it must be
        # the one the monitored metric declares, or it would cut the rate while training improves.
        own = getattr(self.schedule, "mode", None) if self.takes_value else None
        declared = direction(self._monitor.monitor, self.metrics or {})
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

    def state_dict(self):
        return {"schedule": self.schedule.state_dict()} if self.is_scheduler else {}

    def load_state_dict(self, state):
        if self.is_scheduler:
            self.schedule.load_state_dict(state["schedule"])


def _step_takes_value(step: Callable) -> bool:
    """Whether ``step`` has a required argument (ReduceLROnPlateau's ``step(metrics)``)."""
    for parameter in inspect.signature(step).parameters.values():
        if parameter.default is inspect.Parameter.empty and parameter.kind in (
                inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            return True
    return False


def _set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
