"""Matrix products: the general ``matmul`` and the fused dense-layer ``linear``."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module
from .elementwise import unbroadcast

__all__ = ["MatMul", "Linear"]


class MatMul(Function):
    """Y = A @ B (NumPy's matmul: 1-d operands and broadcast batch axes);
    dL/dA = G @ Bᵀ, dL/dB = Aᵀ @ G"""

    replayable = True

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        a, b = self.a, self.b
        xp = array_module(a)
        # A 1-d operand is a row (left) or a column (right) vector; restore its dropped axis.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if parents[0].requires_grad:
            ga = g @ xp.swapaxes(b2, -1, -2)
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if parents[1].requires_grad:
            gb = xp.swapaxes(a2, -1, -2) @ g
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """Y = X Wᵀ + b for X of shape (..., in), W (out, in), b (out,);
    dL/dX = G W, dL/dW = Gᵀ X, dL/db = Σ G over the batch

    Fused so the three products run as BLAS calls on contiguous 2-d operands. ``dL/dW`` is
    written in W's own memory order, so an optimizer's element-wise update runs over two
    arrays of one layout (``nn.Linear`` keeps W column-major; see its docstring).
    """

    def forward(self, x: Any, weight: Any, bias: Any = None) -> Any:
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is None:
            return out
        if bias.dtype is out.dtype or bias.dtype == out.dtype:
            out += bias  # in place: saves an allocation of the (batch, out) result
            return out
        return out + bias

    def backward(self, grad: Any) -> Any:
        x, weight = self.x, self.weight
        parents = self.parents or ()
        if grad.ndim != 2:  # (..., out): the batch axes become one for the weight's product
            x = x.reshape(-1, x.shape[-1])
        g2 = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        gx = (grad @ weight) if parents[0].requires_grad else None
        gw = None
        if parents[1].requires_grad:
            # In W's own layout (empty_like keeps it): BLAS writes a column-major gradient for a
            # column-major W directly, with no transposed copy.
            xp = array_module(x)
            dtype = x.dtype if g2.dtype == x.dtype else xp.result_type(g2, x)
            gw = xp.matmul(g2.T, x, out=xp.empty_like(weight, dtype=dtype))
        if len(parents) == 3 and parents[2].requires_grad:
            return gx, gw, g2.sum(axis=0)
        return (gx, gw) if len(parents) == 2 else (gx, gw, None)

    def backward_graph(self, grad: Any) -> Any:
        # The rule above writes into preallocated memory; the same products, recorded.
        parents = self.parents or ()
        x, weight = parents[0], parents[1]
        g2 = grad.reshape(-1, grad.shape[-1])
        gx = grad @ weight if x.requires_grad else None
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if weight.requires_grad else None
        if len(parents) == 3:
            return gx, gw, g2.sum(axis=0) if parents[2].requires_grad else None
        return gx, gw
