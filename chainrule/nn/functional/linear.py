"""``linear``: the dense layer's function, checked and then fused into one op."""

from __future__ import annotations

from ...ops.linalg import Linear
from ...tensor import Tensor
from ._checks import ArgumentValueError, require_float, require_tensor

__all__ = ["linear"]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` fused into one op: ``z = W a + b`` with batches as rows.

    Shape:
        x: (..., in_features); weight: (out_features, in_features); bias: (out_features,);
        output: (..., out_features).

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0, 4.0]])
        >>> cr.nn.functional.linear(x, w, cr.tensor([0.5]))
        tensor([[11.5]])
    """
    require_tensor("linear", x)
    if x.shape[-1:] != weight.shape[1:]:
        raise ArgumentValueError("linear", f"expected input of shape (..., {weight.shape[1]}), "
                                           f"got {x.shape} (weight of shape {weight.shape})")
    require_float("linear", x, like=weight.dtype)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
