"""``CSVLogger``: one CSV row per epoch of every logged value."""

from __future__ import annotations

import csv
import os

from .base import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then every logged value.

    Epochs are counted from 1, as the progress display shows them ("Epoch 1/10"). The file is
    rewritten from the run's ``History`` when training starts logging, so a resumed run
    (``BackupAndRestore``) holds every epoch once; later rows are appended and flushed as each
    epoch ends.
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
                self._writer.writerow([past + 1,
                                       *(self.history.history[k][row] for k in keys)])
        else:
            self._writer.writerow([epoch + 1, *(logs.get(k, "") for k in self.history.history)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None
