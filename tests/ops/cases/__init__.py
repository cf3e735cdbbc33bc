"""The op-case table: one entry per way of calling a differentiable primitive.

Each ``OpCase`` names the ``Function`` classes it exercises, the chainrule call under test, a
NumPy reference and the inputs. ``tests/ops/test_ops.py`` drives every case through the same
checks (forward against the reference in float32 and float64, gradients against central
differences in float64, documented gradients at kinks, float32 in -> float32 out),
``tests/ops/test_torch_parity.py`` compares with PyTorch where a case gives ``torch_fn``, and a
meta-test fails when some ``Function`` subclass in ``chainrule.ops`` has no case.

To add cases for a new op, add a module to this package (``tests/ops/cases/conv.py``) that
defines ``CASES: list[OpCase]``; it is collected automatically.

Example:
    >>> import numpy as np
    >>> from chainrule.ops.activation import Tanh
    >>> case = OpCase("tanh", (Tanh,), lambda x: x.tanh(), np.tanh, (uniform((3, 4), seed=1),),
    ...               torch_fn=lambda torch, x: torch.tanh(x))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from case_tables import collect_cases

from chainrule.random import resolve

__all__ = ["CASES", "DEFAULT_TOLERANCE", "OpCase", "draws", "uniform"]

# Forward tolerance (rtol, atol) against the float64 reference, per input dtype.
DEFAULT_TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}


@dataclass(frozen=True)
class OpCase:
    """One call of one or more ops, checked by every op test.

    Attributes:
        name: unique id, shown in test names.
        ops: the ``Function`` classes the call records; the meta-test checks each appears in
            the recorded graph.
        fn: ``fn(*inputs, *constants) -> Tensor``, the chainrule call under test.
        ref: ``ref(*inputs, *constants) -> ndarray``, the NumPy reference (given float64 arrays).
        inputs: float64 arrays, the differentiable inputs (any shape, 0-d included; pick
            shapes that broadcast against each other to test broadcasting). They are converted
            to tensors of the dtype under test with ``requires_grad=True``.
        constants: extra arguments passed after the inputs, unchanged, to ``fn``, ``ref`` and
            ``torch_fn`` (integer indices, labels, axes, Python scalars, boolean masks).
        kink_grads: where the inputs sit exactly on a kink (ReLU at 0, ties in max), the
            documented gradient of ``fn(...).sum()`` for each input (the ``# NOTE`` in the op's
            docstring). Such cases skip the central-difference check, which is meaningless there.
        torch_fn: ``torch_fn(torch, *inputs, *constants)`` computing the same value with PyTorch
            (inputs are float64 torch tensors requiring grad); None skips the parity test.
        keeps_dtype: the output has the inputs' float dtype (float32 in -> float32 out).
        tolerance: per-dtype ``(rtol, atol)`` overriding ``DEFAULT_TOLERANCE`` for the forward
            comparison (e.g. for an op whose formula is an approximation).
    """

    name: str
    ops: tuple[type, ...]
    fn: Callable
    ref: Callable
    inputs: tuple[np.ndarray, ...]
    constants: tuple = ()
    kink_grads: tuple[np.ndarray, ...] | None = None
    torch_fn: Callable | None = None
    keeps_dtype: bool = True
    tolerance: dict = field(default_factory=dict)

    def __post_init__(self):
        # NumPy scalars (0-d results of arithmetic) would become float32 tensors; keep arrays.
        arrays = tuple(np.array(x, dtype=np.float64) for x in self.inputs)
        object.__setattr__(self, "inputs", arrays)

    def tol(self, dtype) -> tuple[float, float]:
        """``(rtol, atol)`` for a forward comparison in ``dtype``."""
        key = np.dtype(dtype).name
        return self.tolerance.get(key, DEFAULT_TOLERANCE[key])

    def __str__(self) -> str:
        return self.name


def uniform(shape: tuple, low: float = -2.0, high: float = 2.0, seed: int = 0) -> np.ndarray:
    """A float64 array of ``shape`` drawn uniformly from ``[low, high)`` with a fixed seed."""
    return resolve(seed).uniform(low, high, size=shape)



def draws(first_seed: int) -> Callable[..., np.ndarray]:
    """``u(*shape, low=-2.0, high=2.0)``: ``uniform`` with the next seed from ``first_seed`` on
    at each call, so cases do not share data (each case module starts its own range)."""
    seeds = itertools.count(first_seed)

    def u(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
        return uniform(shape, low, high, seed=next(seeds))

    return u

CASES: list[OpCase] = collect_cases(__name__, __path__, "op")
