"""LSTM speed: one training step (forward and backward) in chainrule and in PyTorch, timed
alternately in one run; plus inference (forward only) and the memory of long sequences.

The layer is the issue's: ``LSTM(input_size=64, hidden_size=256)`` on float32 batches of 32
sequences of 50 steps, time-major; the step is ``lstm(x)`` then ``output.sum().backward()``
(gradients for the input and all weights). Both libraries start from the same weights (chainrule's
seeded initialisation copied into PyTorch), and the script checks that outputs and gradients
agree before timing anything.

Memory: a training step's peak of NumPy allocations in chainrule (``tracemalloc``) for sequences
of 50 and 1,000 steps (batch 32, hidden 256), against the activations the fused op keeps per
step (4 gates, the cell, its tanh and the output: 7·B·H floats) and the gate gradients of the
backward pass (4·B·H).

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/rnn.py [--samples 30]
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
from _common import add_arguments, alternate, machine, summary

import chainrule as cr

INPUT, HIDDEN, STEPS, BATCH = 64, 256, 50, 32


def _training_step(lstm, x):
    """One step of either library: both spell it the same way."""

    def train():
        lstm.zero_grad()
        x.grad = None
        output, _ = lstm(x)
        output.sum().backward()
        return output

    return train


def _inference(lstm, x, library):
    """A forward pass without recording a graph, in either library."""

    def infer():
        with library.no_grad():
            return lstm(x)[0]

    return infer


def contenders(torch) -> dict:
    """Training and inference steps of both libraries on the same weights and data."""
    ours = cr.nn.LSTM(INPUT, HIDDEN, generator=0)
    theirs = torch.nn.LSTM(INPUT, HIDDEN)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    x_ours, x_theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    train_ours, train_theirs = _training_step(ours, x_ours), _training_step(theirs, x_theirs)
    infer_ours, infer_theirs = _inference(ours, x_ours, cr), _inference(theirs, x_theirs, torch)

    # The comparison means something only if both compute the same thing.
    out_ours, out_theirs = train_ours(), train_theirs()
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-3, atol=1e-4)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-3, atol=1e-3,
                                   err_msg=name)
    return {"chainrule train": train_ours, "pytorch train": train_theirs,
            "chainrule forward": infer_ours, "pytorch forward": infer_theirs}


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
    args = parser.parse_args()
    import torch

    print(f"LSTM input {INPUT}, hidden {HIDDEN}, sequence {STEPS}, batch {BATCH}, float32")
    print(machine())
    results = alternate(contenders(torch), steps=args.steps, samples=args.samples,
                        warmup=args.warmup, pause=args.pause)
    print(summary(results, ratios=[("chainrule train", "pytorch train"),
                                   ("chainrule forward", "pytorch forward")]))
    for steps in (STEPS, 1000):
        peak, estimate = training_memory(steps)
        print(f"memory, {steps} steps: peak {peak:.1f} MB of NumPy allocations in a training "
              f"step (saved activations + gate gradients: {estimate:.1f} MB)")


if __name__ == "__main__":
    main()
