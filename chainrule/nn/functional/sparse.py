"""``embedding``: the checks of a table lookup by integer ids, then the op
(``chainrule.ops.embedding.EmbeddingLookup``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ...ops.embedding import EmbeddingLookup
from ...tensor import Tensor
from ._checks import ArgumentIndexError, ArgumentTypeError, ArgumentValueError, require_tensor

__all__ = ["embedding", "padding_index"]


def padding_index(where: str, padding_idx: int | None, num_embeddings: int) -> int | None:
    """``padding_idx`` in ``[-num_embeddings, num_embeddings)`` as a row number (negative
    counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ArgumentValueError(where, f"padding_idx {padding_idx} is out of range for "
                                        f"{num_embeddings} embeddings")
    return padding_idx % num_embeddings


def embedding(input: Tensor | npt.ArrayLike, weight: Tensor, padding_idx: int | None = None
              ) -> Tensor:
    """Row ``input[p]`` of the table ``weight`` for every position ``p``: ``y[p] = W[idx[p]]``
    (PyTorch's ``embedding``). Row ``padding_idx`` receives no gradient.

    Args:
        input: integer ids (an array, a list or an integer tensor), each in ``0 … V-1``.
        weight: the (V, D) table.
        padding_idx: a row that gets no gradient (negative counts from the end), or None.

    Shape:
        - input: ``(*)``; weight: ``(V, D)``; output: ``(*, D)``.

    Example:
        >>> import chainrule as cr
        >>> table = cr.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
        >>> cr.nn.functional.embedding([[2, 1]], table).data.tolist()
        [[[3.0, 4.0], [1.0, 2.0]]]
    """
    where = "embedding"
    require_tensor(where, weight)
    if weight.ndim != 2:
        raise ArgumentValueError(where, f"weight must be a (num_embeddings, embedding_dim) "
                                        f"table, got shape {weight.shape}")
    rows = weight.shape[0]
    ids = input.data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise ArgumentTypeError(where, f"expected integer ids, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = ids[(ids < 0) | (ids >= rows)].flat[0]
        raise ArgumentIndexError(where, f"id {bad} is out of range for {rows} embeddings "
                                        f"(valid ids are 0 … {rows - 1})")
    return EmbeddingLookup.apply(weight, indices=ids,
                                 padding_idx=padding_index(where, padding_idx, rows))
