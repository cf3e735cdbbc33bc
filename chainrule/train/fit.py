"""``fit``: the training loop, in the Keras manner — a train step per batch, an evaluation step
per epoch, and a list of callbacks around them.

``fit`` resolves its arguments, then repeats ``train_step`` (``chainrule.train.steps``) over the
batches and ``evaluate_batches`` over the validation data; everything else it does is a
callback: the progress display, a learning-rate schedule (``scheduler=``), and the user's. The
per-batch bookkeeping is kept as cheap as the math allows: the loss and metric sums are plain
floats, and callbacks run per batch only when they ask to (``on_batch_end``).

Under ``mpirun`` the same loop trains data-parallel: ``fit_context()``
(``chainrule.distributed.fitting``) answers what differs — sharded data, averaged gradients,
callbacks on rank 0, epoch logs of all ranks — and in one process answers "as before".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized

import numpy as np

from ..backend import Device
from ..distributed.fitting import FitContext, fit_context
from ..nn.module import Module
from .arguments import as_loader, as_pair, model_device, resolve_loss, resolve_optimizer
from .callbacks import Callback, CallbackList, LearningRateScheduler
from .evaluate import evaluate_batches
from .history import History
from .metrics import resolve
from .nonfinite import NonFiniteLoss
from .progress import progress_callback
from .steps import captured_train_step, train_step
from .tally import Tally

__all__ = ["fit"]


def fit(model: Module, train_data, *, loss, optimizer, epochs: int, validation_data=None,
        metrics="auto", callbacks: Sequence[Callback] = (), progress=True,
        batch_size: int = 32, shuffle: bool = True, seed: int | None = None, scheduler=None,
        validation_batch_size: int = 256, device: str | Device | None = None,
        compile: bool = False) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``; return the ``History``.

    Every batch runs the training step (forward → loss → zero_grad → backward → step, see
    ``chainrule.train.steps``); every epoch ends with the evaluation step over
    ``validation_data`` and the callbacks' ``on_epoch_end``. Reported values are averages over
    the epoch weighted by batch size; the training metrics are those of the batches as they
    were trained (dropout on, weights moving), as in Keras.

    Args:
        model: the ``Module`` to train (put in training mode; its previous mode is restored
            at the end).
        train_data: ``(x, y)`` arrays, batched with ``batch_size`` (shuffled each epoch when
            ``shuffle``, by a loader seeded with ``seed``), or a ``DataLoader`` (or any
            iterable of ``(x, y)`` batches), used as it is.
        loss: ``loss(pred, y) -> scalar Tensor``, e.g. ``cr.nn.CrossEntropyLoss()``, or its
            name (``'cross_entropy'``, ``'mse'``, …).
        optimizer: an optimizer over ``model.parameters()``, or a name (``'sgd'``, ``'adam'``)
            to build one with its default hyperparameters.
        epochs: number of epochs to reach (a resumed run continues up to it).
        validation_data: ``(x, y)`` or a loader, evaluated after each epoch in evaluation mode;
            adds ``val_loss`` and ``val_<metric>``.
        metrics: names (``'accuracy'``, ``'top_k_accuracy'``, ``'mae'``, ``'r2'``) or
            functions ``f(y_true, y_pred) -> float`` of NumPy arrays; a function of yours that
            a callback monitors declares which way is better (``f.greater_is_better = True``).
            ``"auto"`` (the default) reports what suits the loss: accuracy for cross-entropy,
            MAE and R² for MSE, L1 and Huber (``cr.metrics.defaults_for``).
        callbacks: ``Callback`` objects (``cr.callbacks.EarlyStopping(...)``, …).
        progress: True (a bar in a terminal, one line per epoch otherwise), ``'bar'``,
            ``'lines'`` or False.
        batch_size, shuffle, seed: how ``(x, y)`` training arrays are batched. ``seed=None``
            draws the shuffling seed from the global generator (``cr.manual_seed``).
        scheduler: a learning-rate scheduler stepped after every epoch; shorthand for
            ``callbacks=[cr.callbacks.LearningRateScheduler(scheduler)]``.
        validation_batch_size: batch size for ``(x, y)`` validation arrays.
        device: move the model there first (``"cuda"``: see ``Module.to``). Every batch is
            copied to the model's device as it is trained, whatever this argument.
        compile: capture the training step and replay it (``chainrule.compile``): the same
            results bitwise, faster for fixed-shape models; a step that cannot be replayed
            (dropout masks, batch-norm counters, see ``cr.compile``) runs eagerly after one
            warning. Not under ``mpirun`` (data parallelism hooks the gradients).

    Returns:
        ``History``: ``history.history["loss"]`` etc., one value per epoch; also ``"lr"``,
        the learning rate of the first parameter group during the epoch.

    **Shape**: x ``(N, *features)``; y ``(N,)`` integer labels for classification or
    ``(N, *outputs)`` matching the model's output for regression.

    To resume an interrupted run, add ``cr.callbacks.BackupAndRestore(path)`` and run the same
    code again after the crash.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
        >>> y = (x[:, 0] > 0).astype(np.int64)
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
        >>> history = cr.fit(model, (x, y), loss="cross_entropy",
        ...                  optimizer=cr.optim.SGD(model.parameters(), lr=0.1),
        ...                  epochs=3, progress=False)
        >>> sorted(history.history), len(history.epoch)
        (['accuracy', 'loss', 'lr'], 3)
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a chainrule Module, got {type(model).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if device is not None:
        model.to(device)
    loss_fn = resolve_loss(loss, "fit")
    world = fit_context()  # under MPI: sharded data, averaged gradients, rank 0's callbacks
    optimizer = world.optimizer(resolve_optimizer(optimizer, model))
    metric_functions = resolve(metrics, loss=loss_fn)
    train_loader = as_loader(train_data, owner="fit", role="train_data", batch_size=batch_size,
                             shuffle=shuffle, seed=seed, shard=world.shard)
    val_loader = None if validation_data is None else as_loader(
        validation_data, owner="fit", role="validation_data", batch_size=validation_batch_size,
        shard=world.shard)

    display = progress_callback(world.progress(progress))
    run_callbacks = [c for c in (display,) if c is not None]
    if scheduler is not None:
        run_callbacks.append(LearningRateScheduler(scheduler))
    history = History()
    steps = len(train_loader) if isinstance(train_loader, Sized) else None
    history.params = {"epochs": int(epochs), "steps": steps}
    callback_list = world.callbacks(
        [*run_callbacks, *callbacks], display, model=model, optimizer=optimizer,
        train_data=train_loader, history=history, params=history.params,
        metrics=metric_functions)
    if compile and type(world) is FitContext:  # one process
        step = captured_train_step(model, loss_fn, optimizer)
    else:
        step = functools.partial(train_step, model, loss_fn, optimizer)
    nonfinite = NonFiniteLoss(model)

    was_training = model.training
    model.stop_training = False
    callback_list.on_train_begin()
    try:
        epoch = len(history.epoch)  # > 0 when BackupAndRestore resumed a run
        while epoch < epochs and not model.stop_training:
            model.train()
            callback_list.on_epoch_begin(epoch)
            lr = _learning_rate(optimizer)
            nonfinite.epoch = epoch
            logs = _train_epoch(model, step, train_loader, metric_functions, callback_list,
                                world.combine, nonfinite, model_device(model))
            if val_loader is not None:
                logs.update(evaluate_batches(model, val_loader, loss_fn, metric_functions,
                                             "fit (validation)", prefix="val_",
                                             combine=world.combine))
            if lr is not None:
                logs["lr"] = lr
            history.append(epoch, logs)
            callback_list.on_epoch_end(epoch, logs)
            epoch += 1
    finally:
        model.train(was_training)
    callback_list.on_train_end({k: v[-1] for k, v in history.history.items()}
                               if history.epoch else {})
    return history


def _train_epoch(model: Module, step: Callable, batches: Iterable,
                 metrics: Mapping[str, Callable], callbacks: CallbackList,
                 combine: Callable[[Tally], Tally], nonfinite: NonFiniteLoss, device: Device
                 ) -> dict[str, float]:
    """One pass of ``step`` over ``batches``; the epoch's loss and metrics (of all processes,
    through ``combine``), weighted by batch size. Stops after the batch in which a callback
    sets ``model.stop_training``."""
    tally = Tally(metrics)
    per_batch = callbacks.per_batch
    for batch, pair in enumerate(batches):
        x, y = as_pair(pair, "fit", device)
        loss_value, pred = step(x, y)
        if not math.isfinite(loss_value):
            nonfinite.warn(loss_value, batch, x, y)
        tally.update(loss_value, y.data, pred)
        if per_batch:
            callbacks.on_batch_end(batch, tally.results())
        if model.stop_training:
            break
    if tally.count == 0:
        raise ValueError("fit: train_data gave no batches")
    return combine(tally).results()


def _learning_rate(optimizer) -> float | None:
    """The first parameter group's rate as the epoch starts (None for a hand-made optimizer)."""
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None
