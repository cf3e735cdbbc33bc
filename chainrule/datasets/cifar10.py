"""CIFAR-10 in its binary format: 60,000 colour 32x32 images in ten classes.

Each file is a sequence of 3,073-byte records: one label byte, then 1,024 red, 1,024 green and
1,024 blue pixel bytes (rows of 32). The training set is ``data_batch_1.bin`` ..
``data_batch_5.bin``, the test set ``test_batch.bin``, in a folder ``cifar-10-batches-bin``
(what ``cifar-10-binary.tar.gz`` from the data set's page unpacks to).

The files are looked for, like Fashion-MNIST's, in an explicit folder (``path``), then in
``<data_dir>/cifar10``, ``$CHAINRULE_DATA/cifar10`` and ``~/.cache/chainrule/cifar10``; each
may hold the files or the ``cifar-10-batches-bin`` folder. Nothing is downloaded (170 MB).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._images import _to_images
from ._locate import CACHE_DIR, _data_roots

__all__ = ["CIFAR10_CLASSES", "CIFAR10_URL", "load_cifar10"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_SHAPE = (3, 32, 32)
_RECORD = 1 + 3 * 32 * 32
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = ("test_batch.bin",)
_SUBDIR = "cifar10"


def _read_batches(folder: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    records = []
    for name in names:
        file = folder / name
        size = file.stat().st_size
        if size == 0 or size % _RECORD:
            raise ValueError(
                f"load_cifar10: {file} has {size} bytes, not a whole number of {_RECORD}-byte "
                "records (1 label byte + 3x32x32 pixel bytes)"
            )
        table = np.fromfile(file, dtype=np.uint8).reshape(-1, _RECORD)
        if table[:, 0].max() > 9:
            raise ValueError(f"load_cifar10: {file} has labels above 9; is it CIFAR-100?")
        records.append(table)
    table = np.concatenate(records) if len(records) > 1 else records[0]
    return table[:, 1:], table[:, 0].astype(np.int64)


def _batches_folder(folder: Path) -> Path:
    """``folder`` or its ``cifar-10-batches-bin`` subfolder, whichever holds the files."""
    inner = folder / "cifar-10-batches-bin"
    return inner if inner.is_dir() else folder


def _missing(folder: Path) -> list[str]:
    return [name for name in _TRAIN + _TEST if not (folder / name).is_file()]


def _locate(path, data_dir) -> Path:
    if path is not None:
        folder = _batches_folder(Path(path).expanduser())
        missing = _missing(folder)
        if missing:
            raise FileNotFoundError(f"load_cifar10: {folder} lacks {', '.join(missing)}")
        return folder
    folders = [_batches_folder(root / _SUBDIR) for root in _data_roots(data_dir, CACHE_DIR)]
    for folder in folders:
        if not _missing(folder):
            return folder
    raise FileNotFoundError(
        "load_cifar10: the CIFAR-10 binary files are not in any of "
        f"{', '.join(str(f) for f in folders)}; download the binary version "
        f"(cifar-10-binary.tar.gz) from {CIFAR10_URL} and unpack it into one of them, or "
        "pass path=..."
    )


def load_cifar10(path: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, flatten: bool = False):
    """Load CIFAR-10's binary files with its official train/test split.

    Pixels are scaled from 0..255 to float32 in [0, 1]; labels are int64 class indices 0..9
    (names in ``CIFAR10_CLASSES``).

    Args:
        path: the ``cifar-10-batches-bin`` folder, or a folder containing it; when given,
            nowhere else is looked at.
        data_dir: a data folder whose ``cifar10`` subfolder is looked at first.
        flatten: give rows of 3,072 values (channel, row, column order) instead of images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Raises:
        FileNotFoundError: the files are in none of the folders (the message lists them and
            says where to get the files). ValueError: a file is not CIFAR-10 data.

    **Shape**: ``x`` is ``(N, 3, 32, 32)``, or ``(N, 3072)`` with ``flatten``; ``y`` is ``(N,)``.
    """
    folder = _locate(path, data_dir)
    parts = []
    for names in (_TRAIN, _TEST):
        pixels, labels = _read_batches(folder, names)
        parts.append((_to_images(pixels, _SHAPE, 255, flatten), labels))
    return tuple(parts)
