"""``chainrule predict``: a saved model's predictions for inputs in a ``.npy`` or ``.wav`` file,
with class names where the model records them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import CommandError, input_file, load_model

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``predict`` to the ``chainrule`` command's subcommands."""
    predict = subparsers.add_parser(
        "predict", help="predicted classes (or values) for inputs in a .npy or .wav file",
        description="One line per input: the predicted class and, where the model records "
                    "them, its name (tab-separated); a regressor's predicted values.")
    predict.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    predict.add_argument("input", type=Path,
                         help="a .npy array of inputs, one per row, or a .wav recording")
    predict.add_argument("--proba", action="store_true",
                         help="also print each class's probability, under a header line")
    predict.set_defaults(run=run)


def run(args) -> None:
    """Print what ``args.model`` predicts for each input."""
    from ..io import load_metadata
    from .record import read_record

    model = load_model(args.model)
    input_file(args.input, "input file", "a .npy array or a .wav recording")
    metadata = load_metadata(args.model)
    record = read_record(args.model, metadata)
    outputs = _outputs(model, _inputs(model, args.input, record, args.model))
    if record is not None and record["task"] == "regression":
        if args.proba:
            raise CommandError(f"{args.model} is a regressor: --proba applies to classifiers")
        print("\n".join("\t".join(f"{v:.6g}" for v in row) for row in outputs))
        return
    names = metadata.get("classes")
    if not (isinstance(names, list) and len(names) == outputs.shape[1]
            and all(isinstance(n, str) for n in names)):
        names = None
    print("\n".join(_lines(outputs, names, args.proba)))


def _inputs(model, path: Path, record: dict | None, model_path: Path) -> np.ndarray:
    from ..audio import SpeechFeatures
    from ..io.arrays import read_npy
    from .record import prepare_inputs

    if path.suffix.lower() == ".wav":  # a recording, analysed by the model's front end
        if not any(isinstance(m, SpeechFeatures) for m in model.modules()):
            raise CommandError(f"{model_path} is not a speech model (it has no SpeechFeatures "
                               "front end), so it cannot classify a .wav recording")
        inputs = SpeechFeatures.of(model).from_files([path])
    else:
        inputs = read_npy(path)
        if inputs.dtype.kind not in "biuf":
            raise CommandError(f"{path} holds {inputs.dtype} data; expected numbers")
        if inputs.ndim == 0:
            raise CommandError(f"{path} holds a single number; expected one input per row")
        if record is not None and inputs.shape[1:] != record["input_shape"] and (
                inputs[0].size == np.prod(record["input_shape"])):
            inputs = inputs.reshape(len(inputs), *record["input_shape"])  # e.g. flat images
    return prepare_inputs(model_path, str(path), inputs, record)


def _outputs(model, inputs: np.ndarray) -> np.ndarray:
    from ..train import predict

    outputs = predict(model, inputs)
    return outputs.reshape(len(outputs), -1)


def _lines(logits: np.ndarray, names: list[str] | None, proba: bool) -> list[str]:
    """Tab-separated lines: the class (and its name), then with ``proba`` the probabilities
    under a header naming each column."""
    from ..tensor import Tensor

    classes = logits.argmax(axis=1)
    rows = [[str(c)] + ([names[c]] if names else []) for c in classes]
    if not proba:
        return ["\t".join(row) for row in rows]
    header = ["class"] + (["name"] if names else []) + [
        f"p({n})" for n in (names or range(logits.shape[1]))]
    probabilities = Tensor(logits).softmax(axis=1).data
    return ["\t".join(header)] + ["\t".join(row + [f"{p:.4f}" for p in ps])
                                  for row, ps in zip(rows, probabilities)]
