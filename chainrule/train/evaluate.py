"""``evaluate`` and ``predict``: the evaluation step over every batch of a data set, in
evaluation mode without a graph. ``fit`` validates with the same ``evaluate_batches``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ..backend import array_module, to_host
from ..data import DataLoader
from ..nn.module import Module
from ..tensor import Tensor
from .arguments import as_loader, as_pair, model_device, on_device, resolve_loss
from .metrics import resolve
from .steps import eval_mode, eval_step
from .tally import Tally

__all__ = ["evaluate", "predict", "evaluate_batches"]


def evaluate_batches(model: Module, batches: Iterable, loss_fn: Callable | None,
                     metrics: Mapping[str, Callable], owner: str, prefix: str = "",
                     combine: Callable[[Tally], Tally] | None = None) -> dict[str, float]:
    """Loss (when ``loss_fn`` is given) and metrics over every ``(x, y)`` batch of ``batches``,
    averaged over samples, in evaluation mode without a graph; keys start with ``prefix``.
    ``combine`` turns this process's tally into that of all processes (``fit`` under MPI)."""
    tally = Tally(metrics, with_loss=loss_fn is not None)
    device = model_device(model)
    with eval_mode(model):
        for batch in batches:
            x, y = as_pair(batch, owner, device)
            loss_value, pred = eval_step(model, x, y, loss_fn, owner)
            tally.update(loss_value, y.data, pred)
    if tally.count == 0:
        raise ValueError(f"{owner}: the data gave no batches")
    if combine is not None:
        tally = combine(tally)
    return tally.results(prefix)


def evaluate(model: Module, data, *, loss=None, metrics="auto", batch_size: int = 256
             ) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``data``, in evaluation mode without a graph.

    Args:
        model: the model (its mode is restored afterwards).
        data: ``(x, y)`` arrays or a ``DataLoader`` of ``(x, y)`` batches.
        loss: a loss callable or name; omitted, no ``"loss"`` is reported.
        metrics: as in ``fit``; ``"auto"`` follows the loss, and is accuracy without one.
        batch_size: batch size for arrays.

    Returns:
        ``{"loss": …, "accuracy": …}``: averages over all samples.

    **Shape**: as in ``fit``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 2))
        >>> result = cr.evaluate(model, (np.ones((4, 2), np.float32), np.array([0, 1, 1, 0])),
        ...                      loss="cross_entropy")
        >>> sorted(result), result["accuracy"]  # one input, one prediction: half are right
        (['accuracy', 'loss'], 0.5)
    """
    loss_fn = None if loss is None else resolve_loss(loss, "evaluate")
    loader = as_loader(data, owner="evaluate", role="data", batch_size=batch_size)
    return evaluate_batches(model, loader, loss_fn, resolve(metrics, loss=loss_fn), "evaluate")


def predict(model: Module, x, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``x``, batch by batch, in evaluation mode without a graph.

    Args:
        model: the model (its mode is restored afterwards).
        x: an array (or Tensor) of inputs, or a ``DataLoader`` whose batches' first field
            is the input.
        batch_size: samples per forward pass for arrays (memory, not results).

    Returns:
        the outputs concatenated along the first axis, as a NumPy array.

    **Shape**: x ``(N, *features)`` → output ``(N, *outputs)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(3, 2))
        >>> cr.predict(model, np.zeros((5, 3), np.float32)).shape
        (5, 2)
    """
    if isinstance(x, (np.ndarray, Tensor, list, tuple)):
        array = Tensor(x).data
        if array.ndim == 0:
            raise ValueError("predict: x must have a sample axis, got a scalar")
        batches = DataLoader(array, batch_size=batch_size, shuffle=False)
    else:
        batches = x
    outputs = []
    device = model_device(model)
    with eval_mode(model):
        for batch in batches:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            inputs = inputs if isinstance(inputs, Tensor) else Tensor(inputs)
            _, pred = eval_step(model, on_device(inputs, device))
            outputs.append(pred)
    if not outputs:
        raise ValueError("predict: x gave no batches")
    return to_host(array_module(outputs[0]).concatenate(outputs, axis=0))
