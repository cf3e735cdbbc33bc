"""Real data sets as NumPy arrays: ``(x_train, y_train), (x_test, y_test)``.

Images are float32 in [0, 1], channels first ``(N, C, H, W)`` (``flatten=True`` gives rows);
labels are int64. ``load_digits`` needs nothing (the data ships inside chainrule); the others
read local files and, for Fashion-MNIST, download them once with a checksum.

Each loader's module is imported on first use (the text corpora need the text toolkit, the
spoken digits the audio one), so ``import chainrule.datasets`` costs little.
"""

import importlib

from .catalog import canonical_name, class_names, load, names

# Imported now, not on first use: the function shares its module's name, and importing a
# submodule binds its name in the package, which would hide the function from __getattr__.
from .spoken_digits import spoken_digits

# public name -> the module (in this package) that defines it
_LAZY = {
    "CIFAR10_CLASSES": "cifar10", "CIFAR10_URL": "cifar10", "load_cifar10": "cifar10",
    "FASHION_MNIST_CLASSES": "fashion_mnist", "FASHION_MNIST_URL": "fashion_mnist",
    "load_fashion_mnist": "fashion_mnist",
    "TWEET_SENTIMENT_CLASSES": "corpora", "load_bbc_news": "corpora",
    "load_shakespeare": "corpora", "load_shakespeare_text": "corpora",
    "load_tweet_sentiment": "corpora", "text_metadata": "corpora",
    "load_digits": "digits", "load_fsdd": "fsdd", "read_idx": "idx",
    "load_mnist_5k": "mnist5k",
}

__all__ = ["canonical_name", "class_names", "load", "names", "spoken_digits", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
