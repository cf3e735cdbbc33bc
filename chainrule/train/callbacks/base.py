"""``Callback``, the base of every callback, and ``CallbackList``, which runs a fit's callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

__all__ = ["Callback", "CallbackList"]


class Callback:
    """Base class: override the hooks you need; each gets the logs described in
    ``chainrule.train.callbacks``."""

    model = optimizer = train_data = history = params = None
    callbacks: tuple | list = ()
    metrics: Mapping[str, Callable] | None = None  # the run's metric functions by logged name
    # A callback that restores and saves the others' state runs after them (BackupAndRestore).
    runs_last = False

    def set_context(self, **context) -> None:
        """Receive the run's objects (``model``, ``optimizer``, …) from ``fit``."""
        for name, value in context.items():
            setattr(self, name, value)

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def state_dict(self) -> dict:
        """What must survive a restart: dicts, lists, strings, numbers and NumPy arrays."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class CallbackList:
    """The callbacks of one run, in the order they run, each given the run's context.

    Each hook calls every callback in turn; ``on_batch_end`` only those that override it
    (``per_batch`` is empty when none does, so the training loop can skip building batch logs).

    Args:
        callbacks: ``Callback`` objects; those with ``runs_last`` are moved to the end.
        context: the run's objects, given to each callback's ``set_context``.

    Raises:
        TypeError: an entry is not a ``Callback``.
    """

    def __init__(self, callbacks: Iterable[Callback], **context):
        callbacks = list(callbacks)
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"fit: callbacks must be Callback objects, got "
                                f"{type(callback).__name__}")
        self.callbacks = sorted(callbacks, key=lambda c: c.runs_last)  # a stable sort
        for callback in self.callbacks:
            callback.set_context(callbacks=self.callbacks, **context)
        self.per_batch = [c for c in self.callbacks if _runs_per_batch(c)]

    def on_train_begin(self) -> None:
        for callback in self.callbacks:
            callback.on_train_begin()

    def on_epoch_begin(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch)

    def on_batch_end(self, batch: int, logs: dict) -> None:
        for callback in self.per_batch:
            callback.on_batch_end(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_end(self, logs: dict) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)


def _runs_per_batch(callback: Callback) -> bool:
    """Whether ``on_batch_end`` does anything (overridden in the class or on the instance)."""
    return getattr(callback.on_batch_end, "__func__", None) is not Callback.on_batch_end
