"""Weight initialisation (``cr.nn.init``), in place, with PyTorch's names and formulas.

Every function fills a tensor's array in place and returns the tensor. Random draws come from
``generator`` (a ``numpy.random.Generator`` or an int seed) or, when it is None, from the
global generator that ``cr.manual_seed`` resets — never from an unseeded source.

The variance-preserving schemes scale by a layer's fan: for a weight of shape
``(out, in, k1, k2, …)`` (Linear: ``(out, in)``; convolutions add kernel axes),
``fan_in = in · k1 · k2 ⋯`` and ``fan_out = out · k1 · k2 ⋯``.

Example:
    >>> import chainrule as cr
    >>> w = cr.nn.Parameter(cr.tensor([[0.0, 0.0], [0.0, 0.0]]))
    >>> _ = cr.nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=0)
    >>> bool((abs(w.data) <= 3 ** 0.5).all())   # bound = gain · √(3 / fan_in) = √2 · √(3/2)
    True
"""

from __future__ import annotations

import math
import numbers
from typing import TypeVar

import numpy as np

from ..names import lookup
from ..random import resolve
from ..tensor import Tensor

# What the fill functions take and give back: a tensor or a floating-point array.
T = TypeVar("T", bound="Tensor | np.ndarray")

__all__ = [
    "calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_", "constant_",
    "zeros_", "ones_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "fan_in_uniform_",
]

_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d")
# nonlinearity -> gain; leaky_relu's depends on its slope
_GAINS = {**dict.fromkeys(_UNIT_GAIN, 1.0), "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "leaky_relu": None, "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of a layer's weights for the nonlinearity that follows it.

    ==================  =====================
    nonlinearity        gain
    ==================  =====================
    linear, conv*,      1
    identity, sigmoid
    tanh                5/3
    relu                √2
    leaky_relu          √(2 / (1 + slope²)), slope = ``param`` (default 0.01)
    selu                3/4
    ==================  =====================

    Names follow the library's spelling rule (case, ``-`` and ``_`` ignored).

    Raises:
        ValueError: for an unknown nonlinearity or a slope that is not a number.
    """
    gain = lookup("nonlinearity", nonlinearity, _GAINS)
    if gain is not None:
        return gain
    if param is None:
        slope = 0.01
    elif isinstance(param, numbers.Real) and not isinstance(param, bool):
        slope = float(param)
    else:
        raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
    return math.sqrt(2.0 / (1 + slope**2))


def calculate_fan_in_and_fan_out(tensor: Tensor | np.ndarray) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``.

    Raises:
        ValueError: for a tensor with fewer than 2 axes (a bias has no fan).
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            "fan in and fan out need a weight with at least 2 axes (out, in, ...), got shape "
            f"{shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _array(tensor: Tensor | np.ndarray, caller: str) -> np.ndarray:
    """The floating-point array behind ``tensor`` (a Tensor or an ndarray) to write into."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        kind = getattr(array, "dtype", type(array).__name__)
        raise TypeError(f"{caller}: needs a floating-point tensor or array, got {kind}")
    return array


def _draw(tensor: Tensor | np.ndarray, caller: str, normal: bool,
          generator: np.random.Generator | int | None) -> np.ndarray:
    """Fill ``tensor`` in place with standard normal or U[0, 1) draws and return its array.

    float32 and float64 arrays get the same draws in the same (row-major) order whatever their
    memory layout, without a float64 detour; row-major ones are drawn into directly."""
    array = _array(tensor, caller)
    gen = resolve(generator)
    draw = gen.standard_normal if normal else gen.random
    if array.dtype in (np.float32, np.float64):
        if array.flags.c_contiguous:
            draw(dtype=array.dtype, out=array)
        else:  # e.g. Linear's column-major weight
            array[...] = draw(array.shape, dtype=array.dtype)
    else:
        array[...] = draw(array.shape)
    return array


def uniform_(tensor: T, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | int | None = None) -> T:
    """Fill with draws from the uniform distribution U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_: lower bound a={a} exceeds upper bound b={b}")
    array = _draw(tensor, "uniform_", False, generator)
    array *= b - a
    array += a
    return tensor


def normal_(tensor: T, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | int | None = None) -> T:
    """Fill with draws from the normal distribution N(mean, std²)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    array = _draw(tensor, "normal_", True, generator)
    array *= std
    array += mean
    return tensor


def constant_(tensor: T, val: float) -> T:
    """Fill with the value ``val``."""
    _array(tensor, "constant_").fill(val)
    return tensor


def zeros_(tensor: T) -> T:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: T) -> T:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: T, gain: float = 1.0,
                    generator: np.random.Generator | int | None = None) -> T:
    """Glorot & Bengio (2010): U(-a, a) with ``a = gain · √(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor: T, gain: float = 1.0,
                   generator: np.random.Generator | int | None = None) -> T:
    """Glorot & Bengio (2010): N(0, std²) with ``std = gain · √(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def _kaiming_std(tensor: Tensor | np.ndarray, a: float, mode: str, nonlinearity: str) -> float:
    """``gain / √fan`` of He et al. (2015), with ``a`` the negative slope for leaky_relu."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"kaiming init: {mode} is 0 for a tensor of shape {tensor.shape}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: T, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | int | None = None) -> T:
    """He et al. (2015): U(-bound, bound) with ``bound = gain · √(3 / fan)``.

    ``fan`` is fan_in (preserves the forward variance) or fan_out (the backward one); ``gain``
    is ``calculate_gain(nonlinearity, a)``. ``a = √5`` gives PyTorch's Linear default,
    bound = 1/√fan_in.
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor: T, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | int | None = None) -> T:
    """He et al. (2015): N(0, std²) with ``std = gain / √fan`` (see ``kaiming_uniform_``)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator=generator)


def fan_in_uniform_(weight: T, bias: Tensor | np.ndarray | None = None,
                    generator: np.random.Generator | int | None = None) -> T:
    """PyTorch's default for Linear and convolution layers: ``W`` and ``b`` from
    ``U(-1/√fan_in, 1/√fan_in)`` (for ``W`` this is ``kaiming_uniform_(W, a=√5)``).

    One generator draws the weight, then the bias. An empty weight (``fan_in = 0``) is left as
    it is and the bias is zeroed. Returns the weight.
    """
    gen = resolve(generator)
    fan_in = calculate_fan_in_and_fan_out(weight)[0]
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    if fan_in > 0:
        uniform_(weight, -bound, bound, generator=gen)
    if bias is not None:
        uniform_(bias, -bound, bound, generator=gen)
    return weight
