"""Runs fuzz inputs in a child process (``worker.py``) with a time limit per input, restarting
the child after a hang or a crash, so one bad input never takes the test run down with it."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

import chainrule

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(chainrule.__file__).resolve().parent.parent
FAILURES = ("exception", "hang", "crash", "memory", "code-execution")


class Supervisor:
    """``run(target, path)`` -> the worker's answer, or ``hang``/``crash`` when it gave none.

    Args:
        canary: a file that hostile inputs try to create; its existence is code execution.
        timeout: seconds one input may take (generous: the machine may be loaded).
    """

    def __init__(self, canary: str | os.PathLike, timeout: float = 20.0):
        self.canary, self.timeout = os.fspath(canary), timeout
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen([sys.executable, str(WORKER), self.canary], env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, bufsize=1)
        if self._answer(process, 120.0) is None:
            process.kill()
            raise RuntimeError("the fuzz worker did not start")
        return process

    @staticmethod
    def _answer(process: subprocess.Popen, timeout: float) -> dict | None:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        try:
            if not selector.select(timeout):
                return None
            line = process.stdout.readline()
        finally:
            selector.close()
        return json.loads(line) if line else None

    def run(self, target: str, path: str | os.PathLike) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        process = self.process
        try:
            process.stdin.write(json.dumps({"target": target, "path": os.fspath(path)}) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass
        answer = self._answer(process, self.timeout)
        if answer is not None:
            return answer
        crashed = process.poll() is not None
        self.close()
        self.restarts += 1
        if crashed:
            return {"category": "crash", "detail": f"the worker died ({process.returncode})"}
        return {"category": "hang", "detail": f"no answer within {self.timeout} s"}

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None
