"""The steps ``fit`` repeats for every batch: a training step and an evaluation step.

A training step is the five steps of backpropagation::

    pred = model(x)                 # 1. forward: the network's output for the batch
    loss_value = loss_fn(pred, y)   # 2. loss: one number saying how wrong it is
    optimizer.zero_grad()           # 3. clear the gradients of the previous step
    loss_value.backward()           # 4. backward: d loss / d parameter for every parameter
    optimizer.step()                # 5. update: move the parameters against their gradient

An evaluation step is the first two, in evaluation mode without a graph (``eval_mode``);
``evaluate`` and ``predict`` (and ``fit``'s validation) run it. Both steps return plain numbers
(the loss as a float, the predictions as an array), which is all the loop around them reads, so
a step can be replaced by another that computes the same (a captured or compiled one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from ..autograd import no_grad
from ..compile import compile as compile_step
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["train_step", "captured_train_step", "eval_step", "eval_mode", "compute_loss"]


def train_step(model: Module, loss_fn: Callable, optimizer, x: Tensor, y: Tensor
               ) -> tuple[float, np.ndarray]:
    """One optimisation step on the batch ``(x, y)``; returns the batch's loss and predictions.

    **Shape**: x ``(B, *features)``, y ``(B, *targets)`` → a float and ``(B, *outputs)``.
    """
    loss_value, pred = _update(model, loss_fn, optimizer, x, y)
    return float(loss_value.data), pred.data


def _update(model: Module, loss_fn: Callable, optimizer, x: Tensor, y: Tensor
            ) -> tuple[Tensor, Tensor]:
    """The five steps on ``(x, y)``, returning the loss and prediction tensors: the body of
    ``train_step`` and of the step ``captured_train_step`` captures (so the two cannot differ)."""
    pred = model(x)                                     # 1. forward
    loss_value = compute_loss(loss_fn, pred, y, "fit")  # 2. loss
    optimizer.zero_grad()                               # 3. clear the old gradients
    loss_value.backward()                               # 4. backward
    optimizer.step()                                    # 5. update
    return loss_value, pred


def captured_train_step(model: Module, loss_fn: Callable, optimizer
                        ) -> Callable[[Tensor, Tensor], tuple[float, np.ndarray]]:
    """``train_step`` for ``model``, captured and replayed by ``chainrule.compile`` (bitwise the
    same results; a step it cannot replay runs eagerly, after one warning saying why).

    **Shape**: as ``train_step``.
    """
    def step(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return _update(model, loss_fn, optimizer, x, y)

    compiled = compile_step(step)

    def run(x: Tensor, y: Tensor) -> tuple[float, np.ndarray]:
        loss_value, pred = compiled(x, y)
        return float(loss_value.data), pred.data

    return run


def eval_step(model: Module, x: Tensor, y: Tensor | None = None, loss_fn: Callable | None = None,
              owner: str = "evaluate") -> tuple[float | None, np.ndarray]:
    """The model's predictions for ``x`` and, given ``loss_fn`` and ``y``, their loss (else None).

    Run it inside ``eval_mode``: it records no graph of its own accord.

    **Shape**: x ``(B, *features)`` → None or a float, and ``(B, *outputs)``.
    """
    pred = model(x)
    if loss_fn is None or y is None:
        return None, pred.data
    return float(compute_loss(loss_fn, pred, y, owner).data), pred.data


def compute_loss(loss_fn: Callable, pred: Tensor, y: Tensor, owner: str) -> Tensor:
    """``loss_fn(pred, y)``; a failure is rephrased with both shapes and dtypes and a hint."""
    try:
        return loss_fn(pred, y)
    except (ValueError, TypeError) as error:
        hint = ""
        if pred.ndim == y.ndim + 1 and y.dtype.kind == "f":
            hint = "; for class labels use integers: y.astype('int64')"
        elif pred.ndim == y.ndim + 1 or pred.shape != y.shape:
            hint = ("; the targets must match the model's output (reshape y, or check the last "
                    "layer)")
        raise (TypeError if isinstance(error, TypeError) else ValueError)(
            f"{owner}: the loss failed on the model's output of shape {pred.shape} ({pred.dtype}) "
            f"and targets of shape {y.shape} ({y.dtype}): {error}{hint}"
        ) from error


@contextlib.contextmanager
def eval_mode(model: Module) -> Iterator[Module]:
    """Evaluation mode (dropout off, running statistics) and no graph inside; the model's
    previous mode afterwards, also when the block raises.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Dropout(0.5))
        >>> with eval_mode(model):
        ...     model.training, model(cr.tensor([[1.0, 2.0]])).requires_grad
        (False, False)
        >>> model.training
        True
    """
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield model
    finally:
        model.train(was_training)
