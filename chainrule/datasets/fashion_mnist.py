"""Fashion-MNIST: 70,000 grey 28x28 images of clothing in ten classes (Zalando, MIT licence).

The four IDX files are looked for, in order, in an explicit folder (``path``), in
``<data_dir>/fashion-mnist``, in ``$CHAINRULE_DATA/fashion-mnist``, in the user cache
(``~/.cache/chainrule/fashion-mnist``) and in the folder of Debian's ``dataset-fashion-mnist``
package (unless ``$CHAINRULE_NO_SYSTEM_DATA`` is set); failing all of those they are
downloaded from the official site, checked against known SHA-256 sums, into the first of
``data_dir``, ``$CHAINRULE_DATA`` or the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._download import _download
from ._images import _to_images
from ._locate import CACHE_DIR, _data_roots, _system_folders
from ._progress import _say
from .cache import note
from .idx import read_idx

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_URL", "load_fashion_mnist"]

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_SUBDIR = "fashion-mnist"

# SHA-256 of each file's uncompressed content (confirmed against Debian's copy of the data).
_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def _files_in(folder: Path) -> dict[str, Path] | None:
    """The four files in ``folder`` (each gzip-compressed or raw), or None if any is missing."""
    found = {}
    for name in _FILES:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            return None
    return found


def _locate(path, data_dir, download: bool, url: str) -> dict[str, Path]:
    if path is not None:
        found = _files_in(Path(path).expanduser())
        if found is None:
            raise FileNotFoundError(
                f"load_fashion_mnist: {path} does not hold the four Fashion-MNIST files "
                f"({', '.join(_FILES)}, each optionally .gz)"
            )
        return found
    roots = _data_roots(data_dir, CACHE_DIR)
    folders = [root / _SUBDIR for root in roots] + _system_folders(DEBIAN_DIR)
    for folder in folders:
        found = _files_in(folder)
        if found is not None:
            return found
    if not download:
        raise FileNotFoundError(
            "load_fashion_mnist: the files are not in any of "
            f"{', '.join(str(f) for f in folders)}; pass path=..., install Debian's "
            "dataset-fashion-mnist package, or allow download=True"
        )
    target = roots[0] / _SUBDIR
    _say(f"fashion-mnist: downloading its 4 files (30 MB) from {url} into {target} (once)")
    files = {name: _download(f"{url}{name}.gz", target / f"{name}.gz", sha256)
             for name, sha256 in _FILES.items()}
    _say(note(target))
    return files


def _read_part(images_file: Path, labels_file: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"load_fashion_mnist: {images_file} should hold uint8 images of shape (N, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.shape != (len(images),):
        raise ValueError(
            f"load_fashion_mnist: {labels_file} should hold {len(images)} uint8 labels (one per "
            f"image), got {labels.dtype} {labels.shape}"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"load_fashion_mnist: {labels_file} has labels above 9")
    return images, labels.astype(np.int64)


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    url: str = FASHION_MNIST_URL,
    flatten: bool = False,
):
    """Load Fashion-MNIST's official split: 60,000 training and 10,000 test images.

    Pixels are scaled from 0..255 to float32 in [0, 1]; labels are int64 class indices 0..9
    (names in ``FASHION_MNIST_CLASSES``).

    Args:
        path: a folder holding the four IDX files (``train-images-idx3-ubyte.gz`` ...); when
            given, nowhere else is looked at.
        data_dir: a data folder whose ``fashion-mnist`` subfolder is looked at first and
            receives a download.
        download: download the files when they are found nowhere.
        url: base address of the files (a mirror); each file's content is still checked.
        flatten: give rows of 784 pixels instead of ``(1, 28, 28)`` images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Raises:
        FileNotFoundError: the files are missing and ``download`` is off.
        ConnectionError: the download failed. ValueError: a file is corrupt or its checksum
            does not match.

    **Shape**: ``x`` is ``(N, 1, 28, 28)``, or ``(N, 784)`` with ``flatten``; ``y`` is ``(N,)``.
    """
    files = _locate(path, data_dir, download, url)
    parts = []
    for prefix in ("train", "t10k"):
        images, labels = _read_part(
            files[f"{prefix}-images-idx3-ubyte"], files[f"{prefix}-labels-idx1-ubyte"]
        )
        parts.append((_to_images(images, (1, 28, 28), 255, flatten), labels))
    return tuple(parts)
