"""Running ``mpirun`` jobs from the tests (the ``jobs`` fixture): the worker script, its
single-process references, and a runner with a hard timeout (the whole process group is killed:
``mpirun`` can ignore SIGTERM)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.distributed.command import mpirun_command

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
WORKER = HERE / "mpi_worker.py"
JOB_TIMEOUT = 90


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load("chainrule_mpi_worker", WORKER)
netns = _load("chainrule_test_netns", HERE / "netns.py")


def _mpi_missing() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'chainrule[mpi]')"
    if not (Path(sys.executable).parent / "mpirun").exists() and not _which("mpirun"):
        return "mpirun is not installed: pip install 'chainrule[mpi]' brings Open MPI"
    return None


def _which(program: str) -> str | None:
    import shutil

    return shutil.which(program)


def run(line: list[str], timeout: float = JOB_TIMEOUT) -> tuple[int, str, float]:
    """Run a command line in its own process group; (exit code, stdout+stderr, seconds)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    start = time.monotonic()
    process = subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{' '.join(line)} still ran after {timeout} s:\n"
                    f"{output.decode(errors='replace')[-3000:]}")
    return process.returncode, output.decode(errors="replace"), time.monotonic() - start


def mpirun_job(ranks: int, job: str, out: Path, timeout: float = JOB_TIMEOUT):
    """Run the worker's ``job`` on ``ranks`` local ranks (oversubscribed beyond the cores)."""
    mpirun = Path(sys.executable).parent / "mpirun"
    line = mpirun_command(ranks, [sys.executable, str(WORKER), job, str(out)],
                          mpirun=str(mpirun) if mpirun.exists() else "mpirun")
    return run(line, timeout)


_references: dict = {}


def reference(case: str, epochs: int = 2):
    """``(state_dict, history)`` of ``case`` trained in this single process (cached)."""
    key = (case, epochs)
    if key not in _references:
        model, history = worker.train(case, epochs=epochs)
        _references[key] = ({k: v.copy() for k, v in model.state_dict().items()},
                            history.history)
    return _references[key]


class _Jobs:
    """What the MPI tests use, as one fixture."""

    worker, netns = worker, netns
    run, mpirun_job, reference = staticmethod(run), staticmethod(mpirun_job), \
        staticmethod(reference)


@pytest.fixture(scope="session")
def jobs() -> _Jobs:
    """The job helpers; skips the test cleanly without mpi4py or mpirun."""
    reason = _mpi_missing()
    if reason:
        pytest.skip(reason)
    return _Jobs()
