"""What ``chainrule train`` reads off a data set's arrays before it builds anything: the task
(class labels or regression targets), the number of outputs and the vocabulary size — each
bounded by what the data supports, so a value in a file never decides an allocation on its
own — and the inputs a model of the chosen kind can take.

Every refusal is a ``ValueError`` of one line naming the data, the array and the value.
``evaluate`` and ``predict`` prepare inputs and targets with the same functions, from what the
model file records, so a model always sees data as it saw it in training.

Example:
    >>> import numpy as np
    >>> task_of("mine.npz", np.array([0, 2, 1]), np.array([2]))
    Task(kind='classification', outputs=3, loss='cross_entropy')
    >>> task_of("mine.npz", np.array([0.5, 1.5]), np.array([2.0])).loss
    'mse'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TEXT_MODELS", "Task", "task_of", "targets", "vocabulary_size", "model_inputs",
           "check_finite"]

TEXT_MODELS = ("bow", "lstm", "transformer")  # the models that read token ids
# Labels and ids number things from 0; a few numbers may go unused (a class absent from a small
# file, words of a larger vocabulary), but not millions of them: that is a corrupt value, and
# it would size the output layer or the embedding table.
_MAX_UNUSED_CLASSES = 1_000
_MAX_UNUSED_IDS = 100_000


@dataclass(frozen=True)
class Task:
    """What a model learns from the targets: ``kind`` (``"classification"`` or
    ``"regression"``), ``outputs`` (classes, or values per sample) and the loss."""

    kind: str
    outputs: int
    loss: str


def _largest(source: str, parts: dict[str, np.ndarray], what: str, unused: int) -> int:
    """The largest value of integer arrays that number things from 0, after checking that
    none is negative and that at most ``unused`` numbers below it go unused."""
    for name, values in parts.items():
        if values.size and values.min() < 0:
            raise ValueError(f"{source}: {name} holds the {what} {int(values.min())}; {what}s "
                             "number from 0")
    largest = max(int(v.max()) for v in parts.values() if v.size)
    distinct = len(np.unique(np.concatenate([np.unique(v) for v in parts.values()])))
    if largest + 1 - distinct > unused:
        name = next(n for n, v in parts.items() if v.size and int(v.max()) == largest)
        raise ValueError(
            f"{source}: {name} holds the {what} {largest:,} but only {distinct:,} distinct "
            f"{what}s occur, so {largest + 1 - distinct:,} numbers below it would go unused "
            f"(at most {unused:,} may); number the {what}s 0..{distinct - 1} "
            "(np.unique(values, return_inverse=True))")
    return largest


def task_of(source: str, y_train: np.ndarray, y_test: np.ndarray) -> Task:
    """Classification for integer (or boolean) labels ``(N,)``, regression for float targets
    ``(N,)`` or ``(N, k)``.

    Raises:
        ValueError: text or other non-numeric labels, labels of another shape, negative or
            far too large labels, or non-finite targets (the message names the array).
    """
    parts = {"y_train": y_train, "y_test": y_test}
    for name, y in parts.items():
        if y.dtype.kind in "US":
            sample = ", ".join(repr(str(v)) for v in y.ravel()[:2])
            raise ValueError(
                f"{source}: {name} holds text labels ({sample}, …); labels must be class "
                "indices 0..C-1 (number them with np.unique(y, return_inverse=True)) or float "
                "targets for regression")
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{source}: {name} holds {y.dtype} values; expected integer class "
                             "labels or float regression targets")
    if y_train.dtype.kind == "f" or y_test.dtype.kind == "f":
        shapes = {y.shape[1:] for y in parts.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) > 1:
            raise ValueError(f"{source}: regression targets must be (N,) or (N, k) alike, got "
                             f"y_train {y_train.shape} and y_test {y_test.shape}")
        check_finite(source, parts)
        return Task("regression", int(np.prod(y_train.shape[1:])), "mse")
    for name, y in parts.items():
        if y.ndim != 1:
            raise ValueError(f"{source}: {name} has targets of shape {y.shape[1:]} per sample, "
                             "not one class label; for a language model use chainrule "
                             "train-lm")
    labels = {k: v.astype(np.int64) if v.dtype.kind == "b" else v for k, v in parts.items()}
    largest = _largest(source, labels, "label", _MAX_UNUSED_CLASSES)
    return Task("classification", largest + 1, "cross_entropy")


def targets(task: Task, y: np.ndarray) -> np.ndarray:
    """The targets as the loss takes them: int64 labels, or float32 ``(N, k)`` values."""
    if task.kind == "classification":
        return y.astype(np.int64, copy=False)
    return y.astype(np.float32, copy=False).reshape(len(y), task.outputs)


def vocabulary_size(source: str, x_train: np.ndarray, x_test: np.ndarray) -> int:
    """The embedding table's size for token ids: the largest id plus one, bounded.

    Raises:
        ValueError: a negative id, or an id far beyond the ids that occur.
    """
    return _largest(source, {"x_train": x_train, "x_test": x_test}, "token id",
                    _MAX_UNUSED_IDS) + 1


def check_finite(source: str, parts: dict[str, np.ndarray]) -> None:
    """Raise ValueError naming the first array holding NaN or infinity, and where."""
    for name, values in parts.items():
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            where = np.argwhere(~np.isfinite(values))[0]
            raise ValueError(f"{source}: {name} holds {values[tuple(where)]} at index "
                             f"{tuple(int(i) for i in where)}; values must be finite")


def model_inputs(source: str, model: str, x: np.ndarray, token_ids: bool) -> np.ndarray:
    """The inputs as ``model`` takes them: int64 token ids for the text models, float32
    numbers for the others.

    Args:
        source: the data's name, for messages.
        model: the model's name (``"mlp"``, ``"bow"``, …).
        x: the inputs.
        token_ids: whether the data set is known to hold token ids (its integers are not
            numbers to compute with).

    Raises:
        ValueError: token ids for a model of numbers, or numbers for a text model.
    """
    if model in TEXT_MODELS:
        if x.dtype.kind not in "iu":
            raise ValueError(f"{source}: model {model!r} reads token ids (integers), but the "
                             f"inputs are {x.dtype}; use mlp or cnn")
        return x.astype(np.int64, copy=False)
    if token_ids:
        raise ValueError(f"{source} holds token ids, which model {model!r} cannot read; use "
                         f"--model {', '.join(TEXT_MODELS)}")
    return x.astype(np.float32, copy=False)
