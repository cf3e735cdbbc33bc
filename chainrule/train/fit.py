"""``fit``, ``evaluate`` and ``predict``: the training loop, in the Keras manner.

Each training step is the five steps of backpropagation, written out in ``fit``'s loop::

    pred = model(x)                 # 1. forward: the network's output for the batch
    loss_value = loss_fn(pred, y)   # 2. loss: one number saying how wrong it is
    optimizer.zero_grad()           # 3. clear the gradients of the previous step
    loss_value.backward()           # 4. backward: d loss / d parameter for every parameter
    optimizer.step()                # 5. update: move the parameters against their gradient

Everything else per batch is bookkeeping kept as cheap as the math allows: the loss and metric
sums are plain floats, and callbacks run per batch only when they ask to (``on_batch_end``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..autograd import no_grad
from ..data import DataLoader
from ..nn.module import Module
from ..tensor import Tensor
from .callbacks import BackupAndRestore, Callback, LearningRateScheduler, _runs_per_batch
from .history import History
from .metrics import _stream
from .progress import progress_callback

__all__ = ["fit", "evaluate", "predict"]


class _Tally:
    """Running loss and metrics over an epoch, weighted by batch size."""

    __slots__ = ("count", "loss_total", "names", "streams")

    def __init__(self, metrics: Sequence):
        pairs = [_stream(m) for m in metrics]
        self.names = [name for name, _ in pairs]
        self.streams = [stream for _, stream in pairs]
        self.loss_total = 0.0
        self.count = 0

    def update(self, loss_value: float | None, y: np.ndarray, pred: np.ndarray) -> None:
        n = len(y)
        if loss_value is not None:
            self.loss_total += loss_value * n
        self.count += n
        for stream in self.streams:
            stream.update(y, pred)

    def results(self, prefix: str = "", with_loss: bool = True) -> dict[str, float]:
        logs = {}
        if with_loss:
            logs[prefix + "loss"] = self.loss_total / self.count if self.count else float("nan")
        for name, stream in zip(self.names, self.streams):
            logs[prefix + name] = stream.result()
        return logs


def _metric_list(metrics) -> Sequence:
    if metrics is None:
        return ()
    if isinstance(metrics, str) or callable(metrics):
        return (metrics,)
    return tuple(metrics)


def _resolve_loss(loss, owner: str) -> Callable:
    if isinstance(loss, str) or callable(loss):
        from ..nn.loss import loss as lookup  # the one name lookup for losses

        return lookup(loss)
    raise TypeError(f"{owner}: loss must be a callable or a name such as 'cross_entropy', got "
                    f"{type(loss).__name__}")


def _resolve_optimizer(optimizer, model: Module):
    if isinstance(optimizer, (str, type)):
        from .. import optim

        return optim.get(optimizer, model.parameters())
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise TypeError(f"fit: optimizer must be an Optimizer or a name such as 'adam', got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _loader(data, *, owner: str, role: str, batch_size: int, shuffle: bool = False,
            seed: int | None = None):
    """A ``DataLoader`` for ``(x, y)`` arrays; a loader or other iterable of batches (such as a
    list of ``(x, y)`` pairs) as is."""
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
        return DataLoader((x, y), batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (np.ndarray, Tensor)):
        raise TypeError(f"{owner}: {role} must be a pair (x, y) or a DataLoader, got a single "
                        "array; pass the targets too: (x, y)")
    if not isinstance(data, Iterable):
        raise TypeError(f"{owner}: {role} must be a pair (x, y) or a DataLoader, got "
                        f"{type(data).__name__}")
    return data


def _pair(batch, owner: str) -> tuple[Tensor, Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        what = f"a {len(batch)}-tuple" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"{owner}: each batch must be a pair (x, y), got {what}")
    x, y = batch
    return (x if isinstance(x, Tensor) else Tensor(x)), (y if isinstance(y, Tensor) else Tensor(y))


def _loss_error(owner: str, pred: Tensor, y: Tensor, error: Exception) -> Exception:
    """Rephrase a loss failure on the first pairing of predictions and targets."""
    hint = ""
    if pred.ndim == y.ndim + 1 and y.dtype.kind == "f":
        hint = "; for class labels use integers: y.astype('int64')"
    elif pred.ndim == y.ndim + 1 or pred.shape != y.shape:
        hint = "; the targets must match the model's output (reshape y, or check the last layer)"
    return (TypeError if isinstance(error, TypeError) else ValueError)(
        f"{owner}: the loss failed on the model's output of shape {pred.shape} ({pred.dtype}) and "
        f"targets of shape {y.shape} ({y.dtype}): {error}{hint}"
    )


@contextlib.contextmanager
def _eval_mode(model: Module):
    """Evaluation mode and no graph inside; the model's previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def _evaluate_loader(model: Module, loader, loss_fn: Callable | None, metrics: Sequence,
                     owner: str, prefix: str = "") -> dict[str, float]:
    tally = _Tally(metrics)
    with _eval_mode(model):
        for batch in loader:
            x, y = _pair(batch, owner)
            pred = model(x)
            value = None
            if loss_fn is not None:
                try:
                    value = float(loss_fn(pred, y).data)
                except (ValueError, TypeError) as error:
                    raise _loss_error(owner, pred, y, error) from error
            tally.update(value, y.data, pred.data)
    if tally.count == 0:
        raise ValueError(f"{owner}: the data gave no batches")
    return tally.results(prefix, with_loss=loss_fn is not None)


def fit(model: Module, train_data, *, loss, optimizer, epochs: int, validation_data=None,
        metrics=("accuracy",), callbacks: Sequence[Callback] = (), progress=True,
        batch_size: int = 32, shuffle: bool = True, seed: int | None = None, scheduler=None,
        validation_batch_size: int = 256) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``; return the ``History``.

    Every batch runs forward → loss → zero_grad → backward → step (see the module docstring).
    Reported values are averages over the epoch weighted by batch size; the training metrics
    are those of the batches as they were trained (dropout on, weights moving), as in Keras.

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
            functions ``f(y_true, y_pred) -> float`` of NumPy arrays.
        callbacks: ``Callback`` objects (``cr.callbacks.EarlyStopping(...)``, …).
        progress: True (a bar in a terminal, one line per epoch otherwise), ``'bar'``,
            ``'lines'`` or False.
        batch_size, shuffle, seed: how ``(x, y)`` training arrays are batched. ``seed=None``
            draws the shuffling seed from the global generator (``cr.manual_seed``).
        scheduler: a learning-rate scheduler stepped after every epoch (the same as
            ``callbacks=[cr.callbacks.LearningRateScheduler(scheduler)]``).
        validation_batch_size: batch size for ``(x, y)`` validation arrays.

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
        >>> history = cr.fit(model, (x, y), loss="cross_entropy",  # doctest: +SKIP
        ...                  optimizer=cr.optim.SGD(model.parameters(), lr=0.1),
        ...                  epochs=3, progress=False)
        >>> sorted(history.history)  # doctest: +SKIP
        ['accuracy', 'loss', 'lr']
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a chainrule Module, got {type(model).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    loss_fn = _resolve_loss(loss, "fit")
    optimizer = _resolve_optimizer(optimizer, model)
    metrics = _metric_list(metrics)
    _Tally(metrics)  # fail on an unknown metric now, not after the first epoch
    train_loader = _loader(train_data, owner="fit", role="train_data", batch_size=batch_size,
                           shuffle=shuffle, seed=seed)
    val_loader = None if validation_data is None else _loader(
        validation_data, owner="fit", role="validation_data", batch_size=validation_batch_size)

    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be Callback objects, got "
                            f"{type(callback).__name__}")
    if scheduler is not None:
        callbacks.insert(0, LearningRateScheduler(scheduler))
    display = progress_callback(progress)
    if display is not None:
        callbacks.insert(0, display)
    # The backup runs last: it restores the others' state after they reset themselves in
    # on_train_begin, and saves it after they have updated it in on_epoch_end.
    callbacks.sort(key=lambda c: isinstance(c, BackupAndRestore))
    if scheduler is None:
        scheduler = next((c.schedule for c in callbacks
                          if isinstance(c, LearningRateScheduler) and c.is_scheduler), None)

    history = History()
    steps = len(train_loader) if hasattr(train_loader, "__len__") else None
    history.params = {"epochs": int(epochs), "steps": steps}
    for callback in callbacks:
        callback.set_context(model=model, optimizer=optimizer, scheduler=scheduler,
                             train_data=train_loader, history=history, params=history.params,
                             callbacks=callbacks)
    per_batch = [c for c in callbacks if _runs_per_batch(c)]

    was_training = model.training
    model.stop_training = False
    for callback in callbacks:
        callback.on_train_begin()
    try:
        epoch = len(history.epoch)  # > 0 when BackupAndRestore resumed a run
        while epoch < epochs and not model.stop_training:
            model.train()
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            groups = getattr(optimizer, "param_groups", None)  # absent in hand-made optimizers
            lr = float(groups[0]["lr"]) if groups else None
            tally = _Tally(metrics)
            for batch, pair in enumerate(train_loader):
                x, y = _pair(pair, "fit")
                pred = model(x)                     # 1. forward
                try:
                    loss_value = loss_fn(pred, y)   # 2. loss
                except (ValueError, TypeError) as error:
                    raise _loss_error("fit", pred, y, error) from error
                optimizer.zero_grad()               # 3. clear the old gradients
                loss_value.backward()               # 4. backward
                optimizer.step()                    # 5. update
                tally.update(float(loss_value.data), y.data, pred.data)
                if per_batch:
                    batch_logs = tally.results()
                    for callback in per_batch:
                        callback.on_batch_end(batch, batch_logs)
                if model.stop_training:
                    break
            if tally.count == 0:
                raise ValueError("fit: train_data gave no batches")
            logs = tally.results()
            if val_loader is not None:
                logs.update(_evaluate_loader(model, val_loader, loss_fn, metrics,
                                             "fit (validation)", prefix="val_"))
            if lr is not None:
                logs["lr"] = lr
            history.append(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            epoch += 1
    finally:
        model.train(was_training)
    final = {k: v[-1] for k, v in history.history.items()} if history.epoch else {}
    for callback in callbacks:
        callback.on_train_end(final)
    return history


def evaluate(model: Module, data, *, loss=None, metrics=("accuracy",), batch_size: int = 256
             ) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``data``, in evaluation mode without a graph.

    Args:
        model: the model (its mode is restored afterwards).
        data: ``(x, y)`` arrays or a ``DataLoader`` of ``(x, y)`` batches.
        loss: a loss callable or name; omitted, no ``"loss"`` is reported.
        metrics: as in ``fit``.
        batch_size: batch size for arrays.

    Returns:
        ``{"loss": …, "accuracy": …}``: averages over all samples.

    **Shape**: as in ``fit``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 2))  # doctest: +SKIP
        >>> cr.evaluate(model, (np.ones((4, 2), np.float32), np.array([0, 1, 1, 0])),
        ...             loss="cross_entropy")  # doctest: +SKIP
        {'loss': ..., 'accuracy': 0.5}
    """
    loss_fn = None if loss is None else _resolve_loss(loss, "evaluate")
    loader = _loader(data, owner="evaluate", role="data", batch_size=batch_size)
    return _evaluate_loader(model, loader, loss_fn, _metric_list(metrics), "evaluate")


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
        >>> model = cr.nn.Sequential(cr.nn.Linear(3, 2))  # doctest: +SKIP
        >>> cr.predict(model, np.zeros((5, 3), np.float32)).shape  # doctest: +SKIP
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
    with _eval_mode(model):
        for batch in batches:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            out = model(inputs if isinstance(inputs, Tensor) else Tensor(inputs))
            outputs.append(out.data)
    if not outputs:
        raise ValueError("predict: x gave no batches")
    return np.concatenate(outputs, axis=0)
