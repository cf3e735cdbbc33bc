"""Shared helpers of the benchmark scripts: alternated timing, a summary table, the machine.

Benchmarks here compare chainrule with reference implementations (PyTorch, hand-written NumPy)
on a shared 2-core machine, where another process can steal a core at any moment. So every
contender is timed in the same run, alternately (A B C, B C A, …), after a short pause that lets
a busy core settle, over many samples; the median per step is reported, not the best or the mean.

API:
    ``alternate(contenders, steps=, samples=, warmup=, pause=0.25) -> dict[name, ndarray]``
        Runs each ``contenders[name]()`` (one training step) ``warmup`` times, then ``samples``
        rounds; in each round every contender, in rotated order, sleeps ``pause`` seconds and
        runs ``steps`` steps under ``time.perf_counter``. Returns µs per step, one per sample.
    ``alternate_phases(contenders, steps=, samples=, warmup=, pause=0.25)``
        The same for steps that time their own phases: each ``contenders[name]()`` returns
        the seconds of each phase (forward, backward); returns (samples, phases) µs per step.
    ``summary(results, ratios=((a, b), …)) -> str``
        A table of median, quartiles and samples per contender, then the ratio of medians
        ``a / b`` for each pair.
    ``machine() -> str``
        Python, NumPy and (if loaded) PyTorch versions, threads, BLAS and CPU kernels, the
        CPU model, CPUs and their load
        average (other users of a shared machine show there), every BLAS
        library threadpoolctl finds with its kernel (``architecture``) and thread count, and
        ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` as set in the environment.
    ``add_arguments(parser, steps=, samples=, warmup=)``
        The common ``--steps --samples --warmup --pause`` command-line options.
    ``sgemm_rate(m, k, n) -> float``
        FLOP/s of this machine's float32 matrix product of that shape now (best of 200), the
        reference for a "% of sgemm" figure.
    ``copy_weights(arrays, torch_module)``
        Copies chainrule's parameter arrays, in order, into a PyTorch module's parameters, so
        both libraries start from the same weights.

Example:
    >>> results = alternate({"noop": lambda: None}, steps=10, samples=3, warmup=1, pause=0)
    >>> print(summary(results))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["alternate", "alternate_phases", "summary", "machine", "add_arguments",
           "sgemm_rate", "copy_weights"]


def alternate(contenders: dict[str, Callable[[], object]], *, steps: int, samples: int,
              warmup: int, pause: float = 0.25) -> dict[str, np.ndarray]:
    """Time each contender's step alternately; µs per step for every sample (see the module)."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for sample in range(samples):
        shift = sample % len(names)  # rotate so no contender always runs first after the pause
        for name in names[shift:] + names[:shift]:
            step = contenders[name]
            time.sleep(pause)
            start = time.perf_counter()
            for _ in range(steps):
                step()
            results[name].append((time.perf_counter() - start) / steps * 1e6)
    return {name: np.array(times) for name, times in results.items()}


def alternate_phases(contenders: dict[str, Callable[[], tuple[float, ...]]], *, steps: int,
                     samples: int, warmup: int, pause: float = 0.25) -> dict[str, np.ndarray]:
    """Time each contender's phases alternately; (samples, phases) µs per step (see the
    module)."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    results: dict[str, list] = {name: [] for name in names}
    for sample in range(samples):
        shift = sample % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(pause)
            total = sum(np.array(contenders[name]()) for _ in range(steps))
            results[name].append(total / steps * 1e6)
    return {name: np.array(times) for name, times in results.items()}


def summary(results: dict[str, np.ndarray], ratios: Iterable[tuple[str, str]] = ()) -> str:
    """Median µs/step with quartiles per contender, then ratios of medians."""
    width = max(len(name) for name in results)
    lines = [f"{'':{width}}  median µs/step   (25%–75%)       samples"]
    for name, times in results.items():
        q1, median, q3 = np.percentile(times, [25, 50, 75])
        lines.append(f"{name:{width}}  {median:14.1f}   ({q1:.1f}–{q3:.1f}){'':4} {len(times)}")
    for a, b in ratios:
        ratio = np.median(results[a]) / np.median(results[b])
        lines.append(f"ratio {a}/{b}: {ratio:.2f}x")
    return "\n".join(lines)


def machine() -> str:
    """The versions, threads, BLAS kernels and OpenBLAS variables that shape the timings."""
    from threadpoolctl import threadpool_info

    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average "
        + "/".join(f"{load:.1f}" for load in os.getloadavg()) + " (1/5/15 min)",
    ]
    lines.append(f"CPU {_cpu_model()}")
    torch = sys.modules.get("torch")
    if torch is not None:
        config = torch.__config__.show()
        blas = next((part.split("=")[1] for part in config.replace(",", " ").split()
                     if part.startswith("BLAS_INFO=")), "n/a")
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas}, "
                     f"kernels {torch.backends.cpu.get_cpu_capability()}")
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            lines.append(
                f"BLAS {pool['internal_api']} {pool.get('version')}: kernel "
                f"{pool.get('architecture', 'n/a')}, {pool['num_threads']} threads "
                f"({os.path.basename(pool['filepath'])})"
            )
    for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        lines.append(f"{variable}={os.environ.get(variable, '(unset)')}")
    return "\n".join(lines)


def _cpu_model() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def add_arguments(parser: argparse.ArgumentParser, *, steps: int, samples: int,
                  warmup: int) -> argparse.ArgumentParser:
    """Add ``--steps --samples --warmup --pause`` with the given defaults."""
    parser.add_argument("--steps", type=int, default=steps, help="steps per timed sample")
    parser.add_argument("--samples", type=int, default=samples, help="timed samples each")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed steps first")
    parser.add_argument("--pause", type=float, default=0.25, help="seconds before each sample")
    return parser


def sgemm_rate(m: int, k: int, n: int, repeats: int = 200) -> float:
    """FLOP/s of the best of ``repeats`` float32 products (m, k) @ (k, n)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best


def copy_weights(arrays: Iterable[np.ndarray], torch_module) -> None:
    """Copy ``arrays`` (chainrule's parameters, in order) into ``torch_module``'s parameters."""
    import torch

    with torch.no_grad():
        for param, value in zip(torch_module.parameters(), arrays):
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
