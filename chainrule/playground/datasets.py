"""The playground's data sets: seeded 2-D classification problems, and the digits seen in a plane.

Every set lives in a plane the page can draw: the 2-D sets *are* their inputs (points in about
``[-1, 1]²``), the digits (64 pixels) are shown by their first two principal components,
computed from the training images with NumPy. ``to_input`` maps points of the plane back to
model inputs, so the decision boundary and each neuron's heat map are the model evaluated on a
grid of that plane: for the digits, the plane through the mean image spanned by the two
components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PlaneData", "NAMES", "load"]

NAMES = ("circles", "xor", "spirals", "blobs", "digits")
_BLOB_CLASSES = 3
_MARGIN = 0.25  # the plane shown extends this far beyond the points (as a fraction of their range)


@dataclass
class PlaneData:
    """A classification set and the plane it is drawn in.

    Attributes:
        x_train, y_train, x_test, y_test: model inputs (float32) and integer labels.
        view_train, view_test: each sample's position in the plane.
        bounds: ``((x_lo, x_hi), (y_lo, y_hi))`` of the plane shown.
        classes: number of classes; axes: the plane's axis labels.
        components: ``(mean, basis)`` for a projected set (inputs = mean + point @ basis), or
            None when the plane is the input space itself.

    **Shape**: ``x_*`` ``(N, features)``, ``y_*`` ``(N,)``, ``view_*`` ``(N, 2)``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    view_train: np.ndarray
    view_test: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    classes: int
    axes: tuple[str, str] = ("x₁", "x₂")
    components: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    def to_input(self, points: np.ndarray) -> np.ndarray:
        """Model inputs at ``points`` of the plane (``(K, 2)`` → ``(K, features)``, float32)."""
        if self.components is None:
            return points.astype(np.float32)
        mean, basis = self.components
        return (mean + points @ basis).astype(np.float32)


def _circles(n: int, noise: float, rng: np.random.Generator):
    """Class 1 inside radius 0.5, class 0 on a ring from 0.7 to 1."""
    y = (np.arange(n) % 2).astype(np.int64)
    radius = np.where(y == 1, rng.uniform(0, 0.5, n), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return x + noise * rng.normal(size=x.shape), y


def _xor(n: int, noise: float, rng: np.random.Generator):
    """Points in the four quadrants (kept 0.05 from the axes); class 1 where x₁ x₂ > 0."""
    y = (np.arange(n) % 2).astype(np.int64)
    first = rng.choice([-1.0, 1.0], n)
    signs = np.stack([first, np.where(y == 1, first, -first)], axis=1)
    x = rng.uniform(0.05, 1.0, (n, 2)) * signs
    return x + noise * rng.normal(size=x.shape), y


def _spirals(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved arms turning 1.75 times, radius growing from 0 to 1."""
    y = (np.arange(n) % 2).astype(np.int64)
    t = rng.uniform(0, 1, n)
    angle = 1.75 * 2 * np.pi * t + np.pi * y
    x = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return x + noise * rng.normal(size=x.shape), y


def _blobs(n: int, noise: float, rng: np.random.Generator):
    """Three Gaussian blobs (standard deviation 0.15 + noise) on a circle of radius 0.6."""
    y = (np.arange(n) % _BLOB_CLASSES).astype(np.int64)
    angle = 2 * np.pi * y / _BLOB_CLASSES + np.pi / 2
    centres = 0.6 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + (0.15 + noise) * rng.normal(size=(n, 2)), y


_GENERATORS = {"circles": _circles, "xor": _xor, "spirals": _spirals, "blobs": _blobs}


def _bounds(points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square view around ``points`` with a margin, so boundaries show beyond the data."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * (1 + _MARGIN)
    (x_low, x_high), (y_low, y_high) = ((float(c - half), float(c + half)) for c in centre)
    return (x_low, x_high), (y_low, y_high)


def _plane_set(name: str, points: int, noise: float, test_fraction: float, seed: int):
    rng = np.random.default_rng(seed)
    x, y = _GENERATORS[name](points, noise, rng)
    order = rng.permutation(points)
    x, y = x[order].astype(np.float32), y[order]
    split = points - max(1, round(test_fraction * points))
    classes = _BLOB_CLASSES if name == "blobs" else 2
    return PlaneData(name, x[:split], y[:split], x[split:], y[split:], x[:split], x[split:],
                     _bounds(x), classes)


def _digits(test_fraction: float, seed: int) -> PlaneData:
    from ..datasets import load_digits

    (x_train, y_train), (x_test, y_test) = load_digits(test_size=test_fraction, seed=seed,
                                                       flatten=True)
    mean = x_train.mean(axis=0)
    # The principal directions are the right singular vectors of the centred data.
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    basis = vt[:2]
    view_train, view_test = (x_train - mean) @ basis.T, (x_test - mean) @ basis.T
    return PlaneData("digits", x_train, y_train, x_test, y_test, view_train, view_test,
                     _bounds(np.concatenate([view_train, view_test])), 10, ("PC 1", "PC 2"),
                     (mean, basis))


def load(name: str, points: int = 400, noise: float = 0.05, test_fraction: float = 0.25,
         seed: int = 0) -> PlaneData:
    """A playground data set by name: ``circles``, ``xor``, ``spirals``, ``blobs`` (``points``
    samples with Gaussian ``noise``, drawn from ``seed``) or ``digits`` (the embedded 1,797
    images; ``points`` and ``noise`` do not apply).

    **Shape**: see ``PlaneData``; the 2-D sets have 2 features, the digits 64.

    Example:
        >>> from chainrule.playground.datasets import load
        >>> data = load("xor", points=100, seed=1)
        >>> data.x_train.shape, data.x_test.shape, data.classes
        ((75, 2), (25, 2), 2)
    """
    if name == "digits":
        return _digits(test_fraction, seed)
    if name not in _GENERATORS:
        raise ValueError(f"unknown playground data set {name!r}; choose one of {', '.join(NAMES)}")
    return _plane_set(name, points, noise, test_fraction, seed)
