"""Instructions per training step of the overhead benchmark's chainrule step, counted by
callgrind: a figure that other processes on a shared machine cannot disturb, unlike time.

The step is ``overhead.framework_step`` on chainrule (2-16-16-1 tanh MLP, MSE, SGD, batch 32),
eager or (``--step captured``) captured and replayed by ``cr.compile``, or (``--step numpy``)
the hand-written NumPy step of the same benchmark.
Callgrind counts every instruction of a whole process, import included, so the script runs the
step twice under it, ``--steps`` and ``2 * --steps`` steps after the same warm-up, and takes the
difference divided by ``--steps``: the instructions of one step alone. That figure is exact for
one hash seed, but the layout of dicts and sets (string hashes) moves it by about ±0.5% between
seeds, as much as a small change of code does; so it is measured for ``--seeds`` hash seeds and
their mean is reported, with the range.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/step_instructions.py [--steps 200] [--warmup 50] [--seeds 4] \\
        [--step {eager,captured,numpy}]

Needs valgrind. ``--run N`` runs ``N`` steps after the warm-up without valgrind (what each
callgrind process executes).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

__all__ = ["main"]


STEPS = ("eager", "captured", "numpy")


def _run(steps: int, warmup: int, kind: str) -> None:
    from overhead import _problem, framework_step, numpy_step

    import chainrule as cr

    if kind == "numpy":
        step = numpy_step(*_problem())
    else:
        step = framework_step(cr.nn, cr.optim, cr.tensor, *_problem(),
                              compile=cr.compile if kind == "captured" else None)
    for _ in range(warmup + steps):
        step()


def _instructions(steps: int, warmup: int, seed: int, kind: str) -> int:
    """Instructions callgrind counted for a whole process running ``steps`` steps."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--run", str(steps), "--warmup", str(warmup),
               "--step", kind]
    # A fixed hash seed: set and dict layouts (and so the work of lookups) differ between seeds.
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise SystemExit("callgrind printed no instruction count:\n" + result.stderr[-2000:])
    return int(match.group(1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--step", choices=STEPS, default="eager", help="which step to count")
    parser.add_argument("--run", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:
        _run(args.run, args.warmup, args.step)
        return
    per_step = []
    for seed in range(args.seeds):
        short = _instructions(args.steps, args.warmup, seed, args.step)
        long = _instructions(2 * args.steps, args.warmup, seed, args.step)
        per_step.append((long - short) / args.steps)
    print(f"{args.step} step, instructions per step: {sum(per_step) / len(per_step):,.0f} "
          f"(range {min(per_step):,.0f}-{max(per_step):,.0f} over {args.seeds} hash seeds; "
          f"callgrind, {args.steps} vs {2 * args.steps} steps after {args.warmup} warm-up)")


if __name__ == "__main__":
    main()
