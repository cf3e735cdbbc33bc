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
- epoch logs are those of the global batch: every rank's loss and metric sums are gathered and
  merged in rank order, weighted by sample count (R² by its exact running sums), so every rank
  holds the same ``History``. Per-batch logs, which only rank 0's callbacks see, are rank 0's.
"""

from __future__ import annotations

import copy

import numpy as np

from ..random import get_rng_state, set_rng_state
from ..train.callbacks import Callback, _runs_per_batch
from ..train.metrics import _MeanStream, _R2Stream
from .collectives import broadcast, broadcast_optimizer_state, broadcast_parameters
from .optimizer import DistributedOptimizer
from .world import current

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

    def callbacks(self, callbacks: list[Callback], display: Callback | None) -> list[Callback]:
        """The callbacks this rank runs (``display`` is the progress callback among them)."""
        return callbacks

    def results(self, tally, prefix: str = "", with_loss: bool = True) -> dict[str, float]:
        """The logs of an epoch's ``fit`` tally (the loss and metric sums)."""
        return tally.results(prefix, with_loss=with_loss)


class _ParallelFit(FitContext):
    shard = True

    def __init__(self, world):
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

    def callbacks(self, callbacks, display):
        return [_RankZeroCallbacks(self.world, callbacks, display)]

    def results(self, tally, prefix="", with_loss=True):
        gathered = self.world.comm.allgather(
            (tally.loss_total, tally.count, [_stream_state(s) for s in tally.streams]))
        merged = copy.copy(tally)
        merged.loss_total = sum(loss for loss, _, _ in gathered)
        merged.count = sum(count for _, count, _ in gathered)
        merged.streams = [_merged_stream(stream, [states[i] for _, _, states in gathered])
                          for i, stream in enumerate(tally.streams)]
        return merged.results(prefix, with_loss=with_loss)


def fit_context() -> FitContext:
    """The ``FitContext`` of this process: MPI answers under a launcher with several ranks."""
    world = current()
    return FitContext() if world is None or world.size == 1 else _ParallelFit(world)


class _RankZeroCallbacks(Callback):
    """Runs the real callbacks on rank 0 and shares their decisions (see the module)."""

    def __init__(self, world, callbacks: list[Callback], display: Callback | None):
        self.world, self.inner, self.main = world, list(callbacks), world.rank == 0
        decisive = [c for c in self.inner if c is not display and _runs_per_batch(c)]
        self.shares_per_batch = broadcast(bool(decisive))
        self.per_batch = [c for c in self.inner if _runs_per_batch(c)] if self.main else []
        if self.per_batch or self.shares_per_batch:
            self.on_batch_end = self._batch_end

    def set_context(self, **context):
        super().set_context(**context)
        for callback in self.inner:
            callback.set_context(**{**context, "callbacks": self.inner})

    def on_train_begin(self, logs=None):
        if self.main:
            for callback in self.inner:
                callback.on_train_begin(logs)
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

    def on_epoch_begin(self, epoch, logs=None):
        if self.main:
            for callback in self.inner:
                callback.on_epoch_begin(epoch, logs)
        self._share_decisions()

    def _batch_end(self, batch, logs=None):
        for callback in self.per_batch:
            callback.on_batch_end(batch, logs)
        if self.shares_per_batch:
            self._share_decisions()

    def on_epoch_end(self, epoch, logs=None):
        if self.main:
            for callback in self.inner:
                callback.on_epoch_end(epoch, logs)
        self._share_decisions()

    def on_train_end(self, logs=None):
        if self.main:
            for callback in self.inner:
                callback.on_train_end(logs)
        broadcast_parameters(self.model)

    def _share_decisions(self) -> None:
        """Rank 0's ``stop_training`` and learning rates, everywhere (one small broadcast)."""
        groups = getattr(self.optimizer, "param_groups", None) or []
        values = np.array([float(self.model.stop_training),
                           *(float(group["lr"]) for group in groups)])
        with self.world.watch("the broadcast of rank 0's training decisions"):
            self.world.comm.Bcast(values, root=0)
        self.model.stop_training = bool(values[0])
        for group, lr in zip(groups, values[1:]):
            group["lr"] = float(lr)


def _stream_state(stream) -> tuple:
    if isinstance(stream, _MeanStream):
        return stream.total, stream.count
    if isinstance(stream, _R2Stream):
        return stream.n, stream.mean, stream.m2, stream.ss_res
    raise TypeError(f"fit under MPI cannot combine a {type(stream).__name__} over ranks")


def _merged_stream(stream, states: list[tuple]):
    """A copy of ``stream`` holding the sums of all ranks' ``states``, merged in rank order."""
    merged = copy.copy(stream)
    if isinstance(stream, _MeanStream):
        merged.total = sum(total for total, _ in states)
        merged.count = sum(count for _, count in states)
        return merged
    n, mean, m2, ss_res = 0, 0.0, 0.0, 0.0
    for n_k, mean_k, m2_k, ss_res_k in states:  # Chan et al.'s pairwise update, as _R2Stream
        if not n_k:
            continue
        total = n + n_k
        delta = mean_k - mean
        m2 = m2 + m2_k + delta * delta * (n * n_k / total)
        mean = mean + delta * n_k / total
        ss_res = ss_res + ss_res_k
        n = total
    merged.n, merged.mean, merged.m2, merged.ss_res = n, mean, m2, ss_res
    return merged
