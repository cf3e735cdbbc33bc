"""``chainrule export``: a saved model as an ONNX file, from the shell::

    chainrule export runs/digits/model.safetensors --onnx model.onnx --input-shape 1,8,8

The input shape (without the batch axis) is read from the model where its first layer fixes
it (a ``Linear``, the speech front end, token ids of text models); otherwise pass it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..commands.common import CommandError, load_model, positive_int

__all__ = ["add_command", "example_input"]


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--input-shape takes sizes like 1,28,28, got "
                                         f"{text!r}") from None
    if any(size < 1 for size in shape):
        raise argparse.ArgumentTypeError(f"input sizes must be positive, got {text!r}")
    return shape


def add_command(subparsers) -> None:
    """Add the ``export`` subcommand to the ``chainrule`` parser."""
    export = subparsers.add_parser("export", help="write a saved model as an ONNX file")
    export.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    export.add_argument("--onnx", type=Path, required=True, help="the .onnx file to write")
    export.add_argument("--input-shape", type=_shape,
                        help="one input's shape without the batch axis, e.g. 1,28,28 "
                             "(default: read from the model where it can be)")
    export.add_argument("--opset", type=positive_int, help="ONNX opset (default 17)")
    export.add_argument("--fixed-batch", action="store_true",
                        help="fix the batch size to 1 instead of leaving it open")
    export.set_defaults(run=_export)


def example_input(model, input_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A batch of one input for ``model``: zeros of ``(1, *input_shape)``, or, without a
    shape, of the shape its first layer fixes (token ids of two steps for text models, so
    the sequence axis stays open)."""
    from .. import nn
    from ..audio.frontend import SpeechFeatures

    leaves = [m for m in model.modules() if not m._modules]
    first = next((m for m in leaves if not isinstance(m, (nn.Flatten, nn.Dropout))), None)
    if isinstance(first, nn.Embedding):
        return np.zeros((1, *(input_shape or (2,))), dtype=np.int64)
    if input_shape is None:
        if isinstance(first, SpeechFeatures):
            input_shape = first.output_shape
        elif isinstance(first, nn.Linear):
            input_shape = (first.in_features,)
        else:
            raise CommandError(f"cannot tell the input shape of a model starting with "
                               f"{first!r}; pass --input-shape (without the batch axis), "
                               "e.g. --input-shape 1,28,28")
    return np.zeros((1, *input_shape), dtype=np.float32)


def _export(args) -> None:
    from . import export

    model = load_model(args.model)
    example = example_input(model, args.input_shape)
    try:
        proto = export(model, example, args.onnx, opset=args.opset,
                       dynamic_batch=not args.fixed_batch)
    except ImportError as error:
        raise CommandError(str(error)) from None
    shape = ", ".join(d.dim_param or str(d.dim_value)
                      for d in proto.graph.input[0].type.tensor_type.shape.dim)
    print(f"wrote {args.onnx}: input ({shape}) {example.dtype}, "
          f"{len(proto.graph.node)} nodes, opset {proto.opset_import[0].version}")
