"""Helpers shared by the image loaders: pixels to float32 in [0, 1], and CSV image tables."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..data.split import train_test_split

__all__: list[str] = []


def _to_images(pixels: np.ndarray, shape: tuple[int, ...], max_value: int, flatten: bool):
    """Integer pixels ``(N, ...)`` to float32 in [0, 1] shaped ``(N, *shape)`` or ``(N, prod)``."""
    images = pixels.astype(np.float32)
    images /= np.float32(max_value)
    return images.reshape(len(images), -1) if flatten else images.reshape(len(images), *shape)


def _load_csv_images(
    file: Path, name: str, side: int, max_value: int, test_size, seed, flatten: bool
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A gzip CSV with ``side * side`` pixel columns then the label, split stratified by seed."""
    try:
        with gzip.open(file, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{name}: cannot read {file}: {exc}") from exc
    columns = side * side + 1
    if table.shape[1] != columns or len(table) == 0:
        raise ValueError(
            f"{name}: {file} should hold rows of {columns} values ({side}x{side} pixels, then "
            f"the label), got a table of shape {table.shape}"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > max_value or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{name}: {file} has pixels outside 0..{max_value} or labels outside 0..9")
    x_train, x_test, y_train, y_test = train_test_split(
        pixels, labels, test_size=test_size, seed=seed, stratify=labels
    )
    shape = (1, side, side)
    return (
        (_to_images(x_train, shape, max_value, flatten), y_train),
        (_to_images(x_test, shape, max_value, flatten), y_test),
    )
