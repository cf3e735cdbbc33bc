"""Whole-model gradient check: every parameter's backward gradient against central differences.

The check runs on a float64 copy of the model (float32 has too few digits for finite
differences), restores the random state before every forward pass (so dropout draws the same
mask each time) and names the first layer, going backward from the loss, whose gradient
disagrees: a wrong backward rule corrupts the gradients of its own layer and of every layer
before it, so the disagreeing layer closest to the loss is where the error is.

A loss that differentiates the model itself (a gradient penalty built with
``cr.autograd.grad(..., create_graph=True)``) is checked the same way: central differences of
it include its second-order terms, and so must backward's gradient, which runs through the
recorded backward pass (double backward); the results say so (``second_order``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .. import autograd
from .. import random as cr_random
from ..gradcheck import central_difference
from ..nn.module import Module
from ..tensor import Tensor
from .trace import model_output

__all__ = ["ParameterCheck", "LayerCheck", "check_model"]


@dataclass
class ParameterCheck:
    """One parameter's check: ``checked`` of its ``size`` entries were compared, of which
    ``checked_nonzero`` are among the ``nonzero`` entries where backward's gradient is not 0.

    The relative error is taken where either gradient exceeds ``atol`` (at a zero it means
    nothing); the absolute error covers every compared entry.
    """

    name: str
    checked: int  # entries compared
    size: int
    max_abs_error: float
    max_rel_error: float
    ok: bool  # every compared entry agreed
    nonzero: int = 0  # entries where backward's gradient is not zero
    checked_nonzero: int = 0  # compared entries among them

    @property
    def checked_zero(self) -> int:
        """Compared entries where backward's gradient is zero."""
        return self.checked - self.checked_nonzero

    @property
    def vacuous(self) -> bool:
        """Nothing to check: backward's gradient is zero at every entry, so agreement only
        confirms zeros."""
        return self.nonzero == 0


@dataclass
class LayerCheck:
    layer: str  # module name
    parameters: list[ParameterCheck]
    # The loss differentiates the model itself (it recorded a backward pass, create_graph):
    # backward's gradient then holds second-order terms, and the check compared them too.
    second_order: bool = False

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

    Up to ``max_elements`` entries per parameter are checked: all of them for small ones,
    otherwise a seeded sample drawn mostly where backward's gradient is not zero (an
    embedding's gradient lives in the rows of the batch's tokens) and a quarter where it is
    zero (to catch a gradient dropped to zero). An entry agrees when ``|analytical -
    numerical| <= atol + rtol · |numerical|``.

    Returns:
        (per-layer results in forward order, name of the first disagreeing layer going
        backward from the loss, or None when all agree)
    """
    twin = copy.deepcopy(model).astype(np.float64)
    x_data = np.asarray(x.data if isinstance(x, Tensor) else x)
    x64 = Tensor(x_data.astype(np.float64) if x_data.dtype.kind == "f" else x_data)
    y_data = np.asarray(y.data if isinstance(y, Tensor) else y)
    y64 = Tensor(y_data.astype(np.float64) if y_data.dtype.kind == "f" else y_data)
    state = cr_random.get_rng_state()

    def objective() -> Tensor:
        cr_random.set_rng_state(state)
        return loss(model_output(twin(x64)), y64)

    try:
        twin.zero_grad()
        passes = autograd.recorded_backward_passes()
        objective().backward()
        second_order = autograd.recorded_backward_passes() > passes
        analytical = {name: (p.grad if p.grad is not None else np.zeros_like(p.data))
                      for name, p in twin.named_parameters()}
        pick = np.random.default_rng(seed)
        layers: dict[str, list[ParameterCheck]] = {}
        for name, parameter in twin.named_parameters():
            data, expected = parameter.data, analytical[name]
            indices, checked_nonzero, nonzero = _sample(expected, max_elements, pick)
            worst_abs = worst_rel = 0.0
            ok = True
            for index in indices:
                element = np.unravel_index(index, data.shape)
                numerical = central_difference(lambda: objective().item(), data, element, eps)
                error = abs(expected[element] - numerical)
                worst_abs = max(worst_abs, error)
                scale = max(abs(numerical), abs(expected[element]))
                if scale > atol:
                    worst_rel = max(worst_rel, error / scale)
                ok &= bool(error <= atol + rtol * abs(numerical))
            layer, _, short = name.rpartition(".")
            layers.setdefault(layer or type(model).__name__, []).append(
                ParameterCheck(short, len(indices), data.size, worst_abs, worst_rel, ok,
                               nonzero, checked_nonzero))
    finally:
        cr_random.set_rng_state(state)
    results = [LayerCheck(layer, checks, second_order) for layer, checks in layers.items()]
    culprit = next((r.layer for r in reversed(results) if not r.ok), None)
    return results, culprit


def _sample(gradient: np.ndarray, count: int, pick: np.random.Generator
            ) -> tuple[np.ndarray, int, int]:
    """``(flat indices to compare, how many of them have a non-zero gradient, how many entries
    have one)``: every entry when there are at most ``count``, else up to ``count`` with a
    quarter (at least one) drawn from the zeros when there are any.

    Indices are row-major (``np.unravel_index`` order), whatever the array's memory order.
    """
    nonzero = np.flatnonzero(gradient)
    if gradient.size <= count:
        return np.arange(gradient.size), nonzero.size, nonzero.size
    zeros = gradient.size - nonzero.size
    take = min(nonzero.size, count - min(zeros, max(1, count // 4)))
    chosen = nonzero if take == nonzero.size else pick.choice(nonzero, take, replace=False)
    if take < count and zeros:
        chosen = np.concatenate([chosen, pick.choice(np.flatnonzero(gradient == 0),
                                                     min(zeros, count - take), replace=False)])
    return chosen, take, nonzero.size
