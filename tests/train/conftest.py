"""Small data and models shared by the training tests."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(scope="session")
def digits():
    """The embedded digits as rows of 64 pixels: ``(x_train, y_train), (x_test, y_test)``."""
    return cr.datasets.load_digits(flatten=True)


@pytest.fixture(scope="session")
def blobs():
    """Three well separated float32 clusters in 4-d with int64 labels (train, validation)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 4))
    y = rng.integers(0, 3, size=150)
    x = (centres[y] + rng.normal(size=(150, 4))).astype(np.float32)
    return (x[:120], y[:120]), (x[120:], y[120:])


def mlp(inputs: int = 4, hidden: int = 16, outputs: int = 3, dropout: float = 0.0):
    layers = [cr.nn.Linear(inputs, hidden), cr.nn.ReLU()]
    if dropout:
        layers.append(cr.nn.Dropout(dropout))
    return cr.nn.Sequential(*layers, cr.nn.Linear(hidden, outputs))
