"""2-d transposed convolution (the adjoint of a convolution, "deconvolution") on NCHW
batches, built from the convolution's own kernels (``chainrule.backend.patches``).

A transposed convolution of ``x`` with ``W`` is the input gradient of the convolution of an
output-sized input with ``W``: its forward is that convolution's col2im, and its input
gradient is that convolution's forward (im2col and one product per group) applied to the
output gradient. Arguments are checked by ``chainrule.nn.functional.conv_transpose2d``.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..autograd import grad as gradient_of
from ..backend import array_module
from ..backend.patches import Im2col, col2im
from ..backend.windows import Windows
from ..backend.workspace import copy
from .conv import Conv2d

__all__ = ["ConvTranspose2d"]


class ConvTranspose2d(Function):
    """Y[n, o, y·sh + i·dh - ph, x·sw + j·dw - pw] += Σ_c X[n, c, y, x] · W[c, o', i, j]
    (o' = o within its group; c over the input channels of that group), Y += b[o]

    It is the adjoint of the convolution ``Z = conv2d(Y, W)`` (``windows``: that
    convolution's sweep over Y, whose output has X's size), so with G = dL/dY:
    dL/dX = conv2d(G, W), dL/dW = the weight gradient of conv2d(G, W) for output gradient X,
    dL/db[o] = Σ_n,y,x G[n, o, y, x].

    Parameters: ``windows``, ``groups`` and ``shape`` (the output's (N, O, OH, OW)).
    """

    def forward(self, x: Any, weight: Any, bias: Any = None, *, windows: Windows, groups: int,
                shape: tuple[int, ...]) -> Any:
        self.x, self.weight, self.windows, self.groups = x, weight, windows, groups
        rows = _rows(x, groups)
        y = col2im(rows, weight, windows, groups, shape)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def backward(self, grad: Any) -> Any:
        # A fused rule (it saves the input, not the patches): under create_graph backward_graph
        # runs instead.
        needs = [p.requires_grad for p in self.parents or ()]
        patches = Im2col(grad, self.windows, self.groups)
        gx = patches.correlate(self.weight) if needs[0] else None
        # Last: the weight gradient drops the patch matrix once used (see Im2col.gradients).
        gw = patches.gradients(self.x, self.weight, False, True)[1] if needs[1] else None
        gb = grad.sum(axis=(0, 2, 3)) if len(needs) == 3 and needs[2] else None
        return gx, gw, gb

    def backward_graph(self, grad: Any) -> Any:
        # The same adjoint roles with recorded ops: dL/dX = conv2d(G, W), a Conv2d op, and
        # dL/dW = ∂<conv2d(G, W), X>/∂W, which is bilinear in G and X.
        x, weight, *bias = self.parents or ()
        z = Conv2d.apply(grad, weight, windows=self.windows, groups=self.groups)
        gx = z if x.requires_grad else None
        gw = None
        if weight.requires_grad:
            (gw,) = gradient_of((z * x).sum(), [weight], create_graph=True)
        gb = grad.sum(axis=(0, 2, 3)) if bias and bias[0].requires_grad else None
        return gx, gw, gb


def _rows(x: Any, groups: int) -> Any:
    """``x`` (N, C, H, W) channels-last, one position per row: ``(N·H·W, groups, C/groups)``
    (the layout col2im reads)."""
    return copy(array_module(x), x.transpose(0, 2, 3, 1)).reshape(-1, groups,
                                                                   x.shape[1] // groups)
