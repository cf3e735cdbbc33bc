"""Numerical verification of backward rules: analytical gradients against central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import autograd
from .tensor import Tensor, concatenate

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "central_difference"]


class GradcheckError(AssertionError):
    """An analytical gradient disagrees with its central-difference estimate."""


def central_difference(f: Callable[[], float], array: np.ndarray, index: tuple,
                       eps: float = 1e-6) -> float:
    """``∂f/∂x`` at one element ``x = array[index]``: ``(f(x + ε) - f(x - ε)) / 2ε``.

    ``f`` takes no arguments and reads ``array``, which is perturbed in place at the
    multi-index ``index`` and restored afterwards. A multi-index, never a flat position: a
    column-major array (``nn.Linear``'s weight) has no row-major flat view to write through.
    Use float64 arrays: float32's ~7 digits leave ~1 correct digit at ε = 1e-6.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 2.0], [3.0, 4.0]], order="F")
        >>> round(central_difference(lambda: float((x ** 2).sum()), x, (1, 0)), 6)
        6.0
        >>> float(x[1, 0]), x.flags.f_contiguous
        (3.0, True)
    """
    original = array[index]
    try:
        array[index] = original + eps
        above = f()
        array[index] = original - eps
        below = f()
    finally:
        array[index] = original
    return (above - below) / (2 * eps)


def gradcheck(fn: Callable[..., Tensor], *inputs, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s backward rules against central differences, in float64.

    The output is projected on a fixed random vector ``v`` (so non-scalar outputs are checked
    too): ``L = Σ v ⊙ fn(*inputs)``. For every element of every input that requires a gradient,
    the analytical ``dL/dx`` from ``backward`` is compared with ``(L(x + ε) - L(x - ε)) / 2ε``;
    they agree when ``|analytical - numerical| <= atol + rtol · |numerical|``.

    Args:
        fn: maps the inputs (tensors, converted to float64 copies) to a tensor.
        inputs: tensors or arrays; tensors with ``requires_grad`` are checked, others are
            passed through as constants.
        eps, atol, rtol: step and tolerances.
        seed: seed of the projection vector.

    Returns:
        True when every element agrees.

    Raises:
        GradcheckError: naming the input, the element and both values of the first mismatch.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.0], requires_grad=True)
        >>> cr.gradcheck(lambda t: t.tanh() * t, x)
        True
    """
    tensors, checked = _float64_inputs(inputs, "gradcheck")

    out = fn(*tensors)
    projection = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    if out.requires_grad:
        out.backward(projection)
    analytical = [tensors[i].grad if tensors[i].grad is not None
                  else np.zeros_like(tensors[i].data) for i in checked]

    def loss() -> float:
        return float((fn(*tensors).data * projection).sum())

    for position, i in enumerate(checked):
        data = tensors[i].data
        for element in np.ndindex(data.shape):
            numerical = central_difference(loss, data, element, eps)
            value = analytical[position][element]
            if not abs(value - numerical) <= atol + rtol * abs(numerical):
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {data.shape}), "
                    f"element {tuple(map(int, element))}: "
                    f"analytical {value:.8g} != numerical {numerical:.8g}"
                )
    return True


def gradgradcheck(fn: Callable[..., Tensor], *inputs, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives (its double backward) against central differences of
    its first derivative, in float64.

    With a random upstream gradient ``u`` (itself an input of the check), the first derivative
    is the vector-Jacobian product ``J(x)ᵀ u`` computed by ``cr.autograd.grad(...,
    create_graph=True)``; ``gradcheck`` then checks its gradient with respect to every input
    and to ``u`` (PyTorch's ``gradgradcheck``). Inputs, tolerances and errors are
    ``gradcheck``'s.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.0], requires_grad=True)
        >>> cr.gradgradcheck(lambda t: t.tanh() * t, x)
        True
    """
    tensors, checked = _float64_inputs(inputs, "gradgradcheck")
    shape = fn(*tensors).shape
    upstream = Tensor(np.random.default_rng(seed + 1).uniform(-1.0, 1.0, size=shape),
                      requires_grad=True)

    def first_derivative(*args: Tensor) -> Tensor:
        *xs, u = args
        out = fn(*xs)
        grads = autograd.grad(out, [xs[i] for i in checked], u, create_graph=True,
                              allow_unused=True)
        return concatenate([(g if g is not None else Tensor(np.zeros(xs[i].shape)))
                            .reshape(-1) for i, g in zip(checked, grads)])

    return gradcheck(first_derivative, *tensors, upstream, eps=eps, atol=atol, rtol=rtol,
                     seed=seed)


def _float64_inputs(inputs: tuple, who: str) -> tuple[list[Tensor], list[int]]:
    """The inputs as float64 tensors and the positions of those requiring a gradient."""
    tensors = [_as_float64(x) for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError(f"{who}: no input has requires_grad=True")
    return tensors, checked


def _as_float64(x) -> Tensor:
    """A float64 copy, so central differences are accurate (float32 has ~7 digits)."""
    if isinstance(x, Tensor):
        if x.dtype.kind != "f":
            return Tensor(x.data.copy())
        return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
    array = np.asarray(x)
    return Tensor(array.astype(np.float64) if array.dtype.kind == "f" else array)
