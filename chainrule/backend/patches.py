"""Convolution as matrix products over a copied patch matrix (im2col), and its adjoint (col2im).

What it computes: with ``P`` the patch matrix of the zero-padded input (one row per output
position ``(n, y, x)``, one column per kernel entry ``(c, i, j)`` of a group), a grouped
cross-correlation is one matrix product per group and its gradients are two more:

    Y = P Wᵀ + b,    dL/dW = Gᵀ P,    dL/dP = G W  (then col2im: each kernel offset's block of
    dL/dP is added back onto the input positions that offset read)

Why it is fast: the patch copy moves the most bytes of the whole op, so the layout of ``P``
decides the speed. A patch row ``(kh, kw, C)`` read from a channels-last copy of the input is a
run of ``kw·C`` contiguous values; a patch column ``(C, kh, kw)`` read from the NCHW input is a
run of ``OW`` values. ``Im2col`` picks the longer run (measured on LeNet's layers: the 1-channel
5x5 one copies 5x faster channels-first, the 8-channel one 4x faster channels-last); each copy is
one ``copyto`` from strided ``sliding_window_view`` windows. Inputs and outputs are NCHW either
way. The input gradient is assembled channels-last, where each offset's block is contiguous:
that made col2im 5x faster than in NCHW. All large arrays come from the workspace.

On a GPU the same code runs through CuPy: the products are cuBLAS (batched) GEMMs, the window
copy a strided ``copyto`` kernel over CuPy's ``sliding_window_view``, and the workspace is
bypassed for CuPy's memory pool. A ``RawKernel`` im2col is the step to take if the GPU check
shows the copy dominating.
"""

from __future__ import annotations

from typing import Any

from .arrays import array_module, sliding_window_view
from .windows import Windows, crop, pad
from .workspace import copy, empty, zeros

__all__ = ["Im2col", "col2im"]


def _channels_last(channels: int, groups: int, windows: Windows) -> bool:
    """True when patch rows ``(kh, kw, C)`` copy in longer contiguous runs than patch columns
    ``(C, kh, kw)`` over output positions (see the module docstring)."""
    kw, sw, dw, ow = windows.kernel[1], windows.stride[1], windows.dilation[1], windows.out[1]
    row_run = kw * channels if (dw == 1 and groups == 1) else channels // groups
    column_run = ow if sw == 1 else 1
    return row_run >= column_run


class Im2col:
    """The patch matrix of one NCHW input ``x`` and the three products of a convolution over it.

    Args:
        x: the input (N, C, H, W).
        windows: the sweep (kernel, stride, padding, dilation, output size).
        groups: independent convolutions the channels split into.
    """

    def __init__(self, x, windows: Windows, groups: int):
        self.x, self.windows, self.groups = x, windows, groups
        self.channels_last = _channels_last(x.shape[1], groups, windows)
        self.cols = self._patches()

    def _patches(self):
        """``P``: ``(n·oh·ow, groups, kh·kw·Cg)`` channels-last, or ``(n, groups, Cg·kh·kw,
        oh·ow)`` channels-first; one copy from strided windows."""
        x, win, groups = self.x, self.windows, self.groups
        xp = array_module(x)
        n, channels = x.shape[:2]
        (kh, kw), (oh, ow), (sh, sw), (dh, dw) = win.kernel, win.out, win.stride, win.dilation
        cg = channels // groups
        if self.channels_last:
            xl = pad(x.transpose(0, 2, 3, 1), win.padding, (1, 2))
            windows = sliding_window_view(xl, (win.span(0), win.span(1)), axis=(1, 2))
            windows = windows[:, ::sh, ::sw, :, ::dh, ::dw]  # (n, oh, ow, C, kh, kw)
            windows = windows.reshape(n, oh, ow, groups, cg, kh, kw)
            return copy(xp, windows.transpose(0, 1, 2, 3, 5, 6, 4)).reshape(
                n * oh * ow, groups, cg * kh * kw)
        xc = pad(x, win.padding, (2, 3))
        windows = sliding_window_view(xc, (win.span(0), win.span(1)), axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (n, C, oh, ow, kh, kw)
        return copy(xp, windows.transpose(0, 1, 4, 5, 2, 3)).reshape(
            n, groups, cg * kh * kw, oh * ow)

    def correlate(self, weight: Any, bias: Any = None) -> Any:
        """``Y = P Wᵀ + b`` per group, NCHW (O, C/groups, kh, kw filters)."""
        x, win, groups, cols = self.x, self.windows, self.groups, self.cols
        xp = array_module(x)
        n, out_channels, (oh, ow) = x.shape[0], weight.shape[0], win.out
        og = out_channels // groups
        dtype = xp.result_type(x, weight)
        if self.channels_last:
            w_mat = weight.reshape(groups, og, -1, *win.kernel).transpose(0, 3, 4, 2, 1)
            out = empty(xp, (n * oh * ow, groups, og), dtype)
            xp.matmul(cols.transpose(1, 0, 2), w_mat.reshape(groups, -1, og),
                      out=out.transpose(1, 0, 2))
            y = empty(xp, (n, out_channels, oh, ow), dtype)
            out = out.reshape(n, oh, ow, out_channels).transpose(0, 3, 1, 2)
            if bias is None:
                xp.copyto(y, out)
            else:  # the NHWC -> NCHW copy and the bias in one pass
                xp.add(out, bias.reshape(-1, 1, 1), out=y, casting="same_kind")
            return y
        y = empty(xp, (n, groups, og, oh * ow), dtype)
        xp.matmul(weight.reshape(groups, og, -1), cols, out=y)
        y = y.reshape(n, out_channels, oh, ow)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def gradients(self, grad, weight, input_grad: bool, weight_grad: bool) -> tuple:
        """``(dL/dx, dL/dW)`` from the output gradient ``G`` (None where not asked for)."""
        xp = array_module(grad)
        win, groups = self.windows, self.groups
        n, out_channels, oh, ow = grad.shape
        cg, (kh, kw) = weight.shape[1], win.kernel
        og = out_channels // groups
        gx = gw = None
        if input_grad or (weight_grad and self.channels_last):
            # G channels-last, one output position per row
            g_rows = copy(xp, grad.transpose(0, 2, 3, 1)).reshape(-1, groups, og)
        if weight_grad:
            # The patches are dropped once used, so the input gradient's blocks (as large) can
            # take their workspace memory; a second backward through a retained graph rebuilds
            # them.
            cols = self.__dict__.pop("cols", None)
            if cols is None:
                cols = self._patches()
            if self.channels_last:  # Σ over rows of Pᵀ · G, per group: (groups, kh·kw·Cg, og)
                gw = xp.matmul(cols.transpose(1, 2, 0), g_rows.transpose(1, 0, 2))
                gw = gw.reshape(groups, kh, kw, cg, og).transpose(0, 4, 3, 1, 2)
            else:  # per sample G · Pᵀ, summed over the batch: (groups, og, Cg·kh·kw)
                g_cols = grad.reshape(n, groups, og, oh * ow)
                gw = xp.matmul(g_cols, cols.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = gw.reshape(weight.shape)
            del cols
        if input_grad:
            gx = col2im(g_rows, weight, win, groups, self.x.shape)
        return gx, gw


def col2im(g_rows, weight, win: Windows, groups: int, shape: tuple):
    """The input gradient of a convolution of an input of ``shape`` (N, C, H, W) from its
    output gradient ``g_rows`` (channels-last, one output position per row: ``(N·OH·OW,
    groups, O/groups)``): each kernel offset's patch gradient ``G · W[:, :, i, j]`` (a
    contiguous channels-last block) added into the input positions that offset read. (Also
    the forward of a transposed convolution.)"""
    xp = array_module(g_rows)
    n, channels, height, width = shape
    out_channels, cg, kh, kw = weight.shape
    (oh, ow), og = win.out, out_channels // groups
    # (groups, kh·kw, og, Cg) @ (groups, 1, n·oh·ow, og)ᵀ-side: one block per offset
    w_blocks = weight.reshape(groups, og, cg, kh * kw).transpose(0, 3, 1, 2)
    blocks = empty(xp, (groups, kh * kw, n * oh * ow, cg), xp.result_type(g_rows, weight))
    xp.matmul(g_rows.transpose(1, 0, 2)[:, None], w_blocks, out=blocks)
    (top, bottom), (left, right) = win.padding
    gx = zeros(xp, (n, height + top + bottom, width + left + right, groups, cg),
               blocks.dtype)
    blocks = blocks.reshape(groups, kh * kw, n, oh, ow, cg).transpose(1, 2, 3, 4, 0, 5)
    for k, rows, cols in win.offsets():
        gx[:, rows, cols] += blocks[k]
    gx = crop(gx.reshape(gx.shape[:3] + (channels,)), win.padding, (1, 2))
    return copy(xp, gx.transpose(0, 3, 1, 2))
