"""A test double for a GPU: the device kind "fake", whose arrays are NumPy arrays of a subclass.

It lets the device code run on machines without a GPU: ``to("fake")``, ``Module.to``, the
optimizer state that follows its parameters, the error for tensors on two devices, and the
device layer of the suite (every op, layer and model on "fake", compared with the CPU).

Like CuPy, a fake array refuses to be combined with a host array of one or more dimensions in
a ufunc or a NumPy function (``TypeError``), so a host array made by a direct ``np.zeros`` in a
math path fails here as it would on a GPU. Unlike CuPy, ``np.asarray(fake)`` succeeds silently
(a subclass is an ndarray): that escape is what the AST scan
(tests/backend/test_array_module_scan.py) guards against.
"""

from __future__ import annotations

import types

import numpy as np

import chainrule as cr
from chainrule.backend import devices

NAME = "fake"
# The devices other than the CPU that the suite runs on: this one always, CUDA where CuPy sees
# a GPU.
ACCELERATORS = [NAME, *(["cuda"] if cr.cuda.is_available() else [])]


_depth = [0]  # > 0 while NumPy's own implementation of a function runs (it mixes freely)


class FakeArray(np.ndarray):
    """An array "on the fake device"."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not _depth[0]:
            _refuse_host(inputs + tuple(kwargs.get("out", ())))
        plain = tuple(_plain(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(x) for x in kwargs["out"])
        return _fake(getattr(ufunc, method)(*plain, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        if not _depth[0]:
            _refuse_host(_flat(args) + _flat(tuple(kwargs.values())))
        _depth[0] += 1
        try:
            return _fake(func._implementation(*args, **kwargs))
        finally:
            _depth[0] -= 1


def _flat(values: tuple) -> tuple:
    out: list = []
    for value in values:
        if isinstance(value, (list, tuple)):
            out.extend(_flat(tuple(value)))
        else:
            out.append(value)
    return tuple(out)


def _refuse_host(values: tuple) -> None:
    for value in values:
        if type(value) is np.ndarray and value.ndim > 0:
            raise TypeError(f"fake device: a host array of shape {value.shape} mixed with "
                            "device arrays (CuPy refuses this too)")


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, FakeArray) else x


def _fake(result):
    if type(result) is np.ndarray:
        return result.view(FakeArray)
    if isinstance(result, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return np.asarray(result).view(FakeArray)
    if isinstance(result, tuple):
        return tuple(_fake(r) for r in result)
    if isinstance(result, list):
        return [_fake(r) for r in result]
    return result


def _module(source, name: str) -> types.ModuleType:
    """``source`` (numpy or a submodule) with every function's array results made fake."""
    module = types.ModuleType(name)

    def lookup(attr: str):
        value = getattr(source, attr)
        if isinstance(value, types.ModuleType):
            return _module(value, f"{name}.{attr}")
        if callable(value) and not isinstance(value, (type, np.ufunc)):
            def wrapped(*args, **kwargs):
                return _fake(value(*args, **kwargs))
            return wrapped
        return value

    module.__getattr__ = lookup  # type: ignore[method-assign]
    return module


class _FakeGenerator:
    """Draws from a NumPy generator of its own, onto the fake device."""

    def __init__(self, seed: int):
        self._generator = np.random.default_rng(seed + 1000)

    def random(self, size, dtype=np.float64):
        return self._generator.random(size, dtype=dtype).view(FakeArray)


class FakeKind(devices.DeviceKind):
    name = NAME
    array_type = FakeArray

    def __init__(self):
        self._xp = _module(np, "fakenp")

    def module(self):
        return self._xp

    def index_of(self, array):
        return 0

    def from_host(self, array, index):
        return np.array(array, copy=True, order="K").view(FakeArray)

    def to_host(self, array):
        return np.array(array.view(np.ndarray), copy=True, order="K")

    def generator(self, seed):
        return _FakeGenerator(seed)


def register() -> None:
    devices.register(FakeKind())
