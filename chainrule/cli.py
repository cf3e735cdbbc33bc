"""The ``chainrule`` command: train, evaluate and predict from the shell.

``chainrule train`` with no arguments is the README's main job: an MLP on the embedded digits,
a progress bar, and the test accuracy at the end. Errors (unknown dataset, wrong shapes, a
missing or bad file) print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

from .distributed.world import abort_if_parallel

__all__ = ["main", "build_parser", "CommandError", "positive_int", "load_data", "load_model"]

# Subcommands that live beside the feature they expose: each module defines
# ``add_command(subparsers)``, which adds its parser and sets ``run=`` to a function of ``args``.
_COMMAND_MODULES: list[str] = ["chainrule.explain.command", "chainrule.text.command",
                               "chainrule.distributed.command"]


class CommandError(Exception):
    """A user error the command reports in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with the command's one-line errors: no usage block before the message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse ``type`` for counts: the integer in ``text``, which must be >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _layer_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes sizes like 256,128, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule", description="Train, evaluate and inspect neural networks with chainrule."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and report its test accuracy")
    train.add_argument("--data", default="digits",
                       help="digits (default, embedded), fashion-mnist, mnist-5k, the texts "
                            "bbc-news or tweet-sentiment, or PATH.npz with x_train, y_train, "
                            "x_test, y_test")
    train.add_argument("--model", default=None,
                       help="mlp or cnn; for texts bow, lstm or transformer; speech-cnn "
                            "(default: the data set's usual model, see below)")
    train.add_argument("--layers", type=_layer_sizes, default=(256, 128),
                       help="hidden layer sizes of the MLP (default 256,128)")
    train.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    train.add_argument("--optimizer", default="adam", help="sgd, adam, adamw, rmsprop, adagrad")
    train.add_argument("--lr", type=float, default=2e-3, help="learning rate (default 2e-3)")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="default: 40 for digits, 10 for texts and Fashion-MNIST, 5 for speech")
    train.add_argument("--batch-size", type=positive_int, default=32)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, help="write model.safetensors, history.csv, curves")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="loss and accuracy of a saved model")
    evaluate.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    evaluate.add_argument("--data", default="digits", help="dataset whose test split to use")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the dataset's split")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="predicted classes for inputs in a .npy file")
    predict.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    predict.add_argument("input", type=Path,
                         help="a .npy array of inputs, one per row, or a .wav recording")
    predict.add_argument("--proba", action="store_true", help="print class probabilities too")
    predict.set_defaults(run=_predict)

    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_command(commands)
    return parser


def load_data(name: str, seed: int):
    """``(train, test)`` array pairs of a dataset named on the command line (a catalog name or a
    ``.npz`` path), split with ``seed`` where the data has no split of its own; a missing file
    or unknown name raises ``CommandError``."""
    from . import datasets

    if name.endswith(".npz") and not Path(name).exists():
        raise CommandError(f"data file not found: {name}")
    return datasets.load(name, seed=seed)


# The model and epochs ``chainrule train --data NAME`` uses unless told otherwise.
_DATA_DEFAULTS = {
    "fashion-mnist": {"epochs": 10},
    "bbc-news": {"model": "bow", "epochs": 10},
    "tweet-sentiment": {"model": "bow", "epochs": 4},
    "spoken-digits": {"model": "speech-cnn", "epochs": 5},
}


def _train(args) -> None:
    import chainrule as cr

    from . import models, optim
    from .data import train_test_split
    from .distributed import convert_sync_batchnorm, is_main, world_size
    from .train.callbacks import CSVLogger

    defaults = _DATA_DEFAULTS.get(args.data, {})
    args.model = args.model or defaults.get("model", "mlp")
    args.epochs = args.epochs or defaults.get("epochs", 40)
    (x_train, y_train), (x_test, y_test) = load_data(args.data, args.seed)
    if y_train.ndim != 1:
        raise CommandError(f"{args.data} has targets of shape {y_train.shape[1:]} per sample, "
                           "not one class label; for a language model use chainrule train-lm")
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=0.1, seed=args.seed, stratify=y_train
    )
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    cr.manual_seed(args.seed)
    options = {"layers": args.layers, "activation": args.activation} if args.model == "mlp" else {}
    if x_train.dtype.kind in "iu":  # token ids: the model needs the vocabulary's size
        options["vocab_size"] = int(max(x_train.max(), x_test.max())) + 1
    model = models.build(args.model, x_train.shape[1:], num_classes, **options)
    if world_size() > 1:  # batch statistics of the global batch: the single-process result
        model = convert_sync_batchnorm(model)
    optimizer = optim.get(args.optimizer, model.parameters(), lr=args.lr)
    callbacks = []
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        callbacks.append(CSVLogger(args.out / "history.csv"))

    if is_main():  # under mpirun, rank 0 speaks for all
        print(f"chainrule train: {args.model} on {args.data} "
              f"({len(x_train)} train, {len(x_val)} validation, {len(x_test)} test samples, "
              f"{model.num_parameters():,} parameters)")
    start = time.perf_counter()
    history = cr.fit(
        model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
        epochs=args.epochs, batch_size=args.batch_size, validation_data=(x_val, y_val),
        metrics=("accuracy",), callbacks=callbacks, progress=not args.quiet, seed=args.seed,
    )
    seconds = time.perf_counter() - start
    if not is_main():
        return
    result = cr.evaluate(model, (x_test, y_test), loss="cross_entropy", metrics=("accuracy",))
    print(f"trained {len(history.epoch)} epochs in {seconds:.1f} s")
    print(f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}")
    if args.out:
        # Text data: the vocabulary (and class names) travel with the weights.
        metadata = cr.datasets.text_metadata(args.data, seed=args.seed)
        cr.save(model, args.out / "model.safetensors", metadata=metadata)
        written = ["model.safetensors", "history.csv"]
        if _plot_history(history.history, args.out / "curves.png"):
            written.append("curves.png")
        print(f"wrote {', '.join(written)} to {args.out}")


def _plot_history(history: dict, path: Path) -> bool:
    """Loss and accuracy curves as a PNG, when matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for key in (metric, f"val_{metric}"):
            if key in history:
                axis.plot(range(1, len(history[key]) + 1), history[key], label=key)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def load_model(path: Path):
    """``cr.load_model(path)``, with a missing file reported as a one-line ``CommandError``."""
    import chainrule as cr

    if not path.exists():
        raise CommandError(f"model file not found: {path}")
    return cr.load_model(path)


def _evaluate(args) -> None:
    import chainrule as cr

    model = load_model(args.model)
    _, (x_test, y_test) = load_data(args.data, args.seed)
    result = cr.evaluate(model, (x_test, y_test), loss="cross_entropy", metrics=("accuracy",))
    print(f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}  "
          f"({len(x_test)} samples)")


def _predict(args) -> None:
    import chainrule as cr

    model = load_model(args.model)
    if not args.input.exists():
        raise CommandError(f"input file not found: {args.input}")
    if args.input.suffix.lower() == ".wav":  # a recording, analysed by the model's front end
        inputs = cr.audio.SpeechFeatures.of(model).from_files([args.input])
    else:
        try:
            inputs = np.load(args.input, allow_pickle=False)
        except ValueError as error:
            raise CommandError(f"{args.input} is not a plain .npy array ({error})") from None
        if inputs.dtype.kind not in "fiu":
            raise CommandError(f"{args.input} holds {inputs.dtype} data; expected numbers")
    if inputs.dtype.kind == "f":
        inputs = inputs.astype(np.float32, copy=False)  # token ids stay integers
    logits = cr.predict(model, inputs)
    classes = logits.argmax(axis=1)
    if args.proba:
        proba = cr.Tensor(logits).softmax(axis=1).data
        for label, row in zip(classes, proba):
            print(label, " ".join(f"{p:.4f}" for p in row))
    else:
        print("\n".join(str(label) for label in classes))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one clear line for the user; --debug shows the traceback
        if args.debug:
            raise
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        abort_if_parallel(2)  # under mpirun the other ranks would wait for this one forever
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
