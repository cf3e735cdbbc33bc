"""LSTM speed: one training step, its forward and its backward timed apart, in chainrule and in
PyTorch, alternately in one run, on 1 and on 2 threads; plus the memory of long sequences.

The layer is the issue's: ``LSTM(input_size=64, hidden_size=256)`` on float32 batches of 32
sequences of 50 steps, time-major; the step is ``lstm(x)`` (the forward, recording the graph)
then ``output.sum().backward()`` (the backward: gradients for the input and all weights). Both
libraries start from the same weights (chainrule's seeded initialisation copied into PyTorch),
and the script checks that outputs and gradients agree before timing anything. Each sample
times ``--steps`` steps of one library, forward and backward on their own clocks; the libraries
alternate, each after a pause. Threads: NumPy's BLAS (through threadpoolctl, as
``cr.set_num_threads`` does) and PyTorch's (``torch.set_num_threads``) are set alike.

Memory: a training step's peak of NumPy allocations in chainrule (``tracemalloc``) for sequences
of 50 and 1,000 steps (batch 32, hidden 256), against the activations the fused op keeps per
step (4 gates, the cell, its tanh and the output: 7·B·H floats) and the gate gradients of the
backward pass (4·B·H).

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/rnn.py [--samples 30]
        [--threads 1 2]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from _common import add_arguments, alternate_phases, machine

import chainrule as cr

INPUT, HIDDEN, STEPS, BATCH = 64, 256, 50, 32


def _halves(lstm, x):
    """``step()``: one training step of either library (both spell it the same way), returning
    the seconds of its forward and of its backward."""

    def step():
        lstm.zero_grad()
        x.grad = None
        start = time.perf_counter()
        output, _ = lstm(x)
        middle = time.perf_counter()
        output.sum().backward()
        return middle - start, time.perf_counter() - middle

    return step


def contenders(torch) -> dict:
    """The training steps of both libraries on the same weights and data."""
    ours = cr.nn.LSTM(INPUT, HIDDEN, generator=0)
    theirs = torch.nn.LSTM(INPUT, HIDDEN)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    x_ours, x_theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    # The comparison means something only if both compute the same thing.
    out_ours, out_theirs = ours(x_ours)[0], theirs(x_theirs)[0]
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-3, atol=1e-4)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-3, atol=1e-3,
                                   err_msg=name)
    return {"chainrule": _halves(ours, x_ours), "pytorch": _halves(theirs, x_theirs)}


def table(results: dict[str, np.ndarray]) -> str:
    """Median µs of forward, backward and the step per library, and chainrule / PyTorch."""
    medians = {name: [*np.median(times, axis=0), np.median(times.sum(axis=1))]
               for name, times in results.items()}
    lines = [f"{'':10} {'forward':>10} {'backward':>10} {'step':>10}   median µs"]
    for name, values in medians.items():
        lines.append(f"{name:10} " + " ".join(f"{v:10.0f}" for v in values))
    ratio = np.array(medians["chainrule"]) / np.array(medians["pytorch"])
    lines.append(f"{'ratio':10} " + " ".join(f"{r:9.2f}x" for r in ratio))
    return "\n".join(lines)


def training_memory(steps: int) -> tuple[float, float]:
    """(peak MB of NumPy allocations during a chainrule training step, estimate MB)."""
    lstm = cr.nn.LSTM(INPUT, HIDDEN, generator=0)
    x = cr.tensor(np.random.default_rng(1).standard_normal((steps, BATCH, INPUT)).astype(
        np.float32), requires_grad=True)
    tracemalloc.start()
    output, _ = lstm(x)
    output.sum().backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = steps * BATCH * HIDDEN * 4 * (7 + 4)
    return peak / 2**20, estimate / 2**20


def main() -> None:
    parser = add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                           steps=3, samples=20, warmup=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts to run, each for both libraries (default 1 2)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    print(f"LSTM input {INPUT}, hidden {HIDDEN}, sequence {STEPS}, batch {BATCH}, float32")
    steps = contenders(torch)
    for threads in args.threads:
        threadpool_limits(threads, "blas")  # as cr.set_num_threads; runs on older versions too
        torch.set_num_threads(threads)
        print(f"\n{threads} thread(s); {args.samples} samples of {args.steps} steps, alternated")
        print(machine())
        print(table(alternate_phases(steps, steps=args.steps, samples=args.samples,
                                     warmup=args.warmup, pause=args.pause)))
    if not args.no_memory:
        for length in (STEPS, 1000):
            peak, estimate = training_memory(length)
            print(f"memory, {length} steps: peak {peak:.1f} MB of NumPy allocations in a "
                  f"training step (saved activations + gate gradients: {estimate:.1f} MB)")


if __name__ == "__main__":
    main()
