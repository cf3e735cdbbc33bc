"""The process group: MPI on demand, this process's rank, a watchdog on collectives, and aborting
the whole job when one rank fails.

Without a launcher (``mpirun``, ``mpiexec``, ``srun``) nothing here imports MPI: the world is one
process, rank 0. Under a launcher the first call that needs the world initialises MPI through
``mpi4py`` (``init()`` does it explicitly), installs an exception hook that aborts every rank
when one raises, and starts a watchdog thread that aborts the job, naming this rank and the
collective, when a collective waits longer than the timeout — MPI itself would wait forever for a
rank that hangs or whose host dropped off the network.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback

__all__ = ["init", "is_initialized", "rank", "world_size", "is_main", "abort", "abort_if_parallel",
           "launched", "DistributedError"]

# The number of processes a launcher started, as it tells each of them: Open MPI, MPICH/Hydra
# and Intel MPI (PMI), Slurm's srun. (A Slurm batch script itself is one process.)
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS")

DEFAULT_TIMEOUT = 600.0


class DistributedError(RuntimeError):
    """A distributed set-up problem: mpi4py missing under a launcher, or a bad argument."""


class _World:
    """The communicators and the watchdog of an initialised MPI job."""

    def __init__(self, mpi, timeout: float):
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD.Dup()  # our own context: user code may use COMM_WORLD too
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout
        self._watched: tuple[float, str] | None = None  # (deadline, what) while waiting
        self._sub_comms: dict[str, object] = {}
        if self.size > 1:
            threading.Thread(target=self._watch, name="chainrule-watchdog", daemon=True).start()

    def communicator(self, purpose: str):
        """A duplicate of the world communicator per purpose (gradient buckets, batch norm):
        collectives on different communicators never match each other by mistake."""
        comm = self._sub_comms.get(purpose)
        if comm is None:
            comm = self._sub_comms[purpose] = self.comm.Dup()
        return comm

    @contextlib.contextmanager
    def watch(self, what: str):
        """Abort the job if the block (a collective) takes longer than the timeout. Not nested:
        one collective is watched at a time."""
        self._watched = (time.monotonic() + self.timeout, what)
        try:
            yield
        finally:
            self._watched = None

    def _watch(self) -> None:
        poll = min(max(self.timeout / 20, 0.05), 1.0)
        while True:
            time.sleep(poll)
            watched = self._watched
            if watched is not None and time.monotonic() > watched[0]:
                abort(f"{watched[1]} did not complete within {self.timeout:g} s; another rank "
                      "has died, hangs or cannot be reached over the network")


_world: _World | None = None
_lock = threading.Lock()


def launched() -> bool:
    """Whether a launcher (``mpirun``, ``mpiexec``, ``srun``) started this process as one of
    several."""
    for name in _LAUNCHER_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(
            "chainrule.distributed needs mpi4py and an MPI library: pip install 'chainrule[mpi]' "
            f"(mpi4py and Open MPI from wheels) ({error})"
        ) from None
    return MPI


def init(timeout: float = DEFAULT_TIMEOUT) -> None:
    """Initialise MPI for data-parallel training (done automatically under a launcher).

    Idempotent: a second call only changes the timeout. After it, an uncaught exception on any
    rank prints ``rank R of K failed`` with its traceback and aborts every rank, and a collective
    that waits longer than ``timeout`` seconds aborts the job with a message naming this rank.

    Args:
        timeout: seconds any one collective may wait for the other ranks.

    Raises:
        DistributedError: mpi4py is not installed (``pip install 'chainrule[mpi]'``).

    Example:
        >>> import chainrule as cr
        >>> cr.distributed.world_size()  # one process without a launcher
        1
    """
    global _world
    if not timeout > 0:
        raise DistributedError(f"init: timeout must be > 0 seconds, got {timeout!r}")
    with _lock:
        if _world is None:
            _world = _World(_import_mpi(), float(timeout))
            if _world.size > 1:
                sys.excepthook = _abort_on_exception
        else:
            _world.timeout = float(timeout)


def is_initialized() -> bool:
    """Whether MPI has been initialised by ``init`` (explicitly or automatically)."""
    return _world is not None


def current() -> _World | None:
    """The initialised world, initialising it under a launcher; None in a single process."""
    if _world is None and launched():
        init()
    return _world


def rank() -> int:
    """This process's index among the ranks, 0 … world_size() - 1 (0 without a launcher)."""
    world = current()
    return 0 if world is None else world.rank


def world_size() -> int:
    """The number of processes training together (1 without a launcher)."""
    world = current()
    return 1 if world is None else world.size


def is_main() -> bool:
    """Whether this is rank 0, the process that prints, logs and saves."""
    return rank() == 0


def abort(message: str, code: int = 1) -> None:
    """Print ``message`` naming this rank and end every rank of the job (``MPI_Abort``); in a
    single process, raise ``SystemExit(code)`` after printing it."""
    world = _world
    where = f"rank {world.rank} of {world.size}" if world is not None else "the process"
    print(f"chainrule.distributed: {where}: {message}; stopping all ranks", file=sys.stderr,
          flush=True)
    if world is None or world.size == 1:
        raise SystemExit(code)
    world.MPI.COMM_WORLD.Abort(code)


def abort_if_parallel(code: int = 1) -> None:
    """After an error already reported on this rank, end the other ranks too (they would wait
    for this one forever); does nothing in a single process. The command line calls it."""
    world = _world
    if world is not None and world.size > 1:
        abort("failed (see the error above)", code)


def _abort_on_exception(kind, value, tb) -> None:
    traceback.print_exception(kind, value, tb)
    abort(f"failed with {kind.__name__}: {value}")
