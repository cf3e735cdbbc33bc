"""The fuzzing child process: loads one input at a time, as asked on stdin, and reports how.

Run by ``tests/fuzz/supervisor.py`` (never by pytest directly). Each request is one JSON line
``{"target": name, "path": file}``; each answer one JSON line ``{"category": ..., "detail":
..., "grown": bytes}``:

- ``ok``: the loader returned; ``refused``: it raised the target's documented error;
- ``exception``: any other exception (a leak such as ``zlib.error`` or ``KeyError``);
- ``memory``: ``MemoryError`` under the address-space cap, or a peak resident size that grew by
  more than the budget (a small multiple of the input's size) while loading it;
- ``code-execution``: the canary file, which hostile inputs try to create, exists.

A hang or a crash shows as no answer; the supervisor times the child and restarts it.
The address space is capped (``RLIMIT_AS``) once, at start, above what importing took.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback

import numpy as np

import chainrule as cr
from chainrule.audio import SpeechFeatures, read_wav
from chainrule.datasets.cifar10 import load_cifar10
from chainrule.datasets.idx import read_idx
from chainrule.io import load_checkpoint
from chainrule.io.arrays import read_npy, read_npz

_HEADROOM = 1 << 30  # address space allowed beyond what the imports took
_FLOOR = 64 << 20  # peak-RSS growth always allowed (interpreter noise, small models)
_MULTIPLE = 16  # ... and this many times the input's size


def checkpoint_model():
    """The model and optimizer that ``seeds.checkpoint`` saved (rebuilt to load into)."""
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer


def _checkpoint(path):
    model, optimizer = checkpoint_model()
    return load_checkpoint(path, model=model, optimizer=optimizer)


def _wav(path):
    samples, rate = read_wav(path)
    return SpeechFeatures().prepare(samples, rate)


def _cifar(path):
    return load_cifar10(path=os.path.dirname(path))


# target -> (loader, the exception it documents)
TARGETS = {
    "model": (cr.load_model, cr.LoadError),
    "state": (cr.load_state, cr.LoadError),
    "checkpoint": (_checkpoint, cr.LoadError),
    "npy": (read_npy, cr.LoadError),
    "npz": (read_npz, cr.LoadError),
    "idx": (read_idx, ValueError),
    "wav": (_wav, ValueError),
    "cifar": (_cifar, ValueError),
}


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak resident size (VmHWM) to the current."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:  # pragma: no cover - other systems: the budget check is then coarser
        pass


def run(target: str, path: str, canary: str) -> dict:
    loader, documented = TARGETS[target]
    size = os.path.getsize(path)
    _reset_peak()
    before = _status("VmRSS:")
    category, detail = "ok", ""
    try:
        result = loader(path)
        del result
    except MemoryError:
        category, detail = "memory", "MemoryError"
    except documented as error:
        category, detail = "refused", f"{type(error).__name__}: {error}"[:300]
    except Exception as error:  # noqa: BLE001 - anything else is what the fuzzer looks for
        category = "exception"
        detail = "".join(traceback.format_exception_only(type(error), error))[-600:]
    grown = _status("VmHWM:") - before
    if category in ("ok", "refused") and grown > max(_FLOOR, _MULTIPLE * size):
        category, detail = "memory", f"peak resident size grew by {grown:,} bytes"
    if os.path.exists(canary):
        category, detail = "code-execution", f"{canary} was created"
    return {"category": category, "detail": detail, "grown": grown}


def main() -> None:
    canary = sys.argv[1]
    limit = _status("VmSize:") + _HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    np.seterr(all="ignore")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(run(request["target"], request["path"], canary)), flush=True)


if __name__ == "__main__":
    main()
