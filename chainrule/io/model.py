"""Models and state dicts as files: ``save``/``load_model`` (weights and architecture) and
``save_state``/``load_state`` (weights only).

Loading never executes code (see ``chainrule.io.architecture``) and every file is validated
before it is read (``chainrule.io.format``); a bad file raises ``LoadError``.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> import chainrule as cr
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
    >>> cr.save_state({"w": np.ones((2, 3), dtype=np.float32)}, path)
    >>> cr.load_state(path)["w"].shape
    (2, 3)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from ..nn.module import Module
from .architecture import module_spec, rebuild
from .format import LoadError, read_safetensors, write_safetensors
from .metadata import checked_metadata

__all__ = ["save", "load_model", "save_state", "load_state", "load_state_into"]


def save(model: Module, path: str | os.PathLike, metadata: Mapping | None = None) -> None:
    """Save a model built from chainrule's layers: its weights and its architecture.

    ``load_model(path)`` rebuilds it without the code that built it. A model containing a class
    of your own cannot be described this way: save it with ``save_state`` and rebuild it in code.

    Args:
        model: a ``Module`` whose classes are all chainrule's own (or registered in
            ``chainrule.nn.module.REGISTRY``) and whose constructor arguments are plain data.
        path: the file to write, conventionally ``*.safetensors``.
        metadata: JSON-able facts the model needs besides its weights (a text model's
            vocabulary, class names); ``load_metadata(path)`` reads them back.

    Raises:
        TypeError: the architecture cannot be described (a custom class, a non-data argument),
            or ``metadata`` is not JSON-able.

    Example:
        >>> import os, tempfile
        >>> import chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.save(cr.nn.Sequential(cr.nn.Linear(4, 2)), path)
        >>> cr.load_model(path)
        Sequential(
          (0): Linear(in_features=4, out_features=2, bias=True)
        )
    """
    try:
        architecture = module_spec(model)
    except TypeError as error:
        raise TypeError(f"cr.save: {error}") from error
    fields = {"architecture": architecture}
    if metadata is not None:
        fields["metadata"] = checked_metadata(metadata, "cr.save")
    write_safetensors(path, model.state_dict(), kind="model", **fields)


def load_model(path: str | os.PathLike, custom_objects: Mapping[str, type[Module]] | None = None
               ) -> Module:
    """Rebuild a model written by ``save`` and load its weights (every name and shape must match).

    Floating-point weights keep the dtype they were saved in.

    Args:
        path: a file written by ``cr.save``.
        custom_objects: class name -> ``Module`` subclass, for architectures naming classes
            outside chainrule (only these classes and chainrule's own can be built).

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, no architecture in it, an unknown class, or weights that do not
            fit the architecture.
    """
    path = os.fspath(path)
    tensors, info = read_safetensors(path)
    if info.get("kind") == "checkpoint":
        raise LoadError(f"{path} is a checkpoint: read it with load_checkpoint")
    if "architecture" not in info:
        raise LoadError(f"{path} holds weights but no architecture (it was not written by "
                        "cr.save): build the model in code and use cr.load_state(path, into=model)")
    model = rebuild(info["architecture"], source=path, custom_objects=custom_objects,
                    stored_values=sum(a.size for a in tensors.values()))
    floats = {a.dtype for a in tensors.values() if a.dtype.kind == "f"}
    if len(floats) == 1:
        (dtype,) = floats
        if any(p.data.dtype != dtype for p in model.parameters()):
            model.astype(dtype)
    load_state_into(model, tensors, source=path)
    return model


def save_state(state: Module | Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Save a module's ``state_dict()`` (or a state dict itself) without an architecture.

    Args:
        state: a ``Module`` or a mapping of names to arrays or tensors.
        path: the file to write.
    """
    if isinstance(state, Module):
        state = state.state_dict()
    write_safetensors(path, state, kind="state")


def load_state(path: str | os.PathLike, into: Module | None = None, strict: bool = True
               ) -> dict[str, np.ndarray]:
    """Read a state dict from a safetensors file, optionally loading it into a module.

    Any safetensors file of NumPy-compatible dtypes can be read, including other tools' files.

    Args:
        path: a file written by ``save_state`` or ``save`` (or another safetensors writer).
        into: a module whose parameters and buffers receive the arrays (cast to their dtypes).
        strict: with ``into``, every name must match both ways.

    Returns:
        name -> array.

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, a checkpoint, or (with ``into``) names or shapes that do not fit.
    """
    path = os.fspath(path)
    tensors, info = read_safetensors(path)
    if info.get("kind") == "checkpoint":
        raise LoadError(f"{path} is a checkpoint: read it with load_checkpoint")
    if into is not None:
        load_state_into(into, tensors, source=path, strict=strict)
    return tensors


def load_state_into(module: Module, state: Mapping, *, source: str, strict: bool = True) -> None:
    """``module.load_state_dict(state, strict)``, its failures reported as ``LoadError``."""
    try:
        module.load_state_dict(state, strict=strict)
    except KeyError as error:
        raise LoadError(f"{source}: the state does not fit {type(module).__name__}: "
                        f"{error.args[0]}") from None
    except (ValueError, TypeError) as error:
        raise LoadError(f"{source}: the state does not fit {type(module).__name__}: "
                        f"{error}") from None
