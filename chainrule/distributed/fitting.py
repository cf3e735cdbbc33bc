"""What ``cr.fit`` asks of the distributed world: the one interface between the training loop and
MPI. In a single process every answer is "as before"; under ``mpirun`` with K > 1 ranks:

- the optimizer is wrapped in a ``DistributedOptimizer`` (gradients averaged over the ranks);
- training and validation arrays are read in shares of each global batch
  (``DataLoader(shard=True)``), gradients weighted by each share's sample count;
- the callbacks — the progress display (lines, unless ``progress="bar"``), ``History`` files,
  checkpoints, early stopping — run on rank 0 only. What they decide that the other ranks
  must follow is broadcast from rank 0: the state they restore when training begins
  (``BackupAndRestore``: weights, optimizer, loader, history and random state, read on rank 0
  only, so a run may resume on any number of ranks; without a backup this is rank 0's initial
  weights), ``stop_training`` and the learning rates after every epoch (and every batch when
  a callback other than the display runs per batch), and the weights when training ends
  (``EarlyStopping(restore_best_weights=True)``);
- epoch logs are those of the global batch: every rank's loss and metric sums
  (``Tally.state()``) are gathered and merged in rank order (``Tally.merge``), weighted by sample
  count (R² by its exact running sums), so every rank holds the same ``History``. Per-batch
  logs, which only rank 0's callbacks see, are rank 0's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..random import get_rng_state, set_rng_state
from ..train.callbacks import Callback, CallbackList
from ..train.tally import Tally
from .collectives import broadcast, broadcast_optimizer_state, broadcast_parameters
from .optimizer import DistributedOptimizer
from .world import _World, current

__all__ = ["FitContext", "fit_context"]


class FitContext:
    """The single-process answers; ``fit_context()`` gives the MPI ones when K > 1."""

    is_main = True
    shard = False  # DataLoader(shard=...) for (x, y) arrays

    def optimizer(self, optimizer):
        """The optimizer ``fit`` steps."""
        return optimizer

    def progress(self, progress):
        """``fit``'s ``progress`` argument for this rank."""
        return progress

    def callbacks(self, callbacks: Iterable[Callback], display: Callback | None,
                  **context) -> CallbackList:
        """The ``CallbackList`` this rank runs (``display`` is the progress callback among
        ``callbacks``; ``context`` the run's objects, as ``CallbackList`` takes them)."""
        return CallbackList(callbacks, **context)

    def combine(self, tally: Tally) -> Tally:
        """The tally of every rank's batches, from this rank's (an epoch's, or validation's)."""
        return tally


class _ParallelFit(FitContext):
    shard = True

    def __init__(self, world: _World):
        self.world = world
        self.is_main = world.rank == 0

    def optimizer(self, optimizer):
        if isinstance(optimizer, DistributedOptimizer):
            return optimizer
        return DistributedOptimizer(optimizer)

    def progress(self, progress):
        # mpirun hands ranks a pseudo-terminal even when its own output is a file, so a
        # terminal cannot be detected: rank 0 prints lines unless a bar is asked for.
        if not self.is_main:
            return False
        return "lines" if progress is True else progress

    def callbacks(self, callbacks, display, **context):
        return _RankZeroCallbacks(self.world, callbacks, display, **context)

    def combine(self, tally):
        with self.world.watch("the gathering of the epoch's loss and metrics"):
            states = self.world.comm.allgather(tally.state())
        combined = Tally(tally.metrics, with_loss=tally.with_loss)
        for state in states:  # in rank order on every rank: the same sums everywhere
            combined.merge(state)
        return combined


def fit_context() -> FitContext:
    """The ``FitContext`` of this process: MPI answers under a launcher with several ranks."""
    world = current()
    return FitContext() if world is None or world.size == 1 else _ParallelFit(world)


class _RankZeroCallbacks(CallbackList):
    """Runs the callbacks on rank 0 and shares their decisions (see the module)."""

    def __init__(self, world: _World, callbacks: Iterable[Callback], display: Callback | None,
                 **context):
        super().__init__(callbacks, **context)
        self.world, self.main = world, world.rank == 0
        self.model, self.optimizer = context["model"], context["optimizer"]
        self.train_data, self.history = context["train_data"], context["history"]
        # Rank 0's per-batch callbacks other than the display may change what every rank does
        # (stop, the learning rate): then every rank takes rank 0's decisions after each batch.
        decisive = any(c is not display for c in self.per_batch)
        sharing: list[Callback] = [_ShareDecisions(self)] if broadcast(decisive) else []
        self.per_batch = (self.per_batch if self.main else []) + sharing

    def on_train_begin(self) -> None:
        if self.main:
            super().on_train_begin()
        broadcast_parameters(self.model)
        broadcast_optimizer_state(self.optimizer)
        loader_state = getattr(self.train_data, "state_dict", None)
        state = broadcast({"rng": get_rng_state(), "history": self.history.state_dict(),
                           "loader": loader_state() if loader_state is not None else None,
                           "stop": bool(self.model.stop_training)} if self.main else None)
        if not self.main:
            set_rng_state(state["rng"])
            self.history.load_state_dict(state["history"])
            if state["loader"] is not None:
                self.train_data.load_state_dict(state["loader"])
            self.model.stop_training = state["stop"]

    def on_epoch_begin(self, epoch: int) -> None:
        if self.main:
            super().on_epoch_begin(epoch)
        self.share_decisions()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.main:
            super().on_epoch_end(epoch, logs)
        self.share_decisions()

    def on_train_end(self, logs: dict) -> None:
        if self.main:
            super().on_train_end(logs)
        broadcast_parameters(self.model)

    def share_decisions(self) -> None:
        """Rank 0's ``stop_training`` and learning rates, everywhere (one small broadcast)."""
        groups = getattr(self.optimizer, "param_groups", None) or []
        values = np.array([float(self.model.stop_training),
                           *(float(group["lr"]) for group in groups)])
        with self.world.watch("the broadcast of rank 0's training decisions"):
            self.world.comm.Bcast(values, root=0)
        self.model.stop_training = bool(values[0])
        for group, lr in zip(groups, values[1:]):
            group["lr"] = float(lr)


class _ShareDecisions(Callback):
    """The last per-batch callback on every rank: rank 0's decisions of this batch, shared."""

    def __init__(self, owner: _RankZeroCallbacks):
        self._owner = owner

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._owner.share_decisions()
