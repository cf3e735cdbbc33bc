"""Helpers the ``chainrule`` subcommands share: the one-line user error, argument types, and
loading the files and data sets named on the command line."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["CommandError", "positive_int", "positive_float", "input_file", "load_data",
           "load_model"]


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


def positive_float(text: str) -> float:
    """An argparse ``type`` for rates and times: a finite number > 0 (``inf`` and ``nan``,
    which ``float`` accepts, would make every update meaningless).

    Example:
        >>> positive_float("2e-3")
        0.002
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def input_file(path: Path, role: str, what: str) -> Path:
    """``path`` after checking, without opening it, that it is a regular file.

    Args:
        path: the file named on the command line.
        role: what the command calls it, for a missing file ("model file", "input file").
        what: what it should be, for a folder or a FIFO ("a .safetensors file").

    Raises:
        CommandError: no such file, or a folder, FIFO or other non-regular file.
    """
    from ..io import LoadError
    from ..io.files import regular_file

    try:
        regular_file(path, what)
    except FileNotFoundError:
        raise CommandError(f"{role} not found: {path}") from None
    except LoadError as error:
        raise CommandError(str(error)) from None
    return path


def load_data(name: str, seed: int | None = None):
    """``(train, test)`` array pairs of a dataset named on the command line (a catalog name or a
    ``.npz`` path), split with ``seed`` where the data has no split of its own; a missing file
    or unknown name raises ``CommandError``."""
    from .. import datasets

    if name.lower().endswith(".npz"):
        input_file(Path(name), "data file", "a .npz data file")
    return datasets.load(name, **({} if seed is None else {"seed": seed}))


def load_model(path: Path):
    """``cr.load_model(path)``, a missing file or a folder reported as a one-line
    ``CommandError``."""
    from ..io import load_model as load

    return load(input_file(path, "model file", "a .safetensors model file written by chainrule"))
