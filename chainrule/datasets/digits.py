"""The UCI optical recognition of handwritten digits data set, embedded in chainrule.

1,797 grey images of 8x8 pixels (values 0..16, each the count of set pixels in a 4x4 block of a
32x32 bitmap), ten classes, written by 43 people. It is small enough to ship inside the package,
so examples and tests train on real data with nothing to download.

Attribution: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits" (1998), UCI
Machine Learning Repository, https://doi.org/10.24432/C50P49, licensed CC BY 4.0. The file is
the copy distributed with scikit-learn (``sklearn/datasets/data/digits.csv.gz``), unchanged.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ._images import _load_csv_images

__all__ = ["load_digits"]


def load_digits(
    test_size: float = 0.2, seed: int | np.random.Generator | None = 0, flatten: bool = False
):
    """Load the embedded 8x8 handwritten digits, split into train and test parts.

    Pixels are scaled from 0..16 to float32 in [0, 1]; labels are int64 digits 0..9. The split
    is stratified (each digit in the same proportion in both parts) and fixed by ``seed``.

    Args:
        test_size: fraction (or number) of the 1,797 images in the test part.
        seed: seed of the split (an int or a ``numpy.random.Generator``).
        flatten: give rows of 64 pixels instead of ``(1, 8, 8)`` images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    **Shape**: ``x`` is ``(N, 1, 8, 8)``, or ``(N, 64)`` with ``flatten``; ``y`` is ``(N,)``.
    With the defaults N is 1,437 for training and 360 for testing.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_digits()
        >>> x_train.shape, x_train.dtype, y_test.shape
        ((1437, 1, 8, 8), dtype('float32'), (360,))
    """
    file = resources.files(__package__) / "data" / "digits.csv.gz"
    with resources.as_file(file) as path:
        return _load_csv_images(path, "load_digits", 8, 16, test_size, seed, flatten)
