"""Progress of the loaders' long steps — synthesis, downloads, corpus reading, feature
extraction — on standard error: a bar in a terminal once a step has run for a second (short
steps print nothing), nothing when standard error is a file or a pipe."""

from __future__ import annotations

import sys

__all__: list[str] = []


def _steps(total: int | None, description: str, unit: str = "it"):
    """A tqdm bar over ``total`` steps, shown only in a terminal and only after a second."""
    from tqdm import tqdm

    from ..train.progress import terminal_columns

    stream = sys.stderr
    terminal = bool(getattr(stream, "isatty", None) and stream.isatty())
    return tqdm(total=total, desc=description, unit=unit, file=stream, delay=1.0, leave=False,
                disable=not terminal, ncols=terminal_columns(stream) if terminal else None,
                unit_scale=unit == "B")


def _say(text: str) -> None:
    """One line on standard error (what a long step is doing, where its result went)."""
    print(text, file=sys.stderr, flush=True)
