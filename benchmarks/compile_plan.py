"""Where a captured step's time goes: each step of ``cr.compile``'s plan timed on its own, for
the MLP of ``mlp.py`` (784-256-128-10, ReLU, cross-entropy, SGD, batch 128) and the small net
of ``overhead.py``, with the FLOPs of its matrix products and the machine's sgemm rate.

Every replay runs the plan's steps one by one, timing each (``perf_counter`` around it); the
table gives each step's median over the replays and its share of their sum. The sgemm rate is
the best of repeated ``np.matmul`` calls of the largest product's shape, the reference for the
"% of sgemm" column.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compile_plan.py [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import threadpoolctl
from _common import machine, sgemm_rate

import chainrule as cr

__all__ = ["profile", "main"]


def profile(sizes: tuple[int, ...], batch: int, activation: str, replays: int):
    """Median seconds of each plan step and the labels, for one captured training step."""
    cr.manual_seed(0)
    layers: list[cr.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [cr.nn.Linear(a, b), cr.nn.get_activation(activation)]
    model = cr.nn.Sequential(*layers[:-1])
    optimizer = cr.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.random((batch, sizes[0]), dtype=np.float32))
    y = cr.tensor(rng.integers(0, sizes[-1], batch))

    def train_step(x, y):
        loss = cr.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step = cr.compile(train_step)
    for _ in range(3):  # two captured calls, then a replay
        step(x, y)
    plan = step.plans[0]
    times = np.empty((replays, len(plan.steps)))
    for r in range(replays):
        state = plan.new_state([x, y])
        for i, run in enumerate(plan.steps):
            start = time.perf_counter()
            run(state)
            times[r, i] = time.perf_counter() - start
    return np.median(times, axis=0), plan.labels


def _table(sizes, batch, activation, replays, rate) -> str:
    medians, labels = profile(sizes, batch, activation, replays)
    total = medians.sum()
    lines = [f"{'step':44} {'µs':>8} {'share':>6}"]
    lines += [f"{label:44} {t * 1e6:8.1f} {t / total:6.1%}" for label, t in zip(labels, medians)]
    products = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flops = 2 * batch * (2 * products + sum(a * b for a, b in zip(sizes[1:-1], sizes[2:])))
    lines.append(f"{'sum of steps':44} {total * 1e6:8.1f}   {flops / total / 1e9:.1f} GFLOP/s "
                 f"= {flops / total / rate:.0%} of sgemm ({flops:,} FLOPs per step)")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--replays", type=int, default=300, help="timed replays")
    args = parser.parse_args(argv)
    with threadpoolctl.threadpool_limits(args.threads):
        print(machine())
        rate = sgemm_rate(128, 784, 256)
        print(f"\nsgemm (128, 784) @ (784, 256), best of 200: {rate / 1e9:.1f} GFLOP/s")
        for sizes, batch, activation in (((784, 256, 128, 10), 128, "relu"),
                                         ((2, 16, 16, 1), 32, "tanh")):
            print(f"\n{'-'.join(map(str, sizes))} {activation}, batch {batch}, "
                  f"median of {args.replays} replays per step")
            print(_table(sizes, batch, activation, args.replays, rate))


if __name__ == "__main__":
    main()
