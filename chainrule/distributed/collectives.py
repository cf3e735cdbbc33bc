"""Collectives over all ranks: ``barrier``, ``allreduce``, ``broadcast`` and the start-of-training
broadcasts of a model's weights and an optimizer's state. In a single process each returns its
input. Every one is watched by the world's timeout (see ``world.init``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor
from .world import DistributedError, current

__all__ = ["barrier", "allreduce", "broadcast", "broadcast_parameters",
           "broadcast_optimizer_state"]

_OPS = ("sum", "mean", "max", "min")


def barrier() -> None:
    """Wait until every rank has reached this point."""
    world = current()
    if world is not None and world.size > 1:
        with world.watch("barrier"):
            world.comm.Barrier()


def allreduce(array, op: str = "mean"):
    """Combine an array (or number) element-wise over all ranks; every rank gets the result.

    ``mean`` is computed as the sum over ranks divided once by the number of ranks (for 2 and 4
    ranks an exact division), so every rank holds bitwise the same value.

    Args:
        array: a NumPy array, a ``Tensor`` (its data) or a number; equal shapes on all ranks.
        op: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        A new array of the input's shape and dtype (a Python number for a number).

    **Shape**: any; the same on every rank.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.distributed.allreduce(np.array([1.0, 3.0]), op="sum")  # one process
        array([1., 3.])
    """
    if op not in _OPS:
        raise DistributedError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    number = isinstance(array, numbers.Number)
    values = np.array(array.data if isinstance(array, Tensor) else array)
    world = current()
    if world is not None and world.size > 1:
        mpi_op = {"sum": world.MPI.SUM, "mean": world.MPI.SUM, "max": world.MPI.MAX,
                  "min": world.MPI.MIN}[op]
        with world.watch(f"allreduce of {values.dtype} {values.shape}"):
            world.comm.Allreduce(world.MPI.IN_PLACE, values, op=mpi_op)
        if op == "mean":
            values = np.true_divide(values, world.size, out=values if values.dtype.kind == "f"
                                    else None)
    return values.item() if number else values


def broadcast(value, root: int = 0):
    """Every rank gets ``root``'s value: a NumPy array (its shape and dtype are sent first) or
    any Python object (sent pickled, between the processes of this job only).

    Example:
        >>> import chainrule as cr
        >>> cr.distributed.broadcast({"epoch": 3})
        {'epoch': 3}
    """
    world = current()
    if world is None or world.size == 1:
        return value
    _check_root(root, world.size)
    comm = world.comm
    with world.watch("broadcast"):
        is_array = comm.bcast(isinstance(value, np.ndarray), root=root)
        if not is_array:
            return comm.bcast(value, root=root)
        shape, dtype = comm.bcast((value.shape, value.dtype.str) if world.rank == root
                                  else None, root=root)
        array = np.ascontiguousarray(value) if world.rank == root else np.empty(shape, dtype)
        comm.Bcast(array, root=root)
    return array


def broadcast_parameters(model: Module, root: int = 0) -> None:
    """Copy ``root``'s parameters and buffers (batch-norm statistics) into every rank's
    ``model`` in place, so all ranks start from the same weights.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(2, 2)
        >>> cr.distributed.broadcast_parameters(model)  # a no-op in one process
    """
    world = current()
    if world is None or world.size == 1:
        return
    _check_root(root, world.size)
    with world.watch("broadcast of the model's weights"):
        for array in model.state_dict().values():
            if array.flags.c_contiguous or array.flags.f_contiguous:
                world.comm.Bcast(array, root=root)  # a column-major weight is one block too
            else:
                staged = np.ascontiguousarray(array)
                world.comm.Bcast(staged, root=root)
                np.copyto(array, staged)


def broadcast_optimizer_state(optimizer, root: int = 0) -> None:
    """Give every rank ``root``'s optimizer state (moments, step counts, hyperparameters), as
    when resuming from a checkpoint that only ``root`` read."""
    world = current()
    if world is None or world.size == 1:
        return
    optimizer.load_state_dict(broadcast(optimizer.state_dict() if world.rank == root else None,
                                        root=root))


def _check_root(root: int, size: int) -> None:
    if isinstance(root, bool) or not isinstance(root, numbers.Integral) or not 0 <= root < size:
        raise DistributedError(f"root must be a rank in [0, {size}), got {root!r}")
