"""Which way is better for a logged value, and the best value seen so far.

A callback that monitors a value (``val_loss``, ``val_accuracy``, a metric of your own) asks its
metric which way is better: each metric declares ``greater_is_better``
(``chainrule.train.metrics``), a loss is minimised, and ``val_<name>`` goes the way ``<name>``
does. A metric that declares nothing needs an explicit ``mode``; nothing is guessed from a name.

Example:
    >>> direction("val_accuracy", {}), direction("loss", {}), direction("val_f1", {})
    ('max', 'min', None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from ..metrics import get as get_metric
from ..metrics import greater_is_better

__all__ = ["Monitor", "direction"]


def direction(monitor: str, metrics: Mapping[str, Callable]) -> str | None:
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


class Monitor:
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
        self.mode = direction(self.monitor, metrics)
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
