"""``chainrule evaluate``: the loss and metrics of a saved model on the test split it was
tested on when it was trained (``chainrule.commands.record``)."""

from __future__ import annotations

from pathlib import Path

from .common import load_model

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``evaluate`` to the ``chainrule`` command's subcommands."""
    evaluate = subparsers.add_parser(
        "evaluate", help="test loss and accuracy of a saved model",
        description="The test loss and metrics of a model written by chainrule train, on the "
                    "test split it recorded (same data set, split seed and preprocessing).")
    evaluate.add_argument("model", type=Path, help="a .safetensors file written by chainrule")
    evaluate.add_argument("--data", help="the data set (default: the one the model records; "
                                         "another .npz file for a model trained on one)")
    evaluate.add_argument("--seed", type=int,
                          help="seed of the split, for a model that records none (default 0)")
    evaluate.set_defaults(run=run)


def run(args) -> None:
    """Print the test loss and metrics of ``args.model`` on its test split."""
    from ..io import load_metadata
    from ..train import evaluate
    from .record import recorded_test_split
    from .train import describe

    model = load_model(args.model)
    x_test, y_test, record, _ = recorded_test_split(args.model, load_metadata(args.model),
                                                    args.data, args.seed)
    loss = "cross_entropy" if record is None else record["loss"]
    result = evaluate(model, (x_test, y_test), loss=loss)
    print(f"{describe(result, 'test')}  ({len(x_test)} samples)")
