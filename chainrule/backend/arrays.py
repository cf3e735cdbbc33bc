"""Which array module an array belongs to, and the few helpers NumPy and CuPy spell differently.

Op code never imports NumPy directly for its math: it asks ``array_module(x)`` (NumPy, or CuPy
for an array on a GPU: CuPy mirrors NumPy's API). Where the two spell a kernel differently, the
helper below holds both formulations (``np.add.at`` and ``cupyx.scatter_add``), chosen by the
array module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import MODULES, cuda_device_count, kind_of_type

__all__ = ["array_module", "register_tensor_module", "from_dlpack", "scatter_add",
           "scatter_add_rows", "sliding_window_view", "squared_norm", "zeros_like_readonly"]


def register_tensor_module(cls: type, module: Any) -> None:
    """Make ``array_module(t)`` return ``module`` for a ``t`` of class ``cls``: chainrule's
    ``Tensor`` and the namespace of NumPy's function names as differentiable ops
    (``chainrule.autograd.tensor_math``), which registers itself. Registered, not imported: the
    backend sits below the tensor in the layering."""
    MODULES[cls] = module


def array_module(array: Any) -> Any:
    """Return the array module that ``array`` belongs to: ``numpy``, ``cupy`` for a GPU array
    (NumPy for scalars and anything else); for a ``Tensor`` the namespace of the same names as
    differentiable ops (see ``register_tensor_module``), so one backward rule computes on
    arrays and, under ``create_graph``, records on tensors."""
    try:
        return MODULES[type(array)]
    except KeyError:  # a type seen for the first time (a scalar, a list, a CuPy array)
        MODULES[type(array)] = module = kind_of_type(type(array)).module()
        return module


_DLPACK_CPU, _DLPACK_CUDA = 1, 2
_DLPACK_DEVICES = {2: "CUDA", 3: "CUDA host", 8: "Metal", 10: "ROCm", 13: "CUDA managed",
                   14: "oneAPI"}  # DLPack's device types, for error messages


def from_dlpack(array: Any) -> Any:
    """The array of the backend for ``array``'s device that shares its memory, by DLPack: NumPy's
    for the CPU, CuPy's for a CUDA device."""
    device = array.__dlpack_device__()[0]
    if device == _DLPACK_CUDA and cuda_device_count():
        import cupy

        return cupy.from_dlpack(array)
    if device != _DLPACK_CPU:
        raise TypeError(
            f"from_dlpack: the array is on a {_DLPACK_DEVICES.get(device, 'DLPack')} device "
            f"(type {device}) and chainrule computes on the CPU, or on CUDA devices with CuPy "
            "(pip install chainrule[cuda]): copy it to the CPU first (for a PyTorch tensor, "
            ".cpu())")
    return np.from_dlpack(array)


def _scatter(xp: Any) -> Any:
    """The unbuffered ``target[index] += values`` of ``xp``: NumPy's ``add.at``; CuPy's is
    ``cupyx.scatter_add`` (atomic adds on the device)."""
    if xp is np or xp.__name__ != "cupy":
        return xp.add.at
    import cupyx

    return cupyx.scatter_add


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (NumPy's ``add.at``)."""
    _scatter(array_module(target))(target, index, values)


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
    _scatter(xp)(out, flat, rows.reshape(-1))
    return out.reshape(n_rows, dim)


def squared_norm(array) -> float:
    """``‖array‖² = Σ x²`` as a Python float: one BLAS dot over the array in memory order, with no
    ``x²`` temporary. (``np.vdot`` flattens in C order: for a column-major ``Linear`` weight or
    its gradient that is a transposing copy, ~100x slower.)"""
    flat = array.ravel(order="K")
    return float(array_module(array).dot(flat, flat))


def sliding_window_view(array, window_shape, axis=None):
    """Read-only strided windows over ``array`` (no copy), in its own array module (NumPy's and
    CuPy's ``lib.stride_tricks`` both have it)."""
    return array_module(array).lib.stride_tricks.sliding_window_view(
        array, window_shape, axis=axis, subok=True)


_zero_buffers: dict[Any, Any] = {}  # dtype -> one flat, read-only array of zeros, grown on demand


def zeros_like_readonly(array: Any) -> Any:
    """A read-only array of zeros shaped and typed like ``array``: a view of one buffer per dtype.

    For element-wise ops against 0 (``maximum(x, 0)`` in ReLU): NumPy's loop for an array and a
    broadcast scalar runs about 3x slower than its loop for two arrays. The buffer costs no
    memory: ``zeros`` maps untouched pages that all read the kernel's one zero page.
    """
    xp = array_module(array)
    if xp is not np:  # a device's memory pool makes zeros cheaply
        return xp.zeros_like(array)
    buffer = _zero_buffers.get(array.dtype)
    if buffer is None or buffer.size < array.size:
        buffer = np.zeros(max(array.size, 1 << 16), dtype=array.dtype)
        buffer.flags.writeable = False
        _zero_buffers[array.dtype] = buffer
    return buffer[:array.size].reshape(array.shape)
