"""Conv1d, ConvTranspose2d and Conv3d layers against PyTorch's: one training step each
(forward, backward to the input and the parameters), float32, timed alternately in one run.

The layers share their weights, input and upstream gradient; the script checks that both
libraries compute the same output and gradients before it times them. Sizes: a speech-like
Conv1d (32 sequences of 32 channels, 256 steps, kernel 5), a DCGAN-like upsampling
ConvTranspose2d (32 maps of 64 channels at 8x8 to 32 channels at 16x16, kernel 4, stride 2)
and a small video Conv3d (8 clips of 8 channels, 8x16x16, kernel 3).

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_layers.py --threads 1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_layers.py --threads 2
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import add_arguments, alternate, copy_weights, machine, summary

import chainrule as cr

# name: (chainrule layer, PyTorch class and arguments, input shape)
LAYERS = {
    "conv1d": (lambda: cr.nn.Conv1d(32, 64, 5, padding=2, generator=0),
               ("Conv1d", (32, 64, 5), {"padding": 2}), (32, 32, 256)),
    "conv_transpose2d": (lambda: cr.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1,
                                                       generator=0),
                         ("ConvTranspose2d", (64, 32, 4), {"stride": 2, "padding": 1}),
                         (32, 64, 8, 8)),
    "conv3d": (lambda: cr.nn.Conv3d(8, 16, 3, padding=1, generator=0),
               ("Conv3d", (8, 16, 3), {"padding": 1}), (8, 8, 8, 16, 16)),
}


def steps(torch, name: str):
    """The two libraries' training steps on the same weights and data, checked to agree."""
    make, (cls, args, kwargs), shape = LAYERS[name]
    ours = make()
    theirs = getattr(torch.nn, cls)(*args, **kwargs)
    copy_weights((p.data for p in ours.parameters()), theirs)
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    tx = torch.from_numpy(x.data.copy()).requires_grad_()
    upstream = rng.standard_normal(ours(x).shape, dtype=np.float32)
    t_upstream = torch.from_numpy(upstream)

    def chainrule_step():
        x.grad = None
        ours.zero_grad()
        ours(x).backward(upstream)

    def pytorch_step():
        tx.grad = None
        theirs.zero_grad()
        theirs(tx).backward(t_upstream)

    chainrule_step()
    pytorch_step()
    pairs = [(x.grad, tx.grad)] + [(p.grad, q.grad) for p, q in zip(ours.parameters(),
                                                                      theirs.parameters())]
    for mine, other in pairs:
        np.testing.assert_allclose(mine, other.numpy(), rtol=1e-3, atol=1e-3)
    return {"chainrule": chainrule_step, "pytorch": pytorch_step}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, steps=5, samples=15, warmup=3)
    parser.add_argument("--layer", choices=(*LAYERS, "all"), default="all")
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads (default: theirs)")
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads, "blas")
    print(machine())
    for name in LAYERS if args.layer == "all" else (args.layer,):
        contenders = steps(torch, name)
        print(f"\n{name}: one training step, input {LAYERS[name][2]}, float32 "
              f"(torch {torch.get_num_threads()} threads); {args.samples} samples of "
              f"{args.steps} steps, alternated")
        results = alternate(contenders, steps=args.steps, samples=args.samples,
                            warmup=args.warmup, pause=args.pause)
        print(summary(results, ratios=[("chainrule", "pytorch")]))


if __name__ == "__main__":
    main()
