"""Callbacks that write files: ``ModelCheckpoint`` (the model, every epoch or the best) and
``BackupAndRestore`` (the whole run, to resume it after a crash), both through ``chainrule.io``."""

from __future__ import annotations

import os

from ...io import load_checkpoint, save, save_checkpoint, save_state
from .base import Callback
from .monitor import Monitor

__all__ = ["ModelCheckpoint", "BackupAndRestore"]


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
        self._monitor = Monitor("ModelCheckpoint", monitor, mode)
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
        if self.save_weights_only:
            save_state(self.model, path)
        else:
            save(self.model, path)
        self.last_saved = path

    def state_dict(self):
        return {"best": self._monitor.best}

    def load_state_dict(self, state):
        self._monitor.best = None if state["best"] is None else float(state["best"])


class BackupAndRestore(Callback):
    """Resume an interrupted run where it stopped, with bitwise the same result.

    After every epoch this writes one checkpoint (atomically: a crash while writing leaves the
    previous one) holding the model, the optimizer's state, the global random state, the
    training ``DataLoader``'s shuffling generator, the ``History`` and the other callbacks'
    ``state_dict()`` (a learning-rate scheduler's among them). When ``fit`` starts and the
    file exists, all of it is restored and training continues with the next epoch, so
    re-running the same script after a crash gives the same final weights as a run that was
    never interrupted. A finished run deletes the backup (``delete_checkpoint``), so the next
    run starts afresh.

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

    runs_last = True  # restores the others after they reset, saves them after they update

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
        info = load_checkpoint(self.path, model=self.model, optimizer=self.optimizer)
        extra = info["extra"]
        self.history.load_state_dict(extra["history"])
        if extra.get("loader") is not None:
            self.train_data.load_state_dict(extra["loader"])
        for callback, state in zip(self._others(), extra["callbacks"]):
            callback.load_state_dict(state)
        self.model.stop_training = bool(extra.get("stop_training", False))
        self.restored_epoch = int(info["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        loader_state = getattr(self.train_data, "state_dict", None)
        extra = {
            "history": self.history.state_dict(),
            "loader": loader_state() if loader_state is not None else None,
            "callbacks": [c.state_dict() for c in self._others()],
            "stop_training": bool(getattr(self.model, "stop_training", False)),
        }
        save_checkpoint(self.path, model=self.model, optimizer=self.optimizer, epoch=epoch + 1,
                        extra=extra)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
