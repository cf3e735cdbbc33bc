"""``Tally``: an epoch's running loss and metrics, the numbers ``fit`` and ``evaluate`` report."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .metrics import stream

__all__ = ["Tally"]


class Tally:
    """Running loss and metrics over an epoch, weighted by batch size.

    The loss is the mean over samples of each batch's (mean) loss: ``Σ_b n_b·L_b / Σ_b n_b``;
    each metric streams as its ``stream`` does. The sums are plain Python floats, so a batch
    costs a few additions.

    Args:
        metrics: metric functions by logged name (``metrics.resolve``).
        with_loss: whether a loss is tallied and reported.

    Example:
        >>> import numpy as np
        >>> from chainrule.train.metrics import accuracy
        >>> tally = Tally({"accuracy": accuracy})
        >>> tally.update(0.5, np.array([0, 1]), np.array([0, 0]))
        >>> tally.update(0.2, np.array([1]), np.array([1]))
        >>> {k: round(v, 4) for k, v in tally.results("val_").items()}
        {'val_loss': 0.4, 'val_accuracy': 0.6667}
    """

    __slots__ = ("count", "loss_total", "metrics", "streams", "with_loss")

    def __init__(self, metrics: Mapping[str, Callable], with_loss: bool = True):
        self.metrics = metrics
        self.streams = {name: stream(function) for name, function in metrics.items()}
        self.with_loss = with_loss
        self.loss_total = 0.0
        self.count = 0

    def update(self, loss_value: float | None, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Add one batch: its mean loss (None without a loss), targets and predictions."""
        n = len(y_true)
        if loss_value is not None:
            self.loss_total += loss_value * n
        self.count += n
        for accumulator in self.streams.values():
            accumulator.update(y_true, y_pred)

    def state(self) -> tuple:
        """The running sums (numbers and arrays only): what ``merge`` adds to another tally of
        the same metrics, e.g. one gathered from another process."""
        return self.loss_total, self.count, [s.state() for s in self.streams.values()]

    def merge(self, state: tuple) -> None:
        """Add another tally's ``state()``, as if its batches had followed these.

        Example:
            >>> import numpy as np
            >>> from chainrule.train.metrics import accuracy
            >>> first, second = Tally({"accuracy": accuracy}), Tally({"accuracy": accuracy})
            >>> first.update(0.5, np.array([0, 1]), np.array([0, 0]))
            >>> second.update(0.2, np.array([1]), np.array([1]))
            >>> first.merge(second.state())
            >>> {k: round(v, 4) for k, v in first.results().items()}
            {'loss': 0.4, 'accuracy': 0.6667}
        """
        loss_total, count, streams = state
        self.loss_total += loss_total
        self.count += count
        for accumulator, stream_state in zip(self.streams.values(), streams):
            accumulator.merge(stream_state)

    def results(self, prefix: str = "") -> dict[str, float]:
        """``{prefix + "loss": …, prefix + name: …}`` so far (NaN before any batch)."""
        logs = {}
        if self.with_loss:
            logs[prefix + "loss"] = self.loss_total / self.count if self.count else float("nan")
        for name, accumulator in self.streams.items():
            logs[prefix + name] = accumulator.result()
        return logs
