"""Whole-model gradient check: every parameter's backward gradient against central differences.

The check runs on a float64 copy of the model (float32 has too few digits for finite
differences), restores the random state before every forward pass (so dropout draws the same
mask each time) and names the first layer, going backward from the loss, whose gradient
disagrees: a wrong backward rule corrupts the gradients of its own layer and of every layer
before it, so the disagreeing layer closest to the loss is where the error is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .. import random as cr_random
from ..gradcheck import central_difference
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["ParameterCheck", "LayerCheck", "check_model"]


@dataclass
class ParameterCheck:
    name: str
    checked: int  # elements compared
    size: int
    max_abs_error: float
    max_rel_error: float
    ok: bool


@dataclass
class LayerCheck:
    layer: str  # module name
    parameters: list[ParameterCheck]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.parameters)

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel_error for p in self.parameters), default=0.0)


def check_model(model: Module, x, y, loss, eps: float = 1e-6, atol: float = 1e-6,
                rtol: float = 1e-4, max_elements: int = 24, seed: int = 0
                ) -> tuple[list[LayerCheck], str | None]:
    """Compare each parameter's analytical gradient with central differences, in float64.

    Up to ``max_elements`` elements per parameter are checked (all of them for small ones; a
    seeded random sample otherwise). An element agrees when ``|analytical - numerical| <= atol
    + rtol · |numerical|``.

    Returns:
        (per-layer results in forward order, name of the first disagreeing layer going
        backward from the loss, or None when all agree)
    """
    twin = copy.deepcopy(model).astype(np.float64)
    x64 = np.asarray(x.data if isinstance(x, Tensor) else x)
    x64 = Tensor(x64.astype(np.float64) if x64.dtype.kind == "f" else x64)
    y_data = np.asarray(y.data if isinstance(y, Tensor) else y)
    y64 = Tensor(y_data.astype(np.float64) if y_data.dtype.kind == "f" else y_data)
    state = cr_random.get_rng_state()

    def objective() -> Tensor:
        cr_random.set_rng_state(state)
        return loss(twin(x64), y64)

    try:
        twin.zero_grad()
        objective().backward()
        analytical = {name: (p.grad if p.grad is not None else np.zeros_like(p.data))
                      for name, p in twin.named_parameters()}
        pick = np.random.default_rng(seed)
        layers: dict[str, list[ParameterCheck]] = {}
        for name, parameter in twin.named_parameters():
            data, size = parameter.data, parameter.data.size
            count = min(size, max_elements)
            indices = np.arange(size) if count == size else pick.choice(
                size, size=count, replace=False)
            worst_abs = worst_rel = 0.0
            ok = True
            expected = analytical[name]
            for index in indices:
                element = np.unravel_index(index, data.shape)
                numerical = central_difference(lambda: objective().item(), data, element, eps)
                error = abs(expected[element] - numerical)
                worst_abs = max(worst_abs, error)
                worst_rel = max(worst_rel, error / max(abs(numerical), abs(expected[element]),
                                                       1e-12))
                ok &= bool(error <= atol + rtol * abs(numerical))
            layer, _, short = name.rpartition(".")
            layers.setdefault(layer or type(model).__name__, []).append(
                ParameterCheck(short, int(count), int(size), worst_abs, worst_rel, ok))
    finally:
        cr_random.set_rng_state(state)
    results = [LayerCheck(layer, checks) for layer, checks in layers.items()]
    culprit = next((r.layer for r in reversed(results) if not r.ok), None)
    return results, culprit
