"""Devices: where an array lives, moving arrays between devices, and each device's random stream.

A device kind ("cpu", "cuda") is an array module and the few operations around it that NumPy's
API does not spell: which arrays are its own, which device index one is on, copying an array
there from the host and back, and a seeded generator that draws on the device. NumPy is the
"cpu" kind; CuPy, when installed, the "cuda" kind (imported only when first asked for, so
``import chainrule`` never needs it). ``register`` adds a kind, for another accelerator or a
test double.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Device", "DeviceKind", "CPU", "MODULES", "as_array", "asarray", "as_device",
           "device_of", "to_device", "to_host", "device_generator", "manual_seed", "register",
           "kind_of", "cuda_device_count", "synchronize_cuda"]

CUDA_INSTALL = "pip install chainrule[cuda] (CuPy built for CUDA 13: cupy-cuda13x)"


class Device:
    """A device: its kind (``"cpu"``, ``"cuda"``) and, for an accelerator, its index.

    Compares equal to its string (``Device("cuda") == "cuda:0"``); ``str`` gives PyTorch's
    spelling, ``repr`` PyTorch's ``device(type='cuda', index=0)``.

    Example:
        >>> from chainrule.backend import Device
        >>> Device("cuda:1"), str(Device("cuda")), Device("cpu") == "cpu"
        (device(type='cuda', index=1), 'cuda:0', True)
    """

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, type: str | Device, index: int | None = None):
        if isinstance(type, Device):
            given: Device = type
            type, index = given.type, given.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None or not number.isdigit():
                raise ValueError(f"device: cannot read {type!r} (with index {index})")
            index = int(number)
        if name != "cpu" and index is None:
            index = 0
        if name == "cpu" and index not in (None, 0):
            raise ValueError(f"device: the CPU has no index {index}")
        self.type, self.index = name, None if name == "cpu" else index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except (TypeError, ValueError):
                return False
        return (isinstance(other, Device) and self.type == other.type
                and self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = Device("cpu")


class _Generator(Protocol):
    def random(self, size: Any, dtype: Any = ...) -> Any: ...


class DeviceKind:
    """One kind of device: its array module and its transfers (the CPU's is NumPy).

    Subclasses override what differs; ``module()`` may import lazily and raise a clear error
    when the library behind the kind is missing.
    """

    name = "cpu"
    array_type: type = np.ndarray

    def module(self) -> Any:
        return np

    def index_of(self, array: Any) -> int | None:
        return None

    def from_host(self, array: np.ndarray, index: int | None) -> Any:
        return array

    def to_host(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    def generator(self, seed: int) -> _Generator | None:
        """A generator drawing on the device, or None to draw on the host (the CPU)."""
        return None


class _Cuda(DeviceKind):
    """CuPy's arrays on CUDA devices, imported on first use."""

    name = "cuda"

    def module(self) -> Any:
        try:
            import cupy
        except ImportError as error:
            raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed: {CUDA_INSTALL}"
                               ) from error
        MODULES[cupy.ndarray] = cupy
        return cupy

    def index_of(self, array: Any) -> int | None:
        return int(array.device.id)

    def from_host(self, array: np.ndarray, index: int | None) -> Any:
        cupy = self.module()
        count = cuda_device_count()
        if not 0 <= (index or 0) < count:
            raise RuntimeError(f"device 'cuda:{index}' does not exist: CuPy sees {count} CUDA "
                               "device(s)")
        with cupy.cuda.Device(index or 0):
            return cupy.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        return array.get() if hasattr(array, "get") else np.asarray(array)

    def generator(self, seed: int) -> _Generator:
        return self.module().random.default_rng(seed)


_KINDS: dict[str, DeviceKind] = {"cpu": DeviceKind(), "cuda": _Cuda()}
_BY_TYPE: dict[type, DeviceKind] = {np.ndarray: _KINDS["cpu"]}
# Array type -> array module: ``MODULES[type(x)]`` is one dict lookup, not a Python call, for
# the loops that run per parameter per step (optimizers). NumPy's, each registered kind's and
# CuPy's (once imported) are in it; ``arrays.array_module`` adds any other type on first sight.
MODULES: dict[type, Any] = {np.ndarray: np}
_seeds: dict[str, int] = {}  # kind -> the seed of its generators (0 until reseeded)
_generators: dict[tuple[str, int | None], _Generator] = {}


def register(kind: DeviceKind) -> None:
    """Add (or replace) a device kind: ``Device(kind.name)`` then reaches it."""
    _KINDS[kind.name] = kind
    _BY_TYPE[kind.array_type] = kind
    MODULES[kind.array_type] = kind.module()


def kind_of(array: Any) -> DeviceKind:
    """The device kind owning ``array`` (the CPU for NumPy arrays and scalars)."""
    return kind_of_type(type(array))


def kind_of_type(array_type: type) -> DeviceKind:
    """The device kind owning arrays of ``array_type`` (the CPU for anything unknown)."""
    kind = _BY_TYPE.get(array_type)
    if kind is not None:
        return kind
    if array_type.__module__.split(".")[0] == "cupy":
        _BY_TYPE[array_type] = kind = _KINDS["cuda"]
        return kind
    return _KINDS["cpu"]


def as_device(device: str | Device) -> Device:
    """``device`` as a ``Device``, checking its kind is known."""
    device = Device(device)
    if device.type not in _KINDS:
        raise ValueError(f"device: unknown device type {device.type!r}; expected one of "
                         f"{sorted(_KINDS)}")
    return device


def device_of(array: Any) -> Device:
    """The device ``array`` lives on."""
    if type(array) is np.ndarray:
        return CPU
    kind = kind_of(array)
    return Device(kind.name, kind.index_of(array))


def to_device(array: Any, device: str | Device) -> Any:
    """``array`` on ``device``: the array itself when it is there already, else a copy."""
    device = as_device(device)
    if device_of(array) == device:
        return array
    host = to_host(array)
    return _KINDS[device.type].from_host(host, device.index)


def asarray(value: Any) -> Any:
    """``value`` as an array of its own device: a device array as it is, anything else (numbers,
    lists, NumPy arrays) through ``numpy.asarray``."""
    if kind_of(value).name == "cpu":
        return np.asarray(value)
    return value


def as_array(value: Any, device: str | Device, dtype: Any = None) -> Any:
    """``value`` (a number, a list, a NumPy or device array) as an array on ``device``: the
    array itself when it is there already in that dtype, else a converted copy."""
    if kind_of(value).name == "cpu":
        value = np.asarray(value, dtype=dtype)
    elif dtype is not None:
        value = value.astype(dtype, copy=False)
    return to_device(value, device)


def to_host(array: Any) -> np.ndarray:
    """``array`` as a NumPy array (a copy from a device; NumPy arrays and scalars as they are)."""
    if type(array) is np.ndarray:
        return array
    return kind_of(array).to_host(array)


def device_generator(array: Any) -> _Generator | None:
    """The seeded generator drawing on ``array``'s device, or None for the CPU (whose random
    numbers come from ``chainrule.random``). Seeded by ``manual_seed``."""
    if type(array) is np.ndarray:
        return None
    device = device_of(array)
    key = (device.type, device.index)
    generator = _generators.get(key)
    if generator is None:
        generator = _KINDS[device.type].generator(_seeds.get(device.type, 0) + (device.index or 0))
        if generator is None:
            return None
        _generators[key] = generator
    return generator


def manual_seed(seed: int, kind: str | None = None) -> None:
    """Reseed the device generators (of one kind, or all): the next draw on each device starts
    the stream of ``seed`` (plus the device index, so two GPUs draw different masks)."""
    kinds = set(_KINDS) if kind is None else {kind}
    for name in kinds:
        _seeds[name] = seed
    for key in [key for key in _generators if key[0] in kinds]:
        del _generators[key]


def synchronize_cuda() -> None:
    """Wait for the current CUDA device's queued kernels."""
    _KINDS["cuda"].module().cuda.get_current_stream().synchronize()


def cuda_device_count() -> int:
    """How many CUDA devices CuPy sees: 0 without CuPy or a driver (never raises)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, no device: all mean "none"
        return 0
