"""Keras-style callbacks: code that ``cr.fit`` runs at fixed points of training.

Hooks, in order: ``on_train_begin`` → per epoch ``on_epoch_begin``, ``on_batch_end`` after each
batch, ``on_epoch_end`` → ``on_train_end``. Epoch logs hold ``loss``, the metrics, their
``val_`` versions and ``lr``; batch logs hold the running averages so far in the epoch. Setting
``self.model.stop_training = True`` ends training after the current batch.

Before training, ``fit`` gives every callback the run it belongs to (``set_context``):
``self.model``, ``self.optimizer``, ``self.train_data``, ``self.history``, ``self.params``,
``self.metrics`` (the run's metric functions by logged name) and ``self.callbacks`` (all of the
run's callbacks). Only callbacks that override ``on_batch_end`` are called per batch, so the
others cost nothing inside the loop.

Callbacks that keep the best model or stop early ask the monitored metric which way is better
(its ``greater_is_better``; a loss is minimised) instead of guessing from its name.

A callback whose decisions depend on what it has seen (``EarlyStopping``'s patience count, a
learning-rate scheduler's step count) returns that in ``state_dict()``, so ``BackupAndRestore``
can resume it exactly.
"""

from .base import Callback, CallbackList
from .csv_logger import CSVLogger
from .saving import BackupAndRestore, ModelCheckpoint
from .schedule import LearningRateScheduler
from .stopping import EarlyStopping, TerminateOnNaN

__all__ = [
    "Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
    "CSVLogger", "TerminateOnNaN", "BackupAndRestore",
]
