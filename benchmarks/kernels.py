"""The NumPy kernels behind two choices in chainrule, timed alternately in one run.

1. ``nn.Linear`` keeps its weight ``W`` (out, in) column-major. Each matrix product of the MLP
   benchmark's layers (784-256-128-10, batch 128, float32) is timed with ``W`` row-major and
   column-major: the forward ``X Wᵀ``, the weight gradient ``Gᵀ X`` (written in ``W``'s layout)
   and the input gradient ``G W``.
2. ReLU compares against an array of zeros (``backend.zeros_like_readonly``) rather than the
   scalar 0: ``maximum(z, 0)`` against ``maximum(z, zeros)`` on a (128, 256) float32 batch.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/kernels.py [--samples 60]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import add_arguments, alternate, machine, summary

from chainrule.backend import zeros_like_readonly

SIZES = (784, 256, 128, 10)
BATCH = 128


def _products(rng) -> dict:
    """Each layer's three products, with W row-major ('C') and column-major ('F')."""
    contenders = {}
    for layer, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
        x = rng.random((BATCH, n_in), dtype=np.float32)
        g = rng.standard_normal((BATCH, n_out), dtype=np.float32)
        row_major = rng.standard_normal((n_out, n_in), dtype=np.float32)
        for order, w in (("C", row_major), ("F", np.asfortranarray(row_major))):
            contenders[f"layer{layer} X Wᵀ {order}"] = lambda x=x, w=w: x @ w.T
            contenders[f"layer{layer} Gᵀ X {order}"] = (
                lambda g=g, x=x, w=w: np.matmul(g.T, x, out=np.empty_like(w)))
            if layer > 1:  # the first layer's input needs no gradient
                contenders[f"layer{layer} G W {order}"] = lambda g=g, w=w: g @ w
    return contenders


def _relu(rng) -> dict:
    z = rng.standard_normal((BATCH, SIZES[1]), dtype=np.float32)
    return {"relu maximum(z, 0)": lambda: np.maximum(z, 0),
            "relu maximum(z, zeros)": lambda: np.maximum(z, zeros_like_readonly(z))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, steps=10, samples=60, warmup=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(machine() + "\n")
    for group in (_products(rng), _relu(rng)):
        results = alternate(group, steps=args.steps, samples=args.samples, warmup=args.warmup,
                            pause=args.pause / 100)  # µs-scale calls: a short settle suffices
        pairs = [(a, a[:-1] + "C") for a in results if a.endswith(" F")]
        print(summary(results, ratios=pairs or [tuple(results)[::-1]]) + "\n")


if __name__ == "__main__":
    main()
