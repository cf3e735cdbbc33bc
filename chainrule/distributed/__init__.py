"""Data-parallel training over MPI: every rank holds the whole model, reads its share of each
global batch, and the gradients are averaged before the same update runs everywhere (the
scheme of Horovod and ChainerMN). ``cr.fit`` does all of it under ``mpirun`` by itself::

    mpirun -n 4 python train.py        # or: chainrule launch -n 4 -- python train.py

A hand-written loop needs four lines (see ``docs/distributed.md``)::

    cr.distributed.broadcast_parameters(model)                  # rank 0's initial weights
    optimizer = cr.distributed.DistributedOptimizer(optimizer)  # averaged gradients
    loader = cr.DataLoader((x, y), batch_size=64, shuffle=True, seed=0, shard=True)
    if cr.distributed.is_main(): ...                            # print and save on rank 0

Without a launcher everything here is a single process (rank 0 of 1) and MPI is never loaded;
``mpi4py`` is needed only under one (``pip install 'chainrule[mpi]'``).
"""

from .collectives import (
    allreduce,
    barrier,
    broadcast,
    broadcast_optimizer_state,
    broadcast_parameters,
)
from .optimizer import DistributedOptimizer
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm
from .world import DistributedError, abort, init, is_initialized, is_main, rank, world_size

__all__ = [
    "init", "is_initialized", "rank", "world_size", "is_main", "barrier", "allreduce",
    "broadcast", "broadcast_parameters", "broadcast_optimizer_state", "DistributedOptimizer",
    "SyncBatchNorm", "convert_sync_batchnorm", "abort", "DistributedError",
]
