"""2-d convolution (cross-correlation, as in every deep-learning library) on NCHW batches.

The forward pass copies the input's patches into a matrix once (im2col, from a strided
``sliding_window_view``, no Python loop over pixels) and runs one matrix product per group; the
backward pass reuses that matrix for the weight gradient and scatters the patch gradients back
with one strided add per kernel offset (col2im).

Which way the patch matrix is laid out decides how fast it is copied, because the copy moves
the most bytes of the whole op: a patch row ``(kh, kw, C)`` read from a channels-last copy of
the input is a run of ``kw·C`` contiguous values, a patch column ``(C, kh, kw)`` read from the
NCHW input is a run of ``OW`` values. ``_channels_last`` picks the longer run (measured on
LeNet's layers: the 1-channel 5x5 one copies 5x faster channels-first, the 8-channel one 4x
faster channels-last). Inputs and outputs are NCHW whatever the choice. The input gradient is
assembled channels-last, where each offset's block is contiguous: that made col2im 5x faster
than in NCHW.
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..backend import array_module, sliding_window_view
from ..tensor import Tensor

__all__ = ["Conv2d", "conv2d"]


class _Workspace:
    """Memory for the big arrays of convolution and pooling, reused from one step to the next.

    A fresh multi-megabyte array costs a page fault per 4 KiB on first touch, and between
    training steps the C allocator hands freed memory back to the system: measured on the LeNet
    benchmark, that was 150,000 faults and half the CPU time of an epoch. So blocks are kept
    here and handed out again, but only once no array references them any more: every view of
    a NumPy array keeps its base alive, so a block whose only reference is this pool is free,
    and reuse is never visible to a caller (an output kept by the user, or saved by a graph
    that is still alive, simply keeps its block).

    Small arrays come from the allocator's free lists cheaply and are not pooled; at most
    ``max_bytes`` are kept (least recently used free blocks go first).
    """

    min_bytes = 1 << 18
    max_bytes = 1 << 28

    def __init__(self):
        self._blocks: list[np.ndarray] = []  # uint8 arrays, least recently used first
        self._lock = threading.Lock()

    def empty(self, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype)
        with self._lock:
            blocks, best = self._blocks, None
            for i in range(len(blocks)):
                if nbytes <= blocks[i].nbytes <= 2 * nbytes and self._free(i) \
                        and (best is None or blocks[i].nbytes < blocks[best].nbytes):
                    best = i
            block = blocks.pop(best) if best is not None else self._new(nbytes)
            if block is not None:
                blocks.append(block)
                return block[:nbytes].view(dtype).reshape(shape)
        return np.empty(shape, dtype)

    def _free(self, i: int) -> bool:
        """Whether block ``i`` is referenced by nothing but this pool."""
        # 2 references: the list's and getrefcount's argument; a live view adds one.
        return sys.getrefcount(self._blocks[i]) == 2

    def _new(self, nbytes: int) -> np.ndarray | None:
        """A new block, after evicting free blocks to stay within ``max_bytes`` (None when the
        blocks in use leave no room: the caller then allocates outside the pool)."""
        blocks = self._blocks
        total = sum(block.nbytes for block in blocks) + nbytes
        i = 0
        while total > self.max_bytes and i < len(blocks):
            # By index: list.remove would compare arrays with == (an error for arrays).
            if self._free(i):
                total -= blocks.pop(i).nbytes
            else:
                i += 1
        return np.empty(nbytes, np.uint8) if total <= self.max_bytes else None


_workspace = _Workspace()


def _empty(xp, shape: tuple, dtype):
    """An uninitialised array, from the workspace for NumPy (other array modules pool their
    own memory)."""
    return _workspace.empty(shape, dtype) if xp is np else xp.empty(shape, dtype)


def _zeros(xp, shape: tuple, dtype):
    out = _empty(xp, shape, dtype)
    out.fill(0)
    return out


def _copy(xp, array):
    """A C-contiguous copy of ``array`` (any strides) in workspace memory."""
    out = _empty(xp, array.shape, array.dtype)
    xp.copyto(out, array)
    return out


class _Geometry(NamedTuple):
    """Sizes of one convolution or pooling window sweep, all per spatial axis (h, w)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # (before, after) per axis
    dilation: tuple[int, int]
    out: tuple[int, int]

    def span(self, axis: int) -> int:
        """Input extent one window covers along ``axis``: ``d (k - 1) + 1``."""
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1

    def slices(self, axis: int) -> list[slice]:
        """For each kernel offset along ``axis`` (0: rows, 1: columns), the slice of the padded
        input that offset meets across all output positions (a strided view, no copy)."""
        k, s, d, n = self.kernel[axis], self.stride[axis], self.dilation[axis], self.out[axis]
        return [slice(i * d, i * d + s * (n - 1) + 1, s) for i in range(k)]

    def offsets(self):
        """``(index, row slice, column slice)`` of each kernel offset, row-major."""
        columns = self.slices(1)
        for i, rows in enumerate(self.slices(0)):
            for j, cols in enumerate(columns):
                yield i * len(columns) + j, rows, cols


def _pair(value, name: str, caller: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and v >= minimum for v in pair):
        raise ValueError(f"{caller}: {name} must be an int >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(value, kernel, dilation, stride, caller: str):
    """``padding`` (int, pair, ``'valid'`` or ``'same'``) as ``((top, bottom), (left, right))``.

    ``'same'`` keeps the spatial size at stride 1; an odd total is split with the extra row or
    column at the bottom/right, as PyTorch does."""
    if isinstance(value, str):
        if value == "valid":
            return (0, 0), (0, 0)
        if value != "same":
            raise ValueError(f"{caller}: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {value!r}")
        if stride != (1, 1):
            raise ValueError(f"{caller}: padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = _pair(value, "padding", caller, 0)
    return (ph, ph), (pw, pw)


def _geometry(caller: str, shape: tuple, kernel, stride, padding, dilation) -> _Geometry:
    """Check that the (padded) input holds at least one window and size the output.

    ``padding`` is already ``((top, bottom), (left, right))``."""
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padded = [n + sum(p) for n, p in zip(shape[-2:], padding)]
    if any(s > n for s, n in zip(spans, padded)):
        raise ValueError(
            f"{caller}: kernel {tuple(kernel)} with dilation {tuple(dilation)} spans "
            f"{spans[0]}x{spans[1]} but the padded input is only {padded[0]}x{padded[1]} "
            f"(input shape {tuple(shape)}, padding {tuple(padding)})"
        )
    out = tuple((n - s) // st + 1 for n, s, st in zip(padded, spans, stride))
    return _Geometry(tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), out)


def _pad(x, padding, axes: tuple[int, int], value=0):
    """A copy of ``x`` with ``padding`` ((before, after) per axis) filled with ``value``, or ``x``
    itself when there is nothing to pad."""
    if not any(p for pair in padding for p in pair):
        return x
    shape = list(x.shape)
    inner = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, padding):
        inner[axis] = slice(before, before + shape[axis])
        shape[axis] += before + after
    xp = array_module(x)
    out = _empty(xp, tuple(shape), x.dtype)
    out.fill(value)
    out[tuple(inner)] = x
    return out


def _crop(x, padding, axes: tuple[int, int]):
    """The inverse of ``_pad``: the view of ``x`` without the padded border."""
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, padding):
        index[axis] = slice(before, x.shape[axis] - after)
    return x[tuple(index)]


def _channels_last(channels: int, groups: int, geo: _Geometry) -> bool:
    """True when patch rows ``(kh, kw, C)`` copy in longer contiguous runs than patch columns
    ``(C, kh, kw)`` over output positions (see the module docstring)."""
    kw, sw, dw, ow = geo.kernel[1], geo.stride[1], geo.dilation[1], geo.out[1]
    row_run = kw * channels if (dw == 1 and groups == 1) else channels // groups
    column_run = ow if sw == 1 else 1
    return row_run >= column_run


class Conv2d(Function):
    """Y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · X̃[n, g(o)·Cg + c, y·sh + i·dh, x·sw + j·dw]
    (X̃: X zero-padded; g(o): the group of output channel o; Cg = C / groups)

    dL/dW[o, c, i, j] = Σ_n,y,x G[n, o, y, x] · X̃[n, g(o)·Cg + c, y·sh + i·dh, x·sw + j·dw]
    dL/dX̃[n, g·Cg + c, y·sh + i·dh, x·sw + j·dw] += Σ_o∈g G[n, o, y, x] · W[o, c, i, j]
    dL/db[o] = Σ_n,y,x G[n, o, y, x]

    Both products run as matrix products on the patch matrix ``cols``; the input gradient is
    ``cols``' gradient folded back (col2im), one strided add per kernel offset.
    """

    def forward(self, x, weight, bias=None, geometry=None, groups=1):
        xp = array_module(x)
        n, out_channels, (oh, ow) = x.shape[0], weight.shape[0], geometry.out
        og = out_channels // groups
        self.geo, self.groups, self.x, self.weight = geometry, groups, x, weight
        self.channels_last = _channels_last(x.shape[1], groups, geometry)
        self.cols = cols = self._patches(xp)
        dtype = xp.result_type(x, weight)
        if self.channels_last:
            w_mat = weight.reshape(groups, og, -1, *geometry.kernel).transpose(0, 3, 4, 2, 1)
            out = _empty(xp, (n * oh * ow, groups, og), dtype)
            xp.matmul(cols.transpose(1, 0, 2), w_mat.reshape(groups, -1, og),
                      out=out.transpose(1, 0, 2))
            y = _empty(xp, (n, out_channels, oh, ow), dtype)
            out = out.reshape(n, oh, ow, out_channels).transpose(0, 3, 1, 2)
            if bias is None:
                xp.copyto(y, out)
            else:  # the NHWC -> NCHW copy and the bias in one pass
                xp.add(out, bias.reshape(-1, 1, 1), out=y, casting="same_kind")
            return y
        y = _empty(xp, (n, groups, og, oh * ow), dtype)
        xp.matmul(weight.reshape(groups, og, -1), cols, out=y)
        y = y.reshape(n, out_channels, oh, ow)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def _patches(self, xp):
        """The patch matrix (im2col): ``(n·oh·ow, groups, kh·kw·Cg)`` channels-last, or
        ``(n, groups, Cg·kh·kw, oh·ow)`` channels-first; one copy from strided windows."""
        x, geo, groups = self.x, self.geo, self.groups
        n, channels = x.shape[:2]
        (kh, kw), (oh, ow), (sh, sw), (dh, dw) = geo.kernel, geo.out, geo.stride, geo.dilation
        cg = channels // groups
        if self.channels_last:
            xl = _pad(x.transpose(0, 2, 3, 1), geo.padding, (1, 2))
            windows = sliding_window_view(xl, (geo.span(0), geo.span(1)), axis=(1, 2))
            windows = windows[:, ::sh, ::sw, :, ::dh, ::dw]  # (n, oh, ow, C, kh, kw)
            windows = windows.reshape(n, oh, ow, groups, cg, kh, kw)
            return _copy(xp, windows.transpose(0, 1, 2, 3, 5, 6, 4)).reshape(
                n * oh * ow, groups, cg * kh * kw)
        xc = _pad(x, geo.padding, (2, 3))
        windows = sliding_window_view(xc, (geo.span(0), geo.span(1)), axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (n, C, oh, ow, kh, kw)
        return _copy(xp, windows.transpose(0, 1, 4, 5, 2, 3)).reshape(
            n, groups, cg * kh * kw, oh * ow)

    def backward(self, grad):
        xp = array_module(grad)
        geo, groups, weight = self.geo, self.groups, self.weight
        parents = self.parents
        n, out_channels, oh, ow = grad.shape
        cg, (kh, kw) = weight.shape[1], geo.kernel
        og = out_channels // groups
        gx = gw = gb = None
        need_rows = parents[0].requires_grad or (parents[1].requires_grad and self.channels_last)
        if need_rows:  # the gradient channels-last, one output position per row
            g_rows = _copy(xp, grad.transpose(0, 2, 3, 1)).reshape(-1, groups, og)
        if parents[1].requires_grad:
            # The patches are dropped once used, so the input gradient's blocks (as large) can
            # take their memory; a second backward through a retained graph rebuilds them.
            cols = self.__dict__.pop("cols", None)
            if cols is None:
                cols = self._patches(xp)
            if self.channels_last:  # Σ over rows of patchᵀ · g, per group: (groups, kh·kw·Cg, og)
                gw = xp.matmul(cols.transpose(1, 2, 0), g_rows.transpose(1, 0, 2))
                gw = gw.reshape(groups, kh, kw, cg, og).transpose(0, 4, 3, 1, 2)
            else:  # per sample g · patchesᵀ, summed over the batch: (groups, og, Cg·kh·kw)
                g_cols = grad.reshape(n, groups, og, oh * ow)
                gw = xp.matmul(g_cols, cols.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = gw.reshape(weight.shape)
            del cols
        if len(parents) == 3 and parents[2].requires_grad:
            gb = grad.sum(axis=(0, 2, 3))
        if parents[0].requires_grad:
            gx = self._input_grad(xp, g_rows)
        return gx, gw, gb

    def _input_grad(self, xp, g_rows):
        """col2im: each kernel offset's patch gradient ``g · W[:, :, i, j]`` (a contiguous
        channels-last block) is added into the input positions that offset read."""
        geo, groups, weight = self.geo, self.groups, self.weight
        n, channels, height, width = self.x.shape
        out_channels, cg, kh, kw = weight.shape
        (oh, ow), og = geo.out, out_channels // groups
        # (groups, kh·kw, og, Cg) @ (groups, 1, n·oh·ow, og)ᵀ-side: one block per offset
        w_blocks = weight.reshape(groups, og, cg, kh * kw).transpose(0, 3, 1, 2)
        blocks = _empty(xp, (groups, kh * kw, n * oh * ow, cg), xp.result_type(g_rows, weight))
        xp.matmul(g_rows.transpose(1, 0, 2)[:, None], w_blocks, out=blocks)
        (top, bottom), (left, right) = geo.padding
        gx = _zeros(xp, (n, height + top + bottom, width + left + right, groups, cg),
                    blocks.dtype)
        blocks = blocks.reshape(groups, kh * kw, n, oh, ow, cg).transpose(1, 2, 3, 4, 0, 5)
        for k, rows, cols in geo.offsets():
            gx[:, rows, cols] += blocks[k]
        gx = _crop(gx.reshape(gx.shape[:3] + (channels,)), geo.padding, (1, 2))
        return _copy(xp, gx.transpose(0, 3, 1, 2))


def _conv2d(caller, x: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
            dilation, groups: int) -> Tensor:
    """``conv2d`` with errors that name ``caller`` (the function's name, or the layer, whose
    repr is then only formatted when an error is raised)."""
    if weight.ndim != 4:
        raise ValueError(f"{caller}: weight must be (out_channels, in_channels/groups, kh, kw), "
                         f"got shape {weight.shape}")
    out_channels, cg, kh, kw = weight.shape
    if not isinstance(groups, numbers.Integral) or groups < 1 or out_channels % groups:
        raise ValueError(f"{caller}: groups must be a positive divisor of out_channels "
                         f"({out_channels}), got {groups!r}")
    if x.ndim != 4 or x.shape[1] != cg * groups:
        raise ValueError(
            f"{caller}: expected input of shape (N, {cg * groups}, H, W), got {x.shape}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: expected floating-point input, got dtype {x.dtype}")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{caller}: bias must have shape ({out_channels},), got {bias.shape}")
    stride = _pair(stride, "stride", caller, 1)
    dilation = _pair(dilation, "dilation", caller, 1)
    pads = _padding(padding, (kh, kw), dilation, stride, caller)
    geo = _geometry(caller, x.shape, (kh, kw), stride, pads, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, geometry=geo, groups=int(groups))


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of a batch of images with a bank of filters (PyTorch's ``conv2d``).

    ``y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x̃[n, c, y·sh + i·dh, x·sw + j·dw]``, with ``x̃``
    the zero-padded input and the sum over ``c`` restricted to the output channel's group.

    Args:
        x: input batch (N, C, H, W).
        weight: filters (O, C / groups, kh, kw).
        bias: optional (O,).
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, ``'valid'`` (0) or ``'same'`` (stride 1 only).
        groups: split the channels into this many independent convolutions.

    Shape:
        - x: (N, C, H, W); output: (N, O, OH, OW) with
          ``OH = ⌊(H + 2·ph - dh·(kh - 1) - 1) / sh⌋ + 1`` (and likewise OW).

    Raises:
        ValueError: naming the shapes when the channels do not match the weight or the kernel
            is larger than the padded input.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.conv import conv2d
        >>> x = cr.tensor(np.ones((1, 1, 4, 4), dtype=np.float32))
        >>> conv2d(x, cr.tensor(np.ones((2, 1, 3, 3), dtype=np.float32)), padding=1).shape
        (1, 2, 4, 4)
    """
    return _conv2d("conv2d", x, weight, bias, stride, padding, dilation, groups)
