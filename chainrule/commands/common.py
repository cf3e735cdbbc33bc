"""Helpers the ``chainrule`` subcommands share: the one-line user error, argument types, and
loading data sets and models named on the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["CommandError", "positive_int", "load_data", "load_model"]


class CommandError(Exception):
    """A user error the command reports in one line (exit status 2, no traceback)."""


def positive_int(text: str) -> int:
    """An argparse ``type`` for counts: the integer in ``text``, which must be >= 1.

    Example:
        >>> positive_int("3")
        3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def load_data(name: str, seed: int):
    """``(train, test)`` array pairs of a dataset named on the command line (a catalog name or a
    ``.npz`` path), split with ``seed`` where the data has no split of its own; a missing file
    or unknown name raises ``CommandError``."""
    from .. import datasets

    if name.endswith(".npz") and not Path(name).exists():
        raise CommandError(f"data file not found: {name}")
    return datasets.load(name, seed=seed)


def load_model(path: Path):
    """``cr.load_model(path)``, with a missing file reported as a one-line ``CommandError``."""
    from ..io import load_model as load

    if not path.exists():
        raise CommandError(f"model file not found: {path}")
    return load(path)
