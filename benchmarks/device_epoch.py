"""Training epochs on a device: chainrule there, chainrule on the CPU, and PyTorch on the same
device, timed alternately in one run.

Three networks, written once as user code for both libraries (the names are the same):

- ``lenet`` and ``wide``: the CNNs of ``benchmarks/cnn.py`` (an epoch is 5,000 images of
  1x28x28 in batches of 64, SGD lr 0.01);
- ``mlp``: the 784-256-128-10 ReLU network of ``benchmarks/mlp.py`` (an epoch is 60,000
  vectors in batches of 128, SGD lr 0.1).

The data is seeded noise (the time does not depend on the values), put on the device once
before timing, as a training loop with the data set in device memory would. Every library
starts from chainrule's seeded weights, so their losses after the run must agree (checked).
GPU work is asynchronous: each timed epoch ends by waiting for the device
(``cr.cuda.synchronize``, ``torch.cuda.synchronize``). The ``--warmup`` epochs run for the device
contenders only (kernel compilation, memory pools); a CPU epoch needs none, and it is the long
one.

The CPU contender runs with ``--cpu-threads`` BLAS threads (2 by default: the project's
reference machine has 2 cores). It is that machine's figure only where the script runs there;
on a GPU host it is its own CPU limited to those threads.

Usage:
    python benchmarks/device_epoch.py --device cuda              # on a GPU machine
    python benchmarks/device_epoch.py --device cpu --quick       # a dry run anywhere
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import add_arguments, alternate, copy_weights, machine, summary

NETS = {  # batch, learning rate, images per epoch, input shape
    "lenet": (64, 0.01, 5000, (1, 28, 28)),
    "wide": (64, 0.01, 5000, (1, 28, 28)),
    "mlp": (128, 0.1, 60000, (784,)),
}


def build(nn, net: str):
    """The network under test, in ``nn`` = ``cr.nn`` or ``torch.nn``."""
    if net == "lenet":
        return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    if net == "wide":
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def data(net: str, count: int):
    rng = np.random.default_rng(0)
    shape = NETS[net][3]
    return (rng.random((count, *shape), dtype=np.float32),
            rng.integers(0, 10, count).astype(np.int64))


def chainrule_trainer(net: str, x, y, device: str):
    """``(epoch, loss)`` for chainrule on ``device``."""
    import chainrule as cr

    batch, lr = NETS[net][:2]
    cr.manual_seed(0)
    model = build(cr.nn, net).to(device)
    optimizer = cr.optim.SGD(model.parameters(), lr=lr)
    batches = [(cr.tensor(x[i:i + batch], device=device), cr.tensor(y[i:i + batch], device=device))
               for i in range(0, len(x), batch)]
    wait = cr.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    return _epoch_and_loss(cr.nn.functional, model, optimizer, batches, wait)


def torch_trainer(net: str, x, y, device: str):
    """``(epoch, loss)`` for PyTorch on ``device``, from chainrule's initial weights."""
    import torch

    import chainrule as cr

    batch, lr = NETS[net][:2]
    cr.manual_seed(0)
    weights = [p.numpy() for p in build(cr.nn, net).parameters()]
    model = build(torch.nn, net).to(device)
    copy_weights(weights, model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batches = [(torch.from_numpy(x[i:i + batch]).to(device),
                torch.from_numpy(y[i:i + batch]).to(device)) for i in range(0, len(x), batch)]
    wait = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    return _epoch_and_loss(torch.nn.functional, model, optimizer, batches, wait)


def _epoch_and_loss(functional, model, optimizer, batches, wait):
    """``(epoch, loss)`` closures over one framework's model, optimizer and batches: an epoch
    of SGD steps (then ``wait`` for the device), and the loss of the first batch."""

    def epoch():
        for inputs, labels in batches:
            optimizer.zero_grad()
            functional.cross_entropy(model(inputs), labels).backward()
            optimizer.step()
        wait()

    def loss() -> float:
        inputs, labels = batches[0]
        return float(functional.cross_entropy(model(inputs), labels).item())

    return epoch, loss


def _torch_on(device: str) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return device == "cpu" or (device.startswith("cuda") and torch.cuda.is_available())


def _limited(threads: int | None, epoch):
    """``epoch`` run with at most ``threads`` BLAS threads (None: as many as BLAS likes)."""
    from threadpoolctl import threadpool_limits

    def run():
        with threadpool_limits(threads):
            epoch()
    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, steps=1, samples=5, warmup=1)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:1 or cpu")
    parser.add_argument("--net", choices=(*NETS, "all"), default="all")
    parser.add_argument("--cpu-threads", type=int, default=2,
                        help="BLAS threads of the CPU contender (0: skip it)")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of an epoch, for a dry run of the script")
    args = parser.parse_args(argv)
    import chainrule as cr

    if args.device.startswith("cuda") and not cr.cuda.is_available():
        raise SystemExit(f"--device {args.device}: no CUDA device visible to CuPy")
    print(machine())
    if args.device.startswith("cuda"):
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        print(f"GPU: {props['name'].decode()}, CuPy {cupy.__version__}")
    nets = tuple(NETS) if args.net == "all" else (args.net,)
    for net in nets:
        count = NETS[net][2] // (10 if args.quick else 1)
        x, y = data(net, count)
        device = args.device
        trainers = {f"chainrule-{device}": chainrule_trainer(net, x, y, device)}
        if args.cpu_threads and device != "cpu":
            trainers["chainrule-cpu"] = chainrule_trainer(net, x, y, "cpu")
        if _torch_on(device):
            trainers[f"torch-{device}"] = torch_trainer(net, x, y, device)
        limits = {name: args.cpu_threads if name.endswith("-cpu") and args.cpu_threads else None
                  for name in trainers}

        print(f"\n{net}: one epoch of {count} samples, batch {NETS[net][0]}, float32, SGD; "
              f"{args.samples} samples, alternated; CPU contender at {args.cpu_threads} threads")
        for name, (epoch, _) in trainers.items():  # kernels compile, memory pools fill
            if not name.endswith("-cpu"):
                for _ in range(args.warmup):
                    epoch()
        results = alternate({name: _limited(limits[name], epoch)
                             for name, (epoch, _) in trainers.items()},
                            steps=args.steps, samples=args.samples, warmup=0, pause=args.pause)
        mine = f"chainrule-{device}"
        ratios = [("chainrule-cpu", mine)] if "chainrule-cpu" in results and mine != (
            "chainrule-cpu") else []
        ratios += [(mine, other) for other in results if other.startswith("torch")]
        print(summary({name: times / 1e3 for name, times in results.items()},
                      ratios=ratios).replace("µs/step", "ms/epoch"))
        losses = {name: loss() for name, (_, loss) in trainers.items()}
        print("loss after the run: " + ", ".join(f"{k} {v:.5f}" for k, v in losses.items()))
        # Contenders that trained the same epochs (the CPU one skipped the warm-up) must agree.
        same = [v for name, v in losses.items() if name.endswith("-cpu") == mine.endswith("-cpu")]
        if not all(np.isclose(v, losses[mine], rtol=2e-2, atol=1e-3) for v in same):
            raise SystemExit("the contenders disagree on the loss: the comparison is not fair")


if __name__ == "__main__":
    main()
