"""``chainrule train``: train a model on a data set and report its test accuracy.

With no arguments it is the README's main job: an MLP on the embedded digits, a progress bar,
and the test accuracy at the end. ``--out DIR`` writes the model, its history and its curves.
Under ``mpirun`` (``chainrule launch -n 4 -- chainrule train …``) it trains data-parallel with
the single-process result; rank 0 prints and writes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .. import datasets, models, optim
from ..data import train_test_split
from ..distributed import convert_sync_batchnorm, is_main, world_size
from ..io import save
from ..random import manual_seed
from ..train import evaluate, fit
from ..train.callbacks import CSVLogger
from .common import CommandError, load_data, positive_int

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``train`` to the ``chainrule`` command's subcommands."""
    train = subparsers.add_parser("train", help="train a model and report its test accuracy")
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
    train.set_defaults(run=run)


def _layer_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes sizes like 256,128, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


# The model and epochs ``chainrule train --data NAME`` uses unless told otherwise.
_DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "fashion-mnist": {"epochs": 10},
    "bbc-news": {"model": "bow", "epochs": 10},
    "tweet-sentiment": {"model": "bow", "epochs": 4},
    "spoken-digits": {"model": "speech-cnn", "epochs": 5},
}


def run(args) -> None:
    """Train ``args.model`` on ``args.data``; print the test loss and accuracy; write ``--out``."""
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
    manual_seed(args.seed)
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
    history = fit(
        model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
        epochs=args.epochs, batch_size=args.batch_size, validation_data=(x_val, y_val),
        metrics=("accuracy",), callbacks=callbacks, progress=not args.quiet, seed=args.seed,
    )
    seconds = time.perf_counter() - start
    if not is_main():  # rank 0 evaluates, reports and writes the files
        return
    result = evaluate(model, (x_test, y_test), loss="cross_entropy", metrics=("accuracy",))
    print(f"trained {len(history.epoch)} epochs in {seconds:.1f} s")
    print(f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}")
    if args.out:
        # Text data: the vocabulary (and class names) travel with the weights.
        metadata = datasets.text_metadata(args.data, seed=args.seed)
        save(model, args.out / "model.safetensors", metadata=metadata)
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
