"""The programs the distributed tests run under ``mpirun`` (``python mpi_worker.py JOB OUT``), and
the training cases they compare with one process (the tests import ``train`` directly).

Jobs: ``equality`` trains every case and writes rank 0's weights and logs to OUT/<case>.npz and
.json, checks that all ranks hold bitwise the same weights, that shards cover each epoch's
samples in a single process's order, that the buckets were launched during backward and that
only rank 0 ran the callbacks; ``mlp`` trains only the MLP case (across namespaces);
``raise``, ``kill`` and ``hang`` fail on rank 1; ``crash`` and ``resume`` interrupt and resume
a run with ``BackupAndRestore``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule.distributed.buckets import GradientBuckets

N_TRAIN, N_VAL, BATCH = 102, 37, 24  # uneven last batches for 2 and 4 ranks


def _images(dtype):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N_TRAIN + N_VAL, 1, 6, 6)).astype(dtype)
    y = rng.integers(0, 3, N_TRAIN + N_VAL)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def _texts():
    rng = np.random.default_rng(8)
    ids = rng.integers(1, 30, size=(N_TRAIN + N_VAL, 7))
    lengths = rng.integers(1, 8, N_TRAIN + N_VAL)
    ids[np.arange(7) >= lengths[:, None]] = 0  # right padding
    y = rng.integers(0, 3, N_TRAIN + N_VAL)
    return (ids[:N_TRAIN], y[:N_TRAIN]), (ids[N_TRAIN:], y[N_TRAIN:])


def _model(case: str):
    dtype = np.float32 if case.endswith("32") else np.float64
    name = case.rstrip("0123456789").split("-")[0]
    if name == "mlp":
        return cr.models.build("mlp", (1, 6, 6), 3, layers=(16, 8)).astype(dtype), _images(dtype)
    if name == "cnn":
        model = cr.models.build("cnn", (1, 6, 6), 3, channels=(4, 6), hidden=8, dropout=0)
        model.astype(dtype)
        if "perrank" not in case:
            model = dist.convert_sync_batchnorm(model)
        return model, _images(dtype)
    options = {"vocab_size": 30, "dtype": dtype, "generator": 0}
    if name == "lstm":
        return cr.models.build("lstm", (7,), 3, embedding_dim=6, hidden_size=5, **options), \
            _texts()
    return cr.models.build("transformer", (7,), 3, d_model=8, nhead=2, dim_feedforward=12,
                           dropout=0.0, **options), _texts()


CASES = ("mlp64", "mlp32", "mlp-stop64", "cnn64", "cnn-perrank64", "lstm64", "transformer64")


class StopAtBatch(cr.callbacks.Callback):
    """Stops training after batch 2 of the first epoch: a per-batch decision (rank 0's)."""

    def on_batch_end(self, batch, logs=None):
        if batch == 2:
            self.model.stop_training = True


def train(case: str, callbacks=(), epochs: int = 2):
    """Train ``case`` with ``fit`` from seed 0; returns the model and its ``History``."""
    cr.manual_seed(0)
    model, (train_data, val_data) = _model(case)
    optimizer = (cr.optim.Adam(model.parameters(), lr=0.01) if case.startswith("cnn")
                 else cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    callbacks = list(callbacks) + ([StopAtBatch()] if "stop" in case else [])
    if case.startswith("mlp"):
        # Small buckets (several per model), a learning rate changed after every batch.
        optimizer = dist.DistributedOptimizer(optimizer, bucket_size=256)
        step = cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.7)
        callbacks.append(cr.callbacks.LearningRateScheduler(step, interval="batch"))
    history = cr.fit(model, train_data, loss="cross_entropy", optimizer=optimizer,
                     epochs=epochs, batch_size=BATCH, seed=3, validation_data=val_data,
                     validation_batch_size=16, progress=False, callbacks=callbacks)
    return model, history


class RankFile(cr.callbacks.Callback):
    """Writes a file named after the rank it runs on (only rank 0 should)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def on_train_begin(self, logs=None):
        (self.folder / f"callback-ran-on-rank-{dist.rank()}").touch()


def _same_on_all_ranks(model) -> bool:
    digest = b"".join(np.ascontiguousarray(a).tobytes() for a in model.state_dict().values())
    gathered = dist.broadcast(digest) == digest
    return bool(dist.allreduce(np.array(gathered, dtype=np.int64), op="min"))


def _collectives_agree() -> bool:
    """allreduce, broadcast and the optimizer-state broadcast give every rank the same."""
    rank, ranks = dist.rank(), dist.world_size()
    values = np.array([rank + 1.0, -rank])
    checks = [
        np.array_equal(dist.allreduce(values, op="sum"), [ranks * (ranks + 1) / 2,
                                                          -ranks * (ranks - 1) / 2]),
        np.array_equal(dist.allreduce(values), [(ranks + 1) / 2, -(ranks - 1) / 2]),
        np.array_equal(dist.allreduce(values, op="max"), [ranks, 0]),
        dist.allreduce(rank, op="min") == 0,
        np.array_equal(dist.broadcast(np.full((2, 3), rank, np.float32), root=ranks - 1),
                       np.full((2, 3), ranks - 1, np.float32)),
    ]
    model = cr.nn.Linear(2, 2)
    optimizer = cr.optim.Adam(model.parameters(), lr=0.1 * (rank + 1))
    dist.broadcast_optimizer_state(optimizer)
    checks.append(optimizer.param_groups[0]["lr"] == 0.1)
    dist.barrier()
    return all(checks)


def _shards_cover_epochs() -> bool:
    """Each rank's parts, put back together in rank order, are a single process's batches."""
    index = np.arange(53)
    sharded = cr.DataLoader((index,), batch_size=10, shuffle=True, seed=5, shard=True)
    single = cr.DataLoader((index,), batch_size=10, shuffle=True, seed=5)
    for _ in range(2):
        mine = [batch.data for (batch,) in sharded]
        parts = [dist.broadcast(mine, root=r) for r in range(dist.world_size())]
        expected = [b.data for (b,) in single if len(b) >= dist.world_size()]
        if len(mine) != len(expected):
            return False
        for b, whole in enumerate(expected):
            if not np.array_equal(np.concatenate([p[b] for p in parts]), whole):
                return False
    return True


def equality(out: Path, cases=CASES) -> None:
    launched_before_wait = []
    synchronize = GradientBuckets.synchronize

    def observed(self):
        launched_before_wait.append((self._launched, len(self.buckets)))
        synchronize(self)

    GradientBuckets.synchronize = observed
    files = out / "files"
    files.mkdir(exist_ok=True)
    report = {"shards_cover_epochs": _shards_cover_epochs(),
              "collectives_agree": _collectives_agree(), "identical": {}}
    for case in cases:
        extra = [RankFile(files), cr.callbacks.CSVLogger(files / f"{case}.csv")]
        model, history = train(case, extra)
        report["identical"][case] = _same_on_all_ranks(model)
        if dist.is_main():
            np.savez(out / f"{case}.npz", **model.state_dict())
            (out / f"{case}.json").write_text(json.dumps(history.history))
    report["launched_before_wait"] = launched_before_wait
    if dist.is_main():
        (out / "report.json").write_text(json.dumps(report))


def failing(job: str) -> None:
    dist.init(timeout=3)
    calls = 0

    def loss(pred, y):
        nonlocal calls
        calls += 1
        if dist.rank() == 1 and calls == 3:
            if job == "raise":
                raise ValueError("a deliberate failure")
            if job == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(120)  # hang: the others must give up by the timeout
        return cr.nn.functional.cross_entropy(pred, y)

    model, (train_data, _) = _model("mlp64")
    cr.fit(model, train_data, loss=loss, optimizer="sgd", epochs=3, batch_size=BATCH,
           progress=False)


class CrashAfter(cr.callbacks.Callback):
    """Raises at the end of an epoch (before the backup of that epoch is written)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"crash at the end of epoch {epoch}")


def resumable(job: str, out: Path) -> None:
    backup = cr.callbacks.BackupAndRestore(out / "backup.ckpt")
    callbacks = [backup, CrashAfter(1)] if job == "crash" else [backup]
    model, history = train("cnn64", callbacks, epochs=3)
    if dist.is_main():
        np.savez(out / "resumed.npz", **model.state_dict())
        (out / "resumed.json").write_text(json.dumps(history.history))


if __name__ == "__main__":
    job, out = sys.argv[1], Path(sys.argv[2])
    if job == "equality":
        equality(out)
    elif job == "mlp":
        equality(out, cases=("mlp64",))
    elif job in ("raise", "kill", "hang"):
        failing(job)
    else:
        resumable(job, out)
