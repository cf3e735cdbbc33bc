"""Inference of an exported model: onnxruntime against chainrule, timed alternately in one run.

Two models as ``chainrule train`` builds them, with seeded weights, in evaluation mode:

- ``mlp``: ``models.mlp((64,), 10, layers=(256, 128))`` (the digits MLP of ``chainrule train``);
- ``cnn``: ``models.cnn((1, 28, 28), 10)`` (two conv blocks with batch norm, a dense head).

Each is exported with ``cr.onnx.export`` and run in an ``onnxruntime.InferenceSession`` (CPU,
all graph optimisations); chainrule runs ``model(x)`` under ``no_grad``. One step is a forward
pass over one batch of float32 inputs; both sides use ``--threads`` threads (BLAS for chainrule,
intra-op for onnxruntime). The script checks that both give the same outputs (atol 1e-5) first.

Usage:
    python benchmarks/onnx_inference.py [--model mlp] [--batch 1 --batch 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from _common import add_arguments, alternate, machine, summary

MODELS = ("mlp", "cnn")


def build(name: str):
    import chainrule as cr

    cr.manual_seed(0)
    if name == "mlp":
        return cr.models.mlp((64,), 10, layers=(256, 128)), (64,)
    return cr.models.cnn((1, 28, 28), 10), (1, 28, 28)


def contenders(name: str, batch: int, threads: int, folder: str) -> dict:
    """``{"chainrule": step, "onnxruntime": step}`` for one model and batch size."""
    import onnxruntime as ort

    import chainrule as cr

    model, shape = build(name)
    model.eval()
    x = np.random.default_rng(0).normal(size=(batch, *shape)).astype(np.float32)
    path = os.path.join(folder, f"{name}.onnx")
    cr.onnx.export(model, x[:1], path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    tensor = cr.Tensor(x)

    def chainrule_step():
        with cr.no_grad():
            return model(tensor).data

    def onnxruntime_step():
        return session.run(None, {"input": x})[0]

    difference = np.abs(chainrule_step() - onnxruntime_step()).max()
    assert difference <= 1e-5, f"{name}: outputs differ by {difference:.2e}"
    return {"chainrule": chainrule_step, "onnxruntime": onnxruntime_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, action="append",
                        help="model(s) to time (default both)")
    parser.add_argument("--batch", type=int, action="append",
                        help="batch size(s) (default 1 and 256)")
    parser.add_argument("--threads", type=int, default=1, help="threads for each library")
    add_arguments(parser, steps=20, samples=15, warmup=5)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory() as folder, threadpool_limits(args.threads, "blas"):
        print(machine())
        for name in args.model or MODELS:
            for batch in args.batch or (1, 256):
                steps = max(1, args.steps if batch < 64 else args.steps // 10)
                results = alternate(contenders(name, batch, args.threads, folder), steps=steps,
                                    samples=args.samples, warmup=args.warmup, pause=args.pause)
                print(f"\n{name}, batch {batch}, {args.threads} thread(s), {steps} steps/sample")
                print(summary(results, ratios=[("chainrule", "onnxruntime")]))


if __name__ == "__main__":
    main()
