"""The library's one source of randomness: a seeded ``numpy.random.Generator``.

Weight initialisation, dropout and shuffling draw from ``default_generator()`` unless given a
generator of their own, so ``cr.manual_seed(0)`` makes a whole run repeatable, and
``get_rng_state``/``set_rng_state`` let a checkpoint resume the exact random stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["manual_seed", "default_generator", "get_rng_state", "set_rng_state", "resolve"]

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (as ``torch.manual_seed``) and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator used when no explicit one is passed."""
    return _generator


def resolve(generator: np.random.Generator | int | None) -> np.random.Generator:
    """An explicit generator, a new one from an int seed, or the global one for None."""
    if generator is None:
        return _generator
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(generator)


def get_rng_state() -> Mapping[str, Any]:
    """The global generator's state (a JSON-able dict)."""
    return _generator.bit_generator.state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore a state from ``get_rng_state``."""
    _generator.bit_generator.state = state
