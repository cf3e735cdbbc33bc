"""``load(name)``: every data set by one string, for the command line and configuration files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..names import lookup
from .cifar10 import load_cifar10
from .corpora import load_bbc_news, load_shakespeare, load_tweet_sentiment
from .digits import load_digits
from .fashion_mnist import load_fashion_mnist
from .mnist5k import load_mnist_5k
from .spoken_digits import spoken_digits

__all__ = ["load", "names"]

# name -> (loader, whether it makes its own seeded split rather than having an official one)
_LOADERS = {
    "digits": (load_digits, True),
    "fashion-mnist": (load_fashion_mnist, False),
    "mnist-5k": (load_mnist_5k, True),
    "cifar10": (load_cifar10, False),
    "bbc-news": (load_bbc_news, True),
    "tweet-sentiment": (load_tweet_sentiment, True),
    "shakespeare": (load_shakespeare, True),
    "spoken-digits": (spoken_digits, False),
}
_SPLIT_OPTIONS = ("seed", "test_size")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def names() -> list[str]:
    """The data set names ``load`` knows (besides ``.npz`` paths)."""
    return list(_LOADERS)


def _load_npz(path: Path, flatten: bool = False):
    arrays = None
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive:
                arrays = {k: archive[k] for k in _NPZ_KEYS if k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {path} as a .npz data file: {exc}") from exc
    if arrays is None:
        raise ValueError(f"{path} is a single array, not a .npz archive of named arrays")
    missing = [k for k in _NPZ_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks arrays {missing}; a data file holds {', '.join(_NPZ_KEYS)}")
    x_train, y_train, x_test, y_test = (arrays[k] for k in _NPZ_KEYS)
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim == 0 or y.shape != (len(x),):
            raise ValueError(
                f"{path}: x_{part} {x.shape} and y_{part} {y.shape} must hold one label per sample"
            )
    if flatten:
        x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    return (x_train, y_train), (x_test, y_test)


def load(name: str, **options):
    """Load a data set by name, or the arrays of a ``.npz`` file.

    Args:
        name: ``"digits"``, ``"fashion-mnist"``, ``"mnist-5k"``, ``"cifar10"``, the text sets
            ``"bbc-news"``, ``"tweet-sentiment"``, ``"shakespeare"`` (case, ``-`` and ``_``
            are ignored), or a path ending in ``.npz`` holding arrays ``x_train``,
            ``y_train``, ``x_test`` and ``y_test``.
        **options: passed to the loader (e.g. ``flatten=True``, ``path=`` for cifar10).
            ``seed`` and ``test_size`` only concern data sets without an official split
            (digits, mnist-5k) and are ignored by the others.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Example:
        >>> (x_train, y_train), _ = load("digits", flatten=True)
        >>> x_train.shape
        (1437, 64)
    """
    if str(name).lower().endswith(".npz"):
        unknown = set(options) - {"flatten", *_SPLIT_OPTIONS}
        if unknown:
            raise TypeError(f"load: options {sorted(unknown)} do not apply to a .npz file")
        return _load_npz(Path(name), flatten=options.get("flatten", False))
    loader, splits = lookup("data set", name, _LOADERS, also=" or a .npz file")
    if not splits:
        options = {k: v for k, v in options.items() if k not in _SPLIT_OPTIONS}
    return loader(**options)
