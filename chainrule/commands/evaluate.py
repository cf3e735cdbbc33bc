"""``chainrule evaluate``: the loss and accuracy of a saved model on a data set's test split."""

from __future__ import annotations

from pathlib import Path

from ..train import evaluate
from .common import load_data, load_model

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``evaluate`` to the ``chainrule`` command's subcommands."""
    evaluate = subparsers.add_parser("evaluate", help="loss and accuracy of a saved model")
    evaluate.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    evaluate.add_argument("--data", default="digits", help="dataset whose test split to use")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the dataset's split")
    evaluate.set_defaults(run=run)


def run(args) -> None:
    """Print the test loss and accuracy of ``args.model`` on ``args.data``'s test split."""
    model = load_model(args.model)
    _, (x_test, y_test) = load_data(args.data, args.seed)
    result = evaluate(model, (x_test, y_test), loss="cross_entropy", metrics=("accuracy",))
    print(f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}  "
          f"({len(x_test)} samples)")
