"""``chainrule predict``: a saved model's predicted classes for inputs in a ``.npy`` or ``.wav``
file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import SpeechFeatures
from ..tensor import Tensor
from ..train import predict
from .common import CommandError, load_model

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``predict`` to the ``chainrule`` command's subcommands."""
    predict = subparsers.add_parser("predict", help="predicted classes for inputs in a .npy file")
    predict.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    predict.add_argument("input", type=Path,
                         help="a .npy array of inputs, one per row, or a .wav recording")
    predict.add_argument("--proba", action="store_true", help="print class probabilities too")
    predict.set_defaults(run=run)


def run(args) -> None:
    """Print the class ``args.model`` predicts for each input (with ``--proba``, the
    probabilities too)."""
    model = load_model(args.model)
    if not args.input.exists():
        raise CommandError(f"input file not found: {args.input}")
    if args.input.suffix.lower() == ".wav":  # a recording, analysed by the model's front end
        inputs = SpeechFeatures.of(model).from_files([args.input])
    else:
        try:
            inputs = np.load(args.input, allow_pickle=False)
        except ValueError as error:
            raise CommandError(f"{args.input} is not a plain .npy array ({error})") from None
        if inputs.dtype.kind not in "fiu":
            raise CommandError(f"{args.input} holds {inputs.dtype} data; expected numbers")
    if inputs.dtype.kind == "f":
        inputs = inputs.astype(np.float32, copy=False)  # token ids stay integers
    logits = predict(model, inputs)
    classes = logits.argmax(axis=1)
    if args.proba:
        proba = Tensor(logits).softmax(axis=1).data
        for label, row in zip(classes, proba):
            print(label, " ".join(f"{p:.4f}" for p in row))
    else:
        print("\n".join(str(label) for label in classes))
