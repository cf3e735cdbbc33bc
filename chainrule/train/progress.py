"""What ``cr.fit`` prints: a tqdm bar per epoch in a terminal, one plain line per epoch elsewhere.

Both are callbacks. The bar refreshes its running loss and metrics at most ten times a second,
so drawing it costs next to nothing per batch; the line logger does no per-batch work at all
(logs, CI output and notebooks captured to files stay one readable line per epoch).

In a terminal every value must stay visible whatever its width: the bar is drawn to the
terminal's width with short metric names (``acc``, ``val_acc``), and when the epoch ends it is
replaced by the epoch's summary, wrapped onto a second line where it does not fit. A terminal
that reports no width (0 columns, as some containers do) is taken to be 80 columns wide.
"""

from __future__ import annotations

import os
import sys
import time

from .callbacks import Callback

__all__ = ["ProgressBar", "LineLogger", "progress_callback", "terminal_columns"]

# How the bar names the metrics whose full names would crowd it out.
_SHORT = {"accuracy": "acc", "binary_accuracy": "bin_acc", "top_k_accuracy": "top_k",
          "mean_absolute_error": "mae", "r2_score": "r2"}
_DEFAULT_COLUMNS = 80
_MIN_COLUMNS = 20  # narrower reports (0 in some containers) are not a real width


def _format(logs: dict, skip: tuple[str, ...] = ()) -> str:
    return " - ".join(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}"
                      for k, v in logs.items() if k not in skip)


def _short(name: str) -> str:
    prefix = "val_" if name.startswith("val_") else ""
    return prefix + _SHORT.get(name[len(prefix):], name[len(prefix):])


def terminal_columns(stream) -> int:
    """The width of the terminal ``stream`` writes to, or 80 when it reports none."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        import shutil  # only this fallback needs it, and it pulls in bz2 and lzma

        columns = shutil.get_terminal_size((0, 0)).columns  # honours $COLUMNS
    return columns if columns >= _MIN_COLUMNS else _DEFAULT_COLUMNS


def _wrap(parts: list[str], width: int, separator: str = "  ", indent: str = "    ") -> str:
    """``parts`` joined by ``separator`` into lines of at most ``width`` characters (a part is
    never split); lines after the first are indented."""
    lines, line = [], ""
    for part in parts:
        candidate = f"{line}{separator}{part}" if line else part
        if line and len(candidate) > width:
            lines.append(line)
            candidate = indent + part
        line = candidate
    return "\n".join([*lines, line])


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
    """A tqdm progress bar per epoch with the running loss and metrics, drawn to the terminal's
    width; at the end of the epoch the bar gives way to the epoch's values, validation
    included, wrapped to the width (77 columns for a classifier's four values):
    ``Epoch 40/40  0.21s  loss 0.1234  acc 0.9650  val_loss 0.1532  val_acc 0.9583``."""

    _refresh_seconds = 0.1

    def __init__(self, file=None):
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.file = file
        self._bar = None
        self._next_refresh = 0.0
        self._start = 0.0
        self._width = _DEFAULT_COLUMNS

    def _stream(self):
        return self.file or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self._width = terminal_columns(self._stream())
        self._start = time.perf_counter()
        self._bar = self._tqdm(total=self.params.get("steps"), unit="batch", leave=False,
                               desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
                               file=self._stream(), ncols=self._width,
                               bar_format="{desc} {bar} {n_fmt}/{total_fmt} {elapsed} {postfix}")
        self._next_refresh = 0.0

    def on_batch_end(self, batch, logs=None):
        self._bar.update(1)
        now = time.perf_counter()
        if now >= self._next_refresh:
            self._next_refresh = now + self._refresh_seconds
            self._bar.set_postfix_str(
                " ".join(f"{_short(k)} {v:.4f}" for k, v in logs.items() if k != "lr"),
                refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self._close()
        parts = [f"Epoch {epoch + 1}/{self.params['epochs']}",
                 f"{time.perf_counter() - self._start:.2f}s",
                 *(f"{_short(k)} {v:.4f}" for k, v in logs.items() if k != "lr")]
        print(_wrap(parts, self._width), file=self._stream(), flush=True)

    def on_train_end(self, logs=None):
        self._close()  # stopped mid-epoch

    def _close(self):
        if self._bar is not None:
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
