"""``Embedding``: a trainable lookup table from integer ids to vectors."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.sparse import padding_index
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Row ``idx`` of a weight table for every id: ``y[p] = W[idx[p]]``.

    Equivalent to multiplying a one-hot vector by ``W`` without building it
    (``nn.functional.embedding``); the gradient is the matching scatter-add
    ``dL/dW[v] = Σ_{p: idx[p] = v} dL/dy[p]``, so an id used twice in a batch collects both
    gradients. Row ``padding_idx`` (typically the padding token) never
    receives a gradient and starts at zero, so padded positions contribute zero vectors.

    Initialisation (PyTorch's): ``W ~ N(0, 1)``.

    Args:
        num_embeddings: size of the vocabulary V (ids are 0 … V-1).
        embedding_dim: size D of each vector.
        padding_idx: an id whose row stays fixed (negative counts from the end), or None.
        dtype: dtype of the table.
        generator: ``numpy.random.Generator`` or int seed for the initial table.

    Shape:
        - Input: integer ids of any shape ``(*)``.
        - Output: ``(*, embedding_dim)``.
        - ``weight``: ``(num_embeddings, embedding_dim)``.

    Example:
        >>> import chainrule as cr
        >>> emb = cr.nn.Embedding(10, 3, padding_idx=0)
        >>> out = emb(cr.tensor([[1, 2, 0], [4, 0, 0]]))
        >>> out.shape, float(abs(out.data[0, 2]).sum())
        ((2, 3, 3), 0.0)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                f"Embedding: num_embeddings and embedding_dim must be >= 1, got "
                f"{num_embeddings}, {embedding_dim}"
            )
        padding_idx = padding_index("Embedding", padding_idx, num_embeddings)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight, generator=generator)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor | npt.ArrayLike, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An embedding holding a copy of the (V, D) array ``embeddings``, e.g. word vectors;
        ``freeze`` keeps it out of training (``requires_grad=False``)."""
        array = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if array.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: expected a (num_embeddings, embedding_dim) array, "
                f"got shape {array.shape}"
            )
        num_embeddings, embedding_dim = array.shape
        layer = cls(num_embeddings, embedding_dim, padding_idx=padding_idx, dtype=array.dtype,
                    generator=0)
        layer.weight.data[...] = array
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, indices: Tensor | npt.ArrayLike) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
