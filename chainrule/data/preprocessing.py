"""Standardisation: rescale features to zero mean and unit variance using training statistics."""

from __future__ import annotations

from numbers import Integral
from typing import cast

import numpy as np

__all__ = ["Standardizer"]


class Standardizer:
    """Learn per-feature mean and standard deviation, then map ``x`` to ``(x - mean) / std``.

    Statistics are computed in float64 over the ``axis`` reductions of the training data and
    stored with those axes kept, so they broadcast against new data. A feature with zero variance
    gets a scale of 1 (it is only centred), as in scikit-learn. ``transform`` computes in the
    input's dtype: float32 data stays float32.

    Args:
        axis: axes reduced over, i.e. the sample axes; ``0`` gives one statistic per feature,
            ``(0, 2, 3)`` one per channel of NCHW images.

    **Shape**: ``fit`` takes ``(N, *s)``; ``transform`` and ``inverse_transform`` take any array
    whose non-reduced axes match the fitted ones, and return the same shape.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 10.0], [3.0, 10.0]], dtype=np.float32)
        >>> s = Standardizer().fit(x)
        >>> s.transform(x)
        array([[-1.,  0.],
               [ 1.,  0.]], dtype=float32)
    """

    def __init__(self, axis: int | tuple[int, ...] = 0):
        axes = (axis,) if isinstance(axis, Integral) else tuple(cast("tuple[int, ...]", axis))
        if not axes or not all(isinstance(a, Integral) for a in axes):
            raise TypeError(f"Standardizer: axis must be an int or a tuple of ints, got {axis!r}")
        self.axis = tuple(int(a) for a in axes)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, x) -> Standardizer:
        """Compute the mean and standard deviation of ``x`` over ``axis``; returns ``self``."""
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"Standardizer.fit: expected numeric data, got dtype {x.dtype}")
        if any(not -x.ndim <= a < x.ndim for a in self.axis):
            raise ValueError(
                f"Standardizer.fit: axis {self.axis} out of range for data of shape {x.shape}"
            )
        if x.size == 0:
            raise ValueError(f"Standardizer.fit: empty data of shape {x.shape}")
        self.mean_ = x.mean(axis=self.axis, keepdims=True, dtype=np.float64)
        std = x.std(axis=self.axis, keepdims=True, dtype=np.float64)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _stats_for(self, x, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x`` as a float array with the statistics in its dtype, after checking shapes."""
        mean, scale = self.mean_, self.scale_
        if mean is None or scale is None:
            raise RuntimeError(f"Standardizer.{method}: not fitted; call fit(x_train) first")
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        ndim = mean.ndim
        reduced = {a % ndim for a in self.axis}
        if x.ndim != ndim or any(
            x.shape[d] != s for d, s in enumerate(mean.shape) if d not in reduced
        ):
            expected = tuple("*" if d in reduced else s for d, s in enumerate(mean.shape))
            raise ValueError(
                f"Standardizer.{method}: expected data shaped like {expected} "
                f"(fitted over axis {self.axis}), got {x.shape}"
            )
        return x, mean.astype(x.dtype), scale.astype(x.dtype)

    def transform(self, x) -> np.ndarray:
        """``(x - mean) / scale``; integer data becomes float32."""
        x, mean, scale = self._stats_for(x, "transform")
        return (x - mean) / scale

    def fit_transform(self, x) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, z) -> np.ndarray:
        """``z * scale + mean``: undo ``transform``."""
        z, mean, scale = self._stats_for(z, "inverse_transform")
        return z * scale + mean

    def state_dict(self) -> dict:
        """JSON-able state (nested lists of Python floats, which round-trip exactly)."""
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("Standardizer.state_dict: not fitted; call fit(x_train) first")
        return {"axis": list(self.axis), "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    def load_state_dict(self, state: dict) -> Standardizer:
        """Restore statistics from ``state_dict()``; returns ``self``."""
        try:
            axis = tuple(int(a) for a in state["axis"])
            mean = np.asarray(state["mean"], dtype=np.float64)
            scale = np.asarray(state["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"Standardizer.load_state_dict: malformed state ({exc})") from exc
        if mean.shape != scale.shape or not np.all(scale > 0):
            raise ValueError(
                f"Standardizer.load_state_dict: mean {mean.shape} and scale {scale.shape} must "
                "have the same shape and the scales must be positive"
            )
        self.axis, self.mean_, self.scale_ = axis, mean, scale
        return self

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"Standardizer(axis={self.axis}, {fitted})"
