"""The layer-case table: one entry per way of building a layer of ``chainrule.nn``.

Sibling of the op-case table (``tests/ops/cases``). Each ``LayerCase`` builds a small instance,
gives its inputs and says what comes out: ``tests/nn/test_layers.py`` checks every case's output
shapes, parameter count (against the formula written in the case), state-dict and
``cr.save``/``cr.load_model`` round trips, gradients of inputs and parameters against central
differences in float64, and, where ``torch_fn`` builds PyTorch's layer, values and gradients
against PyTorch with the same weights. A meta-test fails when a public ``Module`` subclass of
``chainrule.nn`` has no case.

To add cases for a new layer, add them to the family's module of this package (or a new module
defining ``CASES: list[LayerCase]``); it is collected automatically.

Example:
    >>> import numpy as np
    >>> import chainrule as cr
    >>> case = LayerCase("linear", lambda: cr.nn.Linear(3, 2), (uniform((4, 3)),),
    ...                  out_shapes=((4, 2),), num_params=3 * 2 + 2,
    ...                  torch_fn=lambda torch: torch.nn.Linear(3, 2))
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from case_tables import collect_cases

import chainrule as cr
from chainrule.random import resolve

__all__ = ["CASES", "LayerCase", "gradcheck_module", "outputs", "uniform"]


@dataclass(frozen=True)
class LayerCase:
    """One small layer, called one way, checked by every layer test.

    Attributes:
        name: unique id, shown in test names.
        make: builds the layer, drawing its initial weights from the global stream; the class
            of what it returns is the class the case covers.
        inputs: float64 arrays, the differentiable inputs (converted to tensors of the layer's
            dtype; gradients are checked for each).
        out_shapes: the shape of every tensor the call returns, in order (nested tuples of
            outputs, as the LSTM's ``(output, (h, c))``, are flattened; ``None`` is skipped).
        num_params: the number of parameter elements, written as the layer's formula.
        constants: extra arguments passed after the inputs, unchanged (indices, targets).
        call: ``call(layer, *inputs, *constants)`` when calling is not ``layer(*inputs, ...)``;
            it must work on the PyTorch layer too.
        torch_fn: ``torch_fn(torch) -> torch.nn.Module``, PyTorch's layer with the same state
            dict names and shapes; None skips the parity test.
        train: call in training mode. Layers drawing random masks are checked in evaluation
            mode (``train=False``): their masks are tested in their own files.
        gradcheck: check gradients against central differences; False where a gradient is
            zero by convention though the output moves (an Embedding's padding row).
        tolerance: ``(rtol, atol)`` of the float64 comparison with PyTorch.
    """

    name: str
    make: Callable[[], cr.nn.Module]
    inputs: tuple[np.ndarray, ...]
    out_shapes: tuple[tuple[int, ...], ...]
    num_params: int
    constants: tuple = ()
    call: Callable | None = None
    torch_fn: Callable | None = None
    train: bool = True
    gradcheck: bool = True
    tolerance: tuple[float, float] = (1e-9, 1e-10)

    def build(self, seed: int = 0, dtype=None) -> cr.nn.Module:
        """A fresh layer drawn from ``cr.manual_seed(seed)``, in the case's mode, converted to
        ``dtype`` if one is given."""
        cr.manual_seed(seed)
        layer = self.make()
        if dtype is not None:
            layer.astype(dtype)
        return layer.train(self.train)

    def run(self, layer, *args):
        """The layer called on ``args`` (inputs, then constants), as the case calls it."""
        return self.call(layer, *args) if self.call is not None else layer(*args)

    def __str__(self) -> str:
        return self.name


def uniform(shape: tuple, low: float = -1.0, high: float = 1.0, seed: int = 0) -> np.ndarray:
    """A float64 array of ``shape`` drawn uniformly from ``[low, high)`` with a fixed seed."""
    return resolve(seed).uniform(low, high, size=shape)


def outputs(result) -> list:
    """The tensors of a layer's result, nested tuples flattened in order, ``None`` skipped."""
    if result is None:
        return []
    if isinstance(result, (tuple, list)):
        return [t for part in result for t in outputs(part)]
    return [result]


def gradcheck_module(module, fn, *inputs, **kwargs) -> bool:
    """``cr.gradcheck`` of ``fn(module, *inputs)`` over the inputs and every parameter, on a
    float64 copy of ``module``: the parameters are swapped for gradcheck's own tensors."""
    twin = copy.deepcopy(module).astype(np.float64)
    named = list(twin.named_parameters())
    owners = {name: twin for name, _ in named}
    for module_name, sub in twin.named_modules():
        for name, _ in sub.named_parameters(recurse=False):
            owners[f"{module_name}.{name}" if module_name else name] = sub

    def run(*tensors):
        for (name, _), tensor in zip(named, tensors[len(inputs):]):
            object.__setattr__(owners[name], name.rpartition(".")[2], tensor)
        return fn(twin, *tensors[:len(inputs)])

    params = [cr.tensor(p.data, requires_grad=True) for _, p in named]
    return cr.gradcheck(run, *inputs, *params, **kwargs)


CASES: list[LayerCase] = collect_cases(__name__, __path__, "layer")
