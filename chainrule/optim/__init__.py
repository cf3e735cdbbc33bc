"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``) and learning-rate schedulers.

An optimizer reads each parameter's ``.grad`` and updates ``.data`` in place:

    >>> import chainrule as cr
    >>> w = cr.nn.Parameter([1.0, 2.0])
    >>> opt = cr.optim.get("sgd", [w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> opt.zero_grad()
    >>> w.data
    array([0.8, 1.6], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..names import lookup
from . import lr_scheduler
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .optimizer import Optimizer
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "adagrad_update",
    "adam_update",
    "get",
    "lr_scheduler",
    "rmsprop_update",
    "sgd_update",
]

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
}


def get(identifier: str | type[Optimizer] | Optimizer, params: Iterable[Any] | None = None,
        **kwargs: Any) -> Optimizer:
    """The one lookup from a name (``"adam"``, ``"AdamW"``, ``"adam_w"``: case, ``-`` and ``_``
    ignored), a class or an instance to an optimizer.

    Args:
        identifier: a key of ``OPTIMIZERS``, an ``Optimizer`` subclass, or an optimizer (returned
            as it is).
        params: the parameters to optimize (needed unless ``identifier`` is an instance).
        kwargs: hyperparameters for the constructor (``lr=...``).

    Raises:
        ValueError: for an unknown name, or hyperparameters given with an instance.
        TypeError: for anything else, or a missing ``params``.
    """
    if isinstance(identifier, Optimizer):
        if kwargs:
            raise ValueError(f"optim.get: got an already built {type(identifier).__name__}, "
                             f"cannot apply {sorted(kwargs)}")
        return identifier
    if isinstance(identifier, str):
        cls = lookup("optimizer", identifier, OPTIMIZERS)
    elif isinstance(identifier, type) and issubclass(identifier, Optimizer):
        cls = identifier
    else:
        raise TypeError(f"optim.get: expected an optimizer name, class or instance, got "
                        f"{type(identifier).__name__}")
    if params is None:
        raise TypeError(f"optim.get: building {cls.__name__} needs the parameters to optimize")
    return cls(params, **kwargs)
