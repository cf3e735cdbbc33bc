"""PyTorch weights in: a ``state_dict`` that PyTorch saved with ``safetensors.torch.save_file``,
loaded into the equivalent chainrule model.

chainrule's layers keep PyTorch's parameter names and layouts, so a PyTorch state dict maps onto
the model built the same way name by name, with no transposes:

- ``Linear``: ``weight`` (out, in), ``bias``; ``Conv2d``: ``weight`` (out, in / groups, kh, kw);
- ``BatchNorm1d``/``2d``: ``weight``, ``bias``, ``running_mean``, ``running_var``,
  ``num_batches_tracked``; ``LayerNorm``: ``weight``, ``bias``; ``Embedding``: ``weight``;
- ``RNN``/``LSTM``/``GRU``: ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
  ``bias_hh_l{k}`` (``_reverse`` for the backward direction), gates stacked in PyTorch's order
  (LSTM: input, forget, cell, output; GRU: reset, update, new); the cells without ``_l{k}``;
- ``MultiheadAttention``: ``in_proj_weight``/``in_proj_bias`` (query, key, value stacked), or
  ``q_/k_/v_proj_weight`` when ``kdim``/``vdim`` differ, and ``out_proj``; and
  ``TransformerEncoderLayer``, built of these.

Published checkpoints are mostly bfloat16 or float16: each tensor is converted to the dtype of
the parameter or buffer it fills (bfloat16 to float32 exactly, see ``chainrule.io.format``). The
prefixes PyTorch's wrappers add to every name (``module.`` from ``DataParallel`` and
``DistributedDataParallel``, ``_orig_mod.`` from ``torch.compile``) are removed. Pickled ``.pt``
files are never read: they can run code when unpickled.
"""

from __future__ import annotations

import os

import numpy as np

from ..nn.module import Module
from .format import LoadError, read_safetensors

__all__ = ["load_torch_state"]

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def load_torch_state(model: Module, path: str | os.PathLike, *, strict: bool = True
                     ) -> tuple[list[str], list[str]]:
    """Load a PyTorch ``state_dict`` saved as safetensors into ``model``, built like the
    PyTorch model (the same layers under the same attribute names).

    Every problem is checked before any weight is copied, and all of them are reported at once:
    a tensor whose shape differs from the model's (its name, expected and actual shape), one
    whose dtype cannot become the model's (a float for an integer buffer), and with ``strict``
    the names the file lacks or the model lacks.

    Args:
        model: the chainrule model that receives the weights, converted to its dtypes.
        path: a ``.safetensors`` file (``safetensors.torch.save_file(module.state_dict(), path)``).
        strict: every name must match both ways; otherwise only the common names are loaded.

    Returns:
        (names missing from the file, names in the file that the model lacks).

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, or a state that does not fit ``model``.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> import chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "linear.safetensors")
        >>> state = {"module.weight": np.ones((2, 3), np.float16), "module.bias": np.zeros(2)}
        >>> cr.save_state(state, path)  # as DataParallel names them
        >>> layer = cr.nn.Linear(3, 2)
        >>> cr.load_torch_state(layer, path)
        ([], [])
        >>> layer.weight.dtype, float(layer.weight.data.sum())
        (dtype('float32'), 6.0)
    """
    path = os.fspath(path)
    try:
        tensors, _ = read_safetensors(path)
    except LoadError:
        if _pickled(path):
            raise LoadError(
                f"{path} is a pickled PyTorch file (torch.save), which chainrule never reads: "
                "unpickling can run any code. In PyTorch, save the weights with "
                "safetensors.torch.save_file(model.state_dict(), path)") from None
        raise
    own = model.state_dict()
    state = _without_wrapper_prefixes(tensors, own)
    missing = [name for name in own if name not in state]
    unexpected = [name for name in state if name not in own]
    problems = [problem for name in own if name in state
                if (problem := _mismatch(name, state[name], own[name]))]
    if strict and missing:
        problems.append(f"missing from the file: {missing}")
    if strict and unexpected:
        problems.append(f"not in the model: {unexpected}")
    if problems:
        raise LoadError(f"{path} does not fit {type(model).__name__}:\n  " + "\n  ".join(problems))
    model.load_state_dict({name: state[name] for name in own if name in state}, strict=False)
    return missing, unexpected


def _pickled(path: str) -> bool:
    """Whether a file that is not safetensors starts like ``torch.save``'s output: a zip archive
    of pickles, or a bare pickle (protocol 2 or later)."""
    with open(path, "rb") as file:
        start = file.read(4)
    return start == b"PK\x03\x04" or start[:1] == b"\x80"


def _without_wrapper_prefixes(state: dict, own: dict) -> dict:
    """Remove a wrapper's prefix that every name in the file has and no name in the model has."""
    for prefix in _WRAPPER_PREFIXES * 2:  # twice: a compiled model inside DataParallel
        if state and all(name.startswith(prefix) for name in state) and not any(
                name.startswith(prefix) for name in own):
            state = {name[len(prefix):]: array for name, array in state.items()}
    return state


def _mismatch(name: str, array: np.ndarray, target: np.ndarray) -> str | None:
    if array.shape != target.shape:
        return f"{name!r}: expected shape {target.shape}, got {array.shape}"
    if not np.can_cast(array.dtype, target.dtype, casting="same_kind"):
        return f"{name!r}: expected dtype {target.dtype}, got {array.dtype}, which cannot become it"
    return None
