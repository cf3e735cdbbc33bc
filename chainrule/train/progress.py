"""What ``cr.fit`` prints: a tqdm bar per epoch in a terminal, one plain line per epoch elsewhere.

Both are callbacks. The bar refreshes its running loss and metrics at most ten times a second,
so drawing it costs next to nothing per batch; the line logger does no per-batch work at all
(logs, CI output and notebooks captured to files stay one readable line per epoch).
"""

from __future__ import annotations

import sys
import time

from .callbacks import Callback

__all__ = ["ProgressBar", "LineLogger", "progress_callback"]


def _format(logs: dict, skip: tuple[str, ...] = ()) -> str:
    return " - ".join(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}"
                      for k, v in logs.items() if k not in skip)


class LineLogger(Callback):
    """One line per epoch on standard output:
    ``Epoch 3/10 - 0.21s - loss: 0.1234 - accuracy: 0.9650 - val_loss: …``."""

    def __init__(self, file=None):
        self.file = file
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        text = _format(logs)
        print(f"Epoch {epoch + 1}/{self.params['epochs']} - {seconds:.2f}s"
              + (f" - {text}" if text else ""), file=self.file or sys.stdout, flush=True)


class ProgressBar(Callback):
    """A tqdm progress bar per epoch with the running loss and metrics; at the end of the epoch
    it shows the epoch's values, validation included."""

    _refresh_seconds = 0.1

    def __init__(self, file=None):
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.file = file
        self._bar = None
        self._next_refresh = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = self._tqdm(total=self.params.get("steps"), unit="batch", leave=True,
                               desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
                               file=self.file or sys.stdout, dynamic_ncols=True)
        self._next_refresh = 0.0

    def on_batch_end(self, batch, logs=None):
        self._bar.update(1)
        now = time.perf_counter()
        if now >= self._next_refresh:
            self._next_refresh = now + self._refresh_seconds
            self._bar.set_postfix_str(_format(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.set_postfix_str(_format(logs, skip=("lr",)), refresh=False)
        self._bar.close()
        self._bar = None

    def on_train_end(self, logs=None):
        if self._bar is not None:  # stopped mid-epoch
            self._bar.close()
            self._bar = None


def progress_callback(progress, file=None) -> Callback | None:
    """The display for ``fit(progress=...)``: True picks a bar when standard output is a
    terminal and tqdm is installed, else lines; ``'bar'`` or ``'lines'`` choose; False none."""
    if progress is False or progress is None:
        return None
    if progress not in (True, "bar", "lines"):
        raise ValueError(f"fit: progress must be True, False, 'bar' or 'lines', got {progress!r}")
    stream = file or sys.stdout
    if progress == "lines" or (progress is True and not _is_terminal(stream)):
        return LineLogger(file)
    try:
        return ProgressBar(file)
    except ImportError:
        if progress == "bar":
            raise ImportError("fit(progress='bar') needs tqdm: pip install tqdm") from None
        return LineLogger(file)


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
