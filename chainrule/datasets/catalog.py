"""``load(name)``: every data set by one string, for the command line and configuration files.

A loader's module is imported when its data set is first asked for, so naming the data sets
(``names``, ``canonical_name``) costs no import of the text or audio toolkits.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from ..io import LoadError
from ..io.arrays import read_npz
from ..names import lookup

__all__ = ["load", "names", "canonical_name", "class_names", "loader"]

# name -> (module, loader function, whether it makes its own seeded split rather than having
# an official one, and the attribute of the module holding the class names, if any)
_LOADERS = {
    "digits": ("digits", "load_digits", True, None),
    "fashion-mnist": ("fashion_mnist", "load_fashion_mnist", False, "FASHION_MNIST_CLASSES"),
    "mnist-5k": ("mnist5k", "load_mnist_5k", True, None),
    "cifar10": ("cifar10", "load_cifar10", False, "CIFAR10_CLASSES"),
    "bbc-news": ("corpora", "load_bbc_news", True, None),
    "tweet-sentiment": ("corpora", "load_tweet_sentiment", True, "TWEET_SENTIMENT_CLASSES"),
    "shakespeare": ("corpora", "load_shakespeare", True, None),
    "spoken-digits": ("spoken_digits", "spoken_digits", False, "DIGIT_WORDS"),
}
_SPLIT_OPTIONS = ("seed", "test_size")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def names() -> list[str]:
    """The data set names ``load`` knows (besides ``.npz`` paths)."""
    return list(_LOADERS)


def canonical_name(name: str) -> str:
    """The catalog's spelling of a data set name (``"Fashion_MNIST"`` → ``"fashion-mnist"``);
    a ``.npz`` path is returned as given.

    Raises:
        ValueError: an unknown name, listing the known ones.

    Example:
        >>> canonical_name("Fashion_MNIST")
        'fashion-mnist'
    """
    if str(name).lower().endswith(".npz"):
        return str(name)
    return lookup("data set", name, {key: key for key in _LOADERS}, also=" or a .npz file")


def loader(name: str) -> tuple[Callable, bool]:
    """The loading function of a named data set (its module imported now), and whether it
    makes its own seeded split."""
    module, function, splits, _ = _LOADERS[canonical_name(name)]
    return getattr(importlib.import_module(f".{module}", __package__), function), splits


def class_names(name: str, **options) -> list[str] | None:
    """The names of a data set's classes in label order, or None where the labels are their
    own names (digits) or the data set has none (a ``.npz`` file, Shakespeare).

    Args:
        name: as for ``load``.
        options: the options the data was loaded with (BBC News reads its classes from its
            folder, ``path=``).

    Example:
        >>> class_names("fashion-mnist")[:3]
        ['T-shirt/top', 'Trouser', 'Pullover']
    """
    key = canonical_name(name)
    if key == "bbc-news":
        from .corpora import bbc_classes

        return bbc_classes(options.get("path"))
    attribute = _LOADERS[key][3] if key in _LOADERS else None
    if attribute is None:
        return None
    module = importlib.import_module(f".{_LOADERS[key][0]}", __package__)
    return list(getattr(module, attribute))


def _load_npz(path: Path, flatten: bool = False):
    try:
        arrays = read_npz(path)
    except LoadError as error:
        raise ValueError(f"cannot read {path} as a .npz data file: {error}") from None
    missing = [k for k in _NPZ_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks arrays {missing}; a data file holds {', '.join(_NPZ_KEYS)}")
    x_train, y_train, x_test, y_test = (arrays[k] for k in _NPZ_KEYS)
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim == 0 or y.ndim == 0 or len(y) != len(x):
            raise ValueError(
                f"{path}: x_{part} {x.shape} and y_{part} {y.shape} must hold one target per sample"
            )
        if len(x) == 0:
            raise ValueError(f"{path}: x_{part} holds no samples; a data file needs at least "
                             f"one {part} sample")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{path}: x_{part} holds {x.dtype} data; inputs must be numbers "
                             "(token ids as integers)")
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
    function, splits = loader(name)
    if not splits:
        options = {k: v for k, v in options.items() if k not in _SPLIT_OPTIONS}
    return function(**options)
