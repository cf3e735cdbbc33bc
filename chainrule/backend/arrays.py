"""Which array module an array belongs to, and the few helpers NumPy and CuPy spell differently.

Op code never imports NumPy directly for its math: it asks ``array_module(x)`` so that a GPU
backend (CuPy mirrors NumPy's API) can later be added here rather than in every op. Each helper
below is one NumPy formulation; a CuPy one (``cupyx.scatter_add``, ``cupy.lib.stride_tricks``)
goes beside it, chosen by ``array_module``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["array_module", "register_tensor_module", "from_dlpack", "scatter_add",
           "scatter_add_rows", "sliding_window_view", "squared_norm", "zeros_like_readonly"]


_tensor_class: type | None = None  # chainrule's Tensor, and the namespace of NumPy's names for it
_tensor_module: Any = None


def register_tensor_module(cls: type, module: Any) -> None:
    """Make ``array_module(t)`` return ``module`` for a ``t`` of class ``cls``: chainrule's
    ``Tensor`` and the namespace of NumPy's function names as differentiable ops
    (``chainrule.autograd.tensor_math``), which registers itself. Registered, not imported: the
    backend sits below the tensor in the layering."""
    global _tensor_class, _tensor_module
    _tensor_class, _tensor_module = cls, module


def array_module(array: Any) -> Any:
    """Return the array module (``numpy`` today) that ``array`` belongs to; for a ``Tensor``
    the namespace of the same names as differentiable ops (see ``register_tensor_module``), so
    one backward rule computes on arrays and, under ``create_graph``, records on tensors."""
    if type(array) is np.ndarray or np.isscalar(array):
        return np
    if type(array) is _tensor_class:
        return _tensor_module
    module = type(array).__module__.split(".")[0]
    if module == "cupy":  # pragma: no cover - no GPU backend yet
        import cupy

        return cupy
    return np


_DLPACK_CPU = 1
_DLPACK_DEVICES = {2: "CUDA", 3: "CUDA host", 8: "Metal", 10: "ROCm", 13: "CUDA managed",
                   14: "oneAPI"}  # DLPack's device types, for error messages


def from_dlpack(array: Any) -> Any:
    """The array of the backend for ``array``'s device that shares its memory, by DLPack: NumPy's
    for the CPU (the only backend yet; a GPU backend adds its device here)."""
    device = array.__dlpack_device__()[0]
    if device != _DLPACK_CPU:
        raise TypeError(
            f"from_dlpack: the array is on a {_DLPACK_DEVICES.get(device, 'DLPack')} device "
            f"(type {device}) and chainrule computes on the CPU only: copy it to the CPU first "
            "(for a PyTorch tensor, .cpu())")
    return np.from_dlpack(array)


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (NumPy's ``add.at``)."""
    array_module(target).add.at(target, index, values)


def scatter_add_rows(n_rows: int, index, rows):
    """``out[v] = Σ_{p : index[p] = v} rows[p]``: the rows of ``rows`` (shape
    ``index.shape + (D,)``) summed into an ``(n_rows, D)`` array by their index (an embedding's
    gradient).

    One flat index per element: NumPy's ``add.at`` has a fast path for a 1-d index into a 1-d
    array, 2-4x faster than scattering whole rows into a 2-d target."""
    xp = array_module(rows)
    dim = rows.shape[-1]
    out = xp.zeros(n_rows * dim, dtype=rows.dtype)
    flat = (index.reshape(-1, 1) * dim + xp.arange(dim)).reshape(-1)
    xp.add.at(out, flat, rows.reshape(-1))
    return out.reshape(n_rows, dim)


def squared_norm(array) -> float:
    """``‖array‖² = Σ x²`` as a Python float: one BLAS dot over the array in memory order, with no
    ``x²`` temporary. (``np.vdot`` flattens in C order: for a column-major ``Linear`` weight or
    its gradient that is a transposing copy, ~100x slower.)"""
    flat = array.ravel(order="K")
    return float(array_module(array).dot(flat, flat))


def sliding_window_view(array, window_shape, axis=None):
    """Read-only strided windows over ``array`` (no copy)."""
    return np.lib.stride_tricks.sliding_window_view(array, window_shape, axis=axis)


_zero_buffers: dict = {}  # dtype -> one flat, read-only array of zeros, grown on demand


def zeros_like_readonly(array):
    """A read-only array of zeros shaped and typed like ``array``: a view of one buffer per dtype.

    For element-wise ops against 0 (``maximum(x, 0)`` in ReLU): NumPy's loop for an array and a
    broadcast scalar runs about 3x slower than its loop for two arrays. The buffer costs no
    memory: ``zeros`` maps untouched pages that all read the kernel's one zero page.
    """
    xp = array_module(array)
    if xp is not np:  # pragma: no cover - no GPU backend yet
        return xp.zeros_like(array)
    buffer = _zero_buffers.get(array.dtype)
    if buffer is None or buffer.size < array.size:
        buffer = np.zeros(max(array.size, 1 << 16), dtype=array.dtype)
        buffer.flags.writeable = False
        _zero_buffers[array.dtype] = buffer
    return buffer[:array.size].reshape(array.shape)
