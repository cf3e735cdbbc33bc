"""``History``: what ``cr.fit`` returns, one list per logged quantity, one entry per epoch."""

from __future__ import annotations

__all__ = ["History"]


class History:
    """Per-epoch training record, as Keras' ``History``.

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], "lr": [...], ...}``;
            every list has one value per completed epoch.
        epoch: the completed epochs' indices (0-based; a resumed run continues the count).
        params: ``{"epochs", "steps"}`` of the run.

    Example:
        >>> h = History()
        >>> h.append(0, {"loss": 0.5, "accuracy": 0.9})
        >>> h.history, h.epoch
        ({'loss': [0.5], 'accuracy': [0.9]}, [0])
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's logs; a key first seen late is padded with NaN for earlier epochs."""
        for key, value in logs.items():
            self.history.setdefault(key, [float("nan")] * len(self.epoch)).append(float(value))
        self.epoch.append(epoch)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(float("nan"))

    def state_dict(self) -> dict:
        """A JSON-able copy, for checkpoints."""
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch)}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` output (from a checkpoint: checked, ValueError if bad)."""
        if not (isinstance(state, dict) and set(state) == {"history", "epoch"}
                and isinstance(state["history"], dict) and isinstance(state["epoch"], list)):
            raise ValueError("History.load_state_dict: expected {'history': {name: [values]}, "
                             f"'epoch': [indices]}}, got {state!r:.100}")
        epoch = state["epoch"]
        if not all(type(e) is int and e >= 0 for e in epoch):
            raise ValueError(
                f"History.load_state_dict: epochs must be ints >= 0, got {epoch!r:.100}")
        for name, values in state["history"].items():
            if not (isinstance(values, list) and len(values) == len(epoch) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
                raise ValueError(f"History.load_state_dict: {name!r:.50} must be a list of "
                                 f"{len(epoch)} numbers (one per epoch), got {values!r:.100}")
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.epoch = list(epoch)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"
