"""Callbacks that write files: ``ModelCheckpoint`` (the model, every epoch or the best) and
``BackupAndRestore`` (the whole run, to resume it after a crash), both through ``chainrule.io``."""

from __future__ import annotations

import os

from ...io import LoadError, load_checkpoint, save, save_checkpoint, save_state
from .base import Callback
from .monitor import Monitor

__all__ = ["ModelCheckpoint", "BackupAndRestore"]

_EXTRA = ("history", "loader", "callbacks", "stop_training")  # a backup's extra state


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
        extra, others = info["extra"], self._others()
        if not (isinstance(extra, dict) and set(extra) == set(_EXTRA)
                and isinstance(extra["callbacks"], list)
                and isinstance(extra["stop_training"], bool)):
            raise LoadError(
                f"{self.path}: the backup's extra state is not {{{', '.join(_EXTRA)}}} with a "
                "list of callback states and stop_training a bool; it was written by another "
                "program or altered (delete it to start afresh)")
        parts = [("the history", self.history, extra["history"])]
        if extra["loader"] is not None or hasattr(self.train_data, "load_state_dict"):
            parts.append(("the data loader", self.train_data, extra["loader"]))
        parts += [(type(c).__name__, c, state) for c, state in zip(others, extra["callbacks"])]
        for what, target, state in parts:
            try:
                target.load_state_dict(state)
            # Each part validates its state; whatever a corrupted value makes it raise, the
            # cause is the backup file.
            except (KeyError, TypeError, ValueError, IndexError, AttributeError,
                    OverflowError) as error:
                raise LoadError(f"{self.path}: the backup's state of {what} is invalid: "
                                f"{type(error).__name__}: {error}") from None
        self.model.stop_training = extra["stop_training"]
        self.restored_epoch = info["epoch"]

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
