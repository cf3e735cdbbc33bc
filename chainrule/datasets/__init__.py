"""Real data sets as NumPy arrays: ``(x_train, y_train), (x_test, y_test)``.

Images are float32 in [0, 1], channels first ``(N, C, H, W)`` (``flatten=True`` gives rows);
labels are int64. ``load_digits`` needs nothing (the data ships inside chainrule); the others
read local files and, for Fashion-MNIST, download them once with a checksum.
"""

from .catalog import load, names
from .cifar10 import CIFAR10_CLASSES, load_cifar10
from .corpora import (
    TWEET_SENTIMENT_CLASSES,
    load_bbc_news,
    load_shakespeare,
    load_shakespeare_text,
    load_tweet_sentiment,
    text_metadata,
)
from .digits import load_digits
from .fashion_mnist import FASHION_MNIST_CLASSES, FASHION_MNIST_URL, load_fashion_mnist
from .fsdd import load_fsdd
from .idx import read_idx
from .mnist5k import load_mnist_5k
from .spoken_digits import spoken_digits

__all__ = [
    "CIFAR10_CLASSES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_URL",
    "TWEET_SENTIMENT_CLASSES",
    "load",
    "load_bbc_news",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_fsdd",
    "load_mnist_5k",
    "load_shakespeare",
    "load_shakespeare_text",
    "load_tweet_sentiment",
    "names",
    "read_idx",
    "spoken_digits",
    "text_metadata",
]
