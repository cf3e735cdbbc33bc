"""A model's metadata: the JSON facts it needs besides its weights (a text model's vocabulary,
class names), stored in the file's header beside the architecture.

Example:
    >>> import os, tempfile
    >>> import chainrule as cr
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> cr.save(cr.nn.Linear(2, 2), path, metadata={"classes": ["cat", "dog"]})
    >>> cr.load_metadata(path)
    {'classes': ['cat', 'dog']}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from .format import LoadError, read_info

__all__ = ["checked_metadata", "load_metadata"]


def checked_metadata(metadata: Mapping, owner: str) -> dict:
    """``metadata`` as a dict, after checking that it is JSON-able (before anything is written).

    Raises:
        TypeError: it is not, named with ``owner`` (the saving function).
    """
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: metadata must be JSON-able data: {error}") from None
    return dict(metadata)


def load_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` a model was saved with (``{}`` when none), read from the file's header
    without loading any tensor.

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, or metadata that is not a JSON object.
    """
    path = os.fspath(path)
    found = read_info(path).get("metadata", {})
    if not isinstance(found, dict):
        raise LoadError(f"{path}: the saved metadata is a JSON {type(found).__name__}, not an "
                        "object")
    return found
