"""The embedding lookup: rows of a table picked by integer ids (a one-hot product without the
one-hot). Arguments are checked by ``chainrule.nn.functional.embedding``."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module, scatter_add_rows
from .shape import IndexAdjoint

__all__ = ["EmbeddingLookup"]


class EmbeddingLookup(Function):
    """y[p] = W[idx[p]] for every position p of the integer array ``idx``;
    dL/dW[v] = Σ_{p : idx[p] = v} dL/dy[p] (a scatter-add), and 0 for row ``padding_idx``

    Shape: W (V, D), idx (*) → y (*, D).

    # NOTE: row ``padding_idx`` gets no gradient although the output depends on it (it is a
    # fixed padding vector, as in PyTorch), so central differences disagree on that row.
    """

    def forward(self, weight: Any, indices: Any, padding_idx: int | None = None) -> Any:
        self.indices, self.rows, self.padding_idx = indices, weight.shape[0], padding_idx
        return array_module(weight).take(weight, indices, axis=0)

    def backward(self, grad: Any) -> Any:
        out = scatter_add_rows(self.rows, self.indices, grad)
        if self.padding_idx is not None:
            out[self.padding_idx] = 0
        return out

    def backward_graph(self, grad: Any) -> Any:
        # Linear in W: the same scatter-add as a recorded op (whose adjoint is the lookup).
        if self.padding_idx is not None:
            grad = grad * (self.indices != self.padding_idx)[..., None]
        return IndexAdjoint.apply(grad, shape=(self.rows, grad.shape[-1]), index=self.indices)
