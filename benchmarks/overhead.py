"""Per-step framework overhead: one training step of a tiny network in chainrule, PyTorch and a
hand-written NumPy loop, timed alternately in one run.

The network is 2-16-16-1 with tanh, an MSE loss and plain SGD on a float32 batch of 32: forward,
backward and update, written as a user would (``nn.Sequential``, ``mse_loss``, ``optim.SGD``).
Its matrix products are tiny, so the time per step is almost all per-op overhead; NumPy's loop
is the floor (the same array math, no framework). All three start from the same weights and
run the same number of steps, so their final losses must agree; the script checks that.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/overhead.py [--samples 30]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import add_arguments, alternate, machine, summary

import chainrule as cr

__all__ = ["framework_step", "numpy_step", "main"]

SIZES = (2, 16, 16, 1)
BATCH = 32
LR = 0.05


def _problem(seed: int = 0):
    """Weights (PyTorch's default uniform ±1/√fan_in) and one fixed batch, all float32."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    x = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    y = (np.sin(x[:, :1]) * np.cos(x[:, 1:])).astype(np.float32)
    return layers, x, y


def framework_step(nn, optim, tensor, layers, x, y, compile=None):
    """The same user code runs on chainrule (``cr.nn, cr.optim, cr.tensor``) and PyTorch
    (``torch.nn, torch.optim, torch.from_numpy``): the names are the same. With ``compile``
    (``cr.compile``) the step of tensors is captured and replayed."""
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 1))
    for linear, (w, b) in zip(model[::2], layers):
        linear.weight.data[...] = tensor(w).data
        linear.bias.data[...] = tensor(b).data
    optimizer = optim.SGD(model.parameters(), lr=LR)
    inputs, targets = tensor(x), tensor(y)

    def tensor_step(inputs, targets):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    run = tensor_step if compile is None else compile(tensor_step)

    def step():
        return run(inputs, targets).item()

    return step


def numpy_step(layers, x, y):
    params = [array.copy() for layer in layers for array in layer]
    w1, b1, w2, b2, w3, b3 = params
    lr = np.float32(LR)

    def step():
        h1 = np.tanh(x @ w1.T + b1)
        h2 = np.tanh(h1 @ w2.T + b2)
        diff = h2 @ w3.T + b3 - y
        loss = (diff * diff).mean()
        d3 = diff * np.float32(2 / diff.size)
        d2 = (d3 @ w3) * (1 - h2 * h2)
        d1 = (d2 @ w2) * (1 - h1 * h1)
        grads = (d1.T @ x, d1.sum(axis=0), d2.T @ h1, d2.sum(axis=0), d3.T @ h2, d3.sum(axis=0))
        for param, grad in zip(params, grads):
            param -= lr * grad
        return float(loss)

    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = add_arguments(parser, steps=200, samples=30, warmup=300).parse_args(argv)
    import torch  # here, not at the top: step_instructions.py reuses the steps without it

    problem = _problem()
    steps = {
        "chainrule": framework_step(cr.nn, cr.optim, cr.tensor, *problem),
        "captured": framework_step(cr.nn, cr.optim, cr.tensor, *problem, compile=cr.compile),
        "pytorch": framework_step(torch.nn, torch.optim, torch.from_numpy, *problem),
        "numpy": numpy_step(*problem),
    }
    print(machine())
    print(f"\n{'-'.join(map(str, SIZES))} tanh MLP, MSE, SGD, batch {BATCH}, float32: "
          f"{args.samples} samples of {args.steps} steps each, alternated\n")
    results = alternate(steps, steps=args.steps, samples=args.samples, warmup=args.warmup,
                        pause=args.pause)
    print(summary(results, ratios=[("captured", "pytorch"), ("chainrule", "pytorch"),
                                   ("captured", "numpy"), ("chainrule", "numpy"),
                                   ("captured", "chainrule")]))

    # Every contender ran the same steps from the same start: one more step's loss must agree.
    losses = {name: step() for name, step in steps.items()}
    print("\nloss after the run: " + ", ".join(f"{k} {v:.6f}" for k, v in losses.items()))
    if not np.allclose(list(losses.values()), losses["numpy"], rtol=1e-3, atol=1e-6):
        raise SystemExit("the three implementations disagree: the comparison is not fair")


if __name__ == "__main__":
    main()
