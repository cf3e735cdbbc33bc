"""What a model written by ``chainrule train`` records about its data, and how ``evaluate``,
``predict`` and ``explain`` use it to see the data exactly as training did.

The record is the ``"data"`` entry of the model file's metadata::

    {"name": "digits", "options": {"seed": 3}, "task": "classification", "outputs": 10,
     "loss": "cross_entropy", "input_shape": [1, 8, 8], "input_dtype": "float32",
     "test_samples": 360, "test_sha256": "…"}

``name`` and ``options`` reload the same split (a seed decides which samples were held out),
``input_dtype`` and ``task`` prepare inputs and targets as training did, and the digest of the
test split proves that the reloaded test data is the data the model was tested on — if the
files behind a data set changed, evaluation is refused rather than reported. The class names
and a text model's vocabulary sit beside the record in the metadata (``"classes"``,
``"vocabulary"``). A model file comes from anywhere, so the record is checked before use, and
the only loader option it may carry is the split's seed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .common import CommandError, load_data
from .data import Task, targets

__all__ = ["make_record", "read_record", "test_digest", "recorded_test_split", "prepare_inputs",
           "task_of_record"]

_TASKS = {"classification": "cross_entropy", "regression": "mse"}
_INPUT_DTYPES = ("float32", "int64")
_MAX_NDIM = 32


def test_digest(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of a split's arrays: their dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in (x, y):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def make_record(name: str, options: dict, task: Task, inputs: np.ndarray,
                x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """The record of a model trained on ``name`` loaded with ``options``; ``inputs`` are the
    training inputs as the model took them, ``x_test``/``y_test`` the test split as loaded."""
    return {"name": name, "options": dict(options), "task": task.kind,
            "outputs": task.outputs, "loss": task.loss, "input_shape": list(inputs.shape[1:]),
            "input_dtype": inputs.dtype.name, "test_samples": len(x_test),
            "test_sha256": test_digest(x_test, y_test)}


def read_record(path: Path, metadata: dict) -> dict | None:
    """The model file's data record after checking every field, or None when it has none.

    Raises:
        CommandError: a record with a missing or malformed field (named in the message).
    """
    record = metadata.get("data")
    if record is None:
        return None
    checks = {
        "name": lambda v: isinstance(v, str) and v != "",
        "options": lambda v: isinstance(v, dict) and set(v) <= {"seed"}
        and all(type(s) is int for s in v.values()),
        "task": lambda v: v in _TASKS,
        "outputs": lambda v: type(v) is int and v >= 1,
        "loss": lambda v: v == _TASKS.get(record.get("task")),
        "input_shape": lambda v: isinstance(v, list) and len(v) <= _MAX_NDIM
        and all(type(n) is int and n >= 0 for n in v),
        "input_dtype": lambda v: v in _INPUT_DTYPES,
        "test_sha256": lambda v: isinstance(v, str),
    }
    if not isinstance(record, dict):
        raise CommandError(f"{path}: its data record is a {type(record).__name__}, not an object")
    bad = [key for key, valid in checks.items() if key not in record or not valid(record[key])]
    if bad:
        raise CommandError(f"{path}: its data record has missing or malformed {', '.join(bad)}; "
                           "the file was altered or not written by chainrule train")
    record["input_shape"] = tuple(record["input_shape"])
    return record


def task_of_record(record: dict) -> Task:
    return Task(record["task"], record["outputs"], record["loss"])


def prepare_inputs(path: Path, source: str, x: np.ndarray, record: dict | None) -> np.ndarray:
    """``x`` as the model took its training inputs: the recorded shape per sample and dtype.
    Without a record, floats become float32 and integers (token ids) stay as they are."""
    if record is None:
        return x.astype(np.float32, copy=False) if x.dtype.kind == "f" else x
    expected, dtype = record["input_shape"], np.dtype(record["input_dtype"])
    if x.shape[1:] != expected:
        raise CommandError(f"{path} takes inputs of shape {expected} per sample; {source} has "
                           f"{x.shape[1:]}")
    if dtype.kind == "i" and x.dtype.kind not in "iu":
        raise CommandError(f"{path} reads token ids (integers); {source} holds {x.dtype} values")
    if dtype.kind == "f" and x.dtype.kind not in "biuf":
        raise CommandError(f"{path} takes numbers; {source} holds {x.dtype} values")
    return x.astype(dtype, copy=False)


def recorded_test_split(path: Path, metadata: dict, data: str | None, seed: int | None
                        ) -> tuple[np.ndarray, np.ndarray, dict | None, str]:
    """The test split the model in ``path`` was tested on after training, prepared as it was:
    ``(x_test, y_test, record, data name)``.

    Args:
        path: the model file, for messages.
        metadata: its metadata (``cr.load_metadata``).
        data: ``--data`` as given (None: the recorded data set). Another data set than the
            recorded one is refused, except another ``.npz`` file for a model trained on one.
        seed: ``--seed`` as given (None: the recorded seed); another seed is refused, as its
            test split overlaps the model's training data.

    Raises:
        CommandError: no record and no ``--data``; data or seed other than recorded; a test
            split that differs from the recorded one; inputs the model cannot take.
    """
    from ..datasets import canonical_name

    record = read_record(path, metadata)
    if record is None:
        if data is None:
            raise CommandError(f"{path} does not record the data it was trained on (it was not "
                               "written by chainrule train); name it with --data")
        _, (x, y) = load_data(data, 0 if seed is None else seed)
        return prepare_inputs(path, data, x, None), y, None, data
    name, options = record["name"], dict(record["options"])
    if data is not None and canonical_name(data) != name:
        if not (name.lower().endswith(".npz") and data.lower().endswith(".npz")):
            raise CommandError(f"{path} was trained on {name}; evaluating it on {data} would "
                               f"measure nothing it learned (omit --data to use {name})")
        name, options = data, {}  # the user's own test file of the same kind
    if seed is not None and options.get("seed", seed) != seed:
        raise CommandError(f"{path} was trained with --seed {options['seed']}: the test split "
                           f"of seed {seed} holds samples it was trained on (omit --seed)")
    _, (x, y) = load_data(name, **options)
    if name == record["name"] and test_digest(x, y) != record["test_sha256"]:
        raise CommandError(f"the test split of {name} read here differs from the one {path} "
                           "was tested on when it was trained (the data's files changed?); "
                           "evaluating on it would not repeat that test")
    task = task_of_record(record)
    if task.kind == "classification" and (y.dtype.kind not in "biu" or y.ndim != 1):
        raise CommandError(f"{path} is a classifier; {name} has {y.dtype} targets of shape "
                           f"{y.shape[1:]} per sample")
    if task.kind == "regression" and (y.dtype.kind not in "biuf" or
                                      int(np.prod(y.shape[1:])) != task.outputs):
        raise CommandError(f"{path} predicts {task.outputs} value(s) per sample; {name} has "
                           f"targets of shape {y.shape[1:]}")
    return prepare_inputs(path, name, x, record), targets(task, y), record, name
