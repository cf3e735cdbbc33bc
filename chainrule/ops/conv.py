"""2-d convolution (cross-correlation, as in every deep-learning library) on NCHW batches.

The products run over a copied patch matrix (im2col) in whichever layout copies fastest; see
``chainrule.backend.patches``. Arguments are checked by ``chainrule.nn.functional.conv2d``.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, composite_gradients
from ..backend.patches import Im2col
from .windows import window_patches

__all__ = ["Conv2d"]


class Conv2d(Function):
    """Y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · X̃[n, g(o)·Cg + c, y·sh + i·dh, x·sw + j·dw]
    (X̃: X zero-padded; g(o): the group of output channel o; Cg = C / groups)

    dL/dW[o, c, i, j] = Σ_n,y,x G[n, o, y, x] · X̃[n, g(o)·Cg + c, y·sh + i·dh, x·sw + j·dw]
    dL/dX̃[n, g·Cg + c, y·sh + i·dh, x·sw + j·dw] += Σ_o∈g G[n, o, y, x] · W[o, c, i, j]
    dL/db[o] = Σ_n,y,x G[n, o, y, x]

    With P the patch matrix of X̃ (one row per output position, one column per kernel entry),
    per group: Y = P Wᵀ + b, dL/dW = Gᵀ P, and dL/dX̃ is G W folded back onto the input
    (col2im).

    Parameters: ``windows`` (a ``backend.windows.Windows``: kernel, stride, padding, dilation,
    output size) and ``groups``.
    """

    def forward(self, x: Any, weight: Any, bias: Any = None, windows: Any = None,
                groups: int = 1) -> Any:
        self.weight, self.windows, self.groups = weight, windows, groups
        self.patches = Im2col(x, windows, groups)
        return self.patches.correlate(weight, bias)

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        gx, gw = self.patches.gradients(grad, self.weight, parents[0].requires_grad,
                                        parents[1].requires_grad)
        gb = grad.sum(axis=(0, 2, 3)) if len(parents) == 3 and parents[2].requires_grad else None
        return gx, gw, gb

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads the patch matrix kept as an array: differentiate the convolution
        # written with recorded ops instead (patches gathered by Index, then one matmul).
        x, weight, *bias = self.parents or ()
        patches = window_patches(x, self.windows)  # (N, C, oh, ow, kh, kw)
        n, c, oh, ow, kh, kw = patches.shape
        g, out = self.groups, weight.shape[0]
        columns = patches.reshape(n, g, c // g, oh * ow, kh * kw).transpose(0, 1, 3, 2, 4)
        columns = columns.reshape(n, g, oh * ow, c // g * kh * kw)
        kernels = weight.reshape(g, out // g, c // g * kh * kw).transpose(0, 2, 1)
        y = (columns @ kernels).transpose(0, 1, 3, 2).reshape(n, out, oh, ow)
        if bias:
            y = y + bias[0].reshape(1, out, 1, 1)
        return composite_gradients(self, y, grad)
