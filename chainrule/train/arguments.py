"""What ``fit``, ``evaluate`` and ``predict`` accept, turned into what their loops use: data into
loaders of batches, batches into ``(x, y)`` tensors, names into losses and optimizers. Each
refusal names the function, the argument and what was given."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..backend import CPU, Device, to_device
from ..data import DataLoader
from ..nn.loss import get_loss as loss_by_name  # the one name lookup for losses
from ..nn.module import Module
from ..optim import get as optimizer_by_name
from ..tensor import Tensor

__all__ = ["as_loader", "as_pair", "model_device", "on_device", "resolve_loss",
           "resolve_optimizer"]


def resolve_loss(loss, owner: str) -> Callable:
    """A loss callable from a callable or a name such as ``'cross_entropy'``."""
    if isinstance(loss, str) or callable(loss):
        return loss_by_name(loss)
    raise TypeError(f"{owner}: loss must be a callable or a name such as 'cross_entropy', got "
                    f"{type(loss).__name__}")


def resolve_optimizer(optimizer, model: Module):
    """An optimizer object, or one over ``model.parameters()`` built from a name or class."""
    if isinstance(optimizer, (str, type)):
        return optimizer_by_name(optimizer, model.parameters())
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise TypeError(f"fit: optimizer must be an Optimizer or a name such as 'adam', got "
                        f"{type(optimizer).__name__}")
    return optimizer


def as_loader(data, *, owner: str, role: str, batch_size: int, shuffle: bool = False,
              seed: int | None = None, shard: bool = False) -> Iterable:
    """A ``DataLoader`` for ``(x, y)`` arrays (reading this rank's ``shard`` of each batch under
    MPI); a loader or other iterable of batches (such as a list of ``(x, y)`` pairs) as is."""
    if isinstance(data, (tuple, list)) and not any(isinstance(d, (tuple, list)) for d in data):
        if len(data) != 2:
            raise ValueError(f"{owner}: {role} must be a pair (x, y) or a DataLoader, got a "
                             f"{type(data).__name__} of {len(data)} items")
        x, y = (Tensor(a).data for a in data)  # lists follow Tensor's dtypes (float32, int64)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(f"{owner}: {role} x has shape {x.shape} and y has shape {y.shape}; "
                             "they need the same number of samples (first axis)")
        if len(x) == 0:
            raise ValueError(f"{owner}: {role} is empty")
        return DataLoader((x, y), batch_size=batch_size, shuffle=shuffle, seed=seed,
                          shard=shard)
    if isinstance(data, (np.ndarray, Tensor)):
        raise TypeError(f"{owner}: {role} must be a pair (x, y) or a DataLoader, got a single "
                        "array; pass the targets too: (x, y)")
    if not isinstance(data, Iterable):
        raise TypeError(f"{owner}: {role} must be a pair (x, y) or a DataLoader, got "
                        f"{type(data).__name__}")
    return data


def as_pair(batch, owner: str, device: Device | None = None) -> tuple[Tensor, Tensor]:
    """The ``(x, y)`` tensors of one batch, on ``device`` when given (the model's)."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        what = f"a {len(batch)}-tuple" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"{owner}: each batch must be a pair (x, y), got {what}")
    x, y = batch
    x = x if isinstance(x, Tensor) else Tensor(x)
    y = y if isinstance(y, Tensor) else Tensor(y)
    if device is not None:
        x, y = on_device(x, device), on_device(y, device)
    return x, y


def on_device(tensor: Tensor, device: Device) -> Tensor:
    """A batch's tensor on ``device`` (itself when it is there)."""
    if type(tensor.data) is np.ndarray and device == CPU:
        return tensor
    return Tensor(to_device(tensor.data, device))


def model_device(model: Module) -> Device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    for parameter in model.parameters():
        return parameter.device
    return CPU
