"""Training checkpoints: model, optimizer, scheduler, epoch, extra state and the random stream.

A checkpoint is one safetensors file (``chainrule.io.format``) written atomically, so a process
killed while saving leaves the previous checkpoint intact. Its content is a nested structure::

    {"model": state_dict, "optimizer": state_dict | None, "scheduler": state_dict | None,
     "epoch": int, "extra": any, "rng_state": chainrule.random.get_rng_state()}

Every array in it, at any depth, becomes a tensor named by its path (``"optimizer/state/0/m"``);
everything else is JSON in the metadata, where each array is replaced by ``{"__array__": name}``
(a NumPy scalar by ``{"__scalar__": name}``, so its dtype survives), a tuple by
``{"__tuple__": [...]}`` and a dict with keys other than strings by ``{"__dict__": [[k, v], ...]}``,
so optimizer state keyed by parameter index comes back keyed by ``int``. Python ints of any size
(a PCG64 generator state exceeds 2**64) and floats round-trip exactly.

Example:
    >>> import os, tempfile
    >>> import chainrule as cr
    >>> from chainrule.io import load_checkpoint, save_checkpoint
    >>> model = cr.nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> save_checkpoint(path, model=model, epoch=4, extra={"best": 0.5})
    >>> load_checkpoint(path, model=model)["epoch"]
    4
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..backend import kind_of, to_host
from ..nn.module import Module
from ..random import get_rng_state, set_rng_state
from .format import LoadError, read_safetensors, write_safetensors
from .model import load_state_into

__all__ = ["load_checkpoint", "save_checkpoint"]

_ARRAY, _SCALAR, _TUPLE, _DICT = "__array__", "__scalar__", "__tuple__", "__dict__"
_MARKERS = frozenset({_ARRAY, _SCALAR, _TUPLE, _DICT})
_PARTS = ("model", "optimizer", "scheduler", "epoch", "extra", "rng_state")


def save_checkpoint(path: str | os.PathLike, *, model: Module, optimizer=None, scheduler=None,
                    epoch: int = 0, extra: Any = None) -> None:
    """Write a checkpoint atomically (temporary file, fsync, rename, fsync of the directory).

    Args:
        path: the checkpoint file (conventionally ``*.safetensors``); replaced if it exists.
        model: its ``state_dict()`` is saved.
        optimizer, scheduler: anything with ``state_dict()``; saved when given.
        epoch: the number of completed epochs.
        extra: any nesting of dicts, lists, tuples, strings, numbers, None, NumPy arrays and
            scalars (history, a data loader's generator state, ...).

    Raises:
        TypeError: something in the state is none of the above (the message gives its path).
    """
    tree = {"model": model.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "epoch": epoch, "extra": extra, "rng_state": get_rng_state()}
    tensors: dict[str, np.ndarray] = {}
    write_safetensors(path, tensors, kind="checkpoint", tree=_encode(tree, (), tensors))


def load_checkpoint(path: str | os.PathLike, *, model: Module, optimizer=None, scheduler=None
                    ) -> dict:
    """Restore a checkpoint into ``model`` (and ``optimizer``, ``scheduler``) in place.

    The global generator (``chainrule.random``) is set to the state saved with the checkpoint,
    so a resumed run draws the same numbers as an uninterrupted one.

    Args:
        path: a file written by ``save_checkpoint``.
        model: receives the weights; every name and shape must match.
        optimizer, scheduler: receive their state through ``load_state_dict``; the checkpoint
            must hold one for each that is given.

    Returns:
        ``{"epoch": int, "extra": ..., "rng_state": dict}``.

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, not a checkpoint, or state that does not fit the given objects.
    """
    path = os.fspath(path)
    tensors, info = read_safetensors(path, kind="checkpoint")
    used: set[str] = set()
    try:
        tree = _decode(info.get("tree"), tensors, used)
    except RecursionError:
        raise LoadError(f"{path}: the checkpoint's structure is nested too deeply") from None
    except LoadError as error:
        raise LoadError(f"{path}: {error}") from None
    if not (isinstance(tree, dict) and set(tree) == set(_PARTS)
            and isinstance(tree["model"], dict)):
        raise LoadError(f"{path}: the checkpoint's structure is not {{{', '.join(_PARTS)}}} "
                        "with the model's state as a dict")
    epoch = tree["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise LoadError(f"{path}: the checkpoint's epoch is {epoch!r:.50}, not a count >= 0")
    if used != set(tensors):
        raise LoadError(f"{path}: tensors {sorted(set(tensors) - used)[:5]} are not referenced "
                        "by the checkpoint's structure; the file was altered or corrupted")
    load_state_into(model, tree["model"], source=path)
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler)):
        if target is None:
            continue
        if tree[name] is None:
            raise LoadError(f"{path}: the checkpoint holds no {name} state to restore")
        try:
            target.load_state_dict(tree[name])
        except (KeyError, ValueError, TypeError, IndexError, OverflowError) as error:
            raise LoadError(f"{path}: the {name} state does not fit "
                            f"{type(target).__name__}: {error}") from None
    try:
        set_rng_state(tree["rng_state"])
    except (KeyError, ValueError, TypeError, OverflowError) as error:
        raise LoadError(f"{path}: the saved random-generator state is invalid: {error}") from None
    return {"epoch": tree["epoch"], "extra": tree["extra"], "rng_state": tree["rng_state"]}


def _encode(value, path: tuple, tensors: dict):
    """The JSON form of ``value``; its arrays are moved into ``tensors`` under their path (from
    a GPU to the host)."""
    if kind_of(value).name != "cpu":
        value = to_host(value)
    if isinstance(value, (np.ndarray, np.generic)):
        name = "/".join(map(str, path)) or "value"
        while name in tensors:  # keys containing "/" can make two paths spell the same name
            name += "#"
        tensors[name] = np.asarray(value)
        return {_ARRAY if isinstance(value, np.ndarray) else _SCALAR: name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(v, (*path, i), tensors) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, (*path, i), tensors) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not (len(value) == 1 and
                                                            set(value) <= _MARKERS):
            return {k: _encode(v, (*path, k), tensors) for k, v in value.items()}
        return {_DICT: [[_encode(k, (*path, "key"), tensors), _encode(v, (*path, k), tensors)]
                        for k, v in value.items()]}
    where = "/".join(map(str, path)) or "the value"
    raise TypeError(
        f"save_checkpoint: {where} is a {type(value).__name__}; a checkpoint holds only dicts, "
        "lists, tuples, strings, numbers, None, NumPy arrays and NumPy scalars"
    )


def _decode(value, tensors: dict, used: set):
    """Invert ``_encode``; raises ``LoadError`` for references that do not resolve."""
    if isinstance(value, list):
        return [_decode(v, tensors, used) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and set(value) <= _MARKERS:
        ((marker, inner),) = value.items()
        if marker in (_ARRAY, _SCALAR):
            array = tensors.get(inner) if isinstance(inner, str) else None
            if array is None or (marker == _SCALAR and array.ndim):
                raise LoadError(f"the checkpoint refers to a missing tensor {inner!r:.100}")
            used.add(inner)
            return array if marker == _ARRAY else array[()]
        if not isinstance(inner, list):
            raise LoadError(f"the checkpoint has {marker} holding {type(inner).__name__}")
        if marker == _TUPLE:
            return tuple(_decode(v, tensors, used) for v in inner)
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in inner):
            raise LoadError("the checkpoint has a dict whose items are not [key, value] pairs")
        try:
            return {_decode(k, tensors, used): _decode(v, tensors, used) for k, v in inner}
        except TypeError as error:  # an unhashable key
            raise LoadError(f"the checkpoint has an invalid dict key: {error}") from None
    return {k: _decode(v, tensors, used) for k, v in value.items()}
