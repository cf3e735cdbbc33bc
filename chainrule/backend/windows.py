"""The geometry of a window sweep (convolution, pooling) and the strided views it reads.

What it computes: a kernel of ``kh × kw`` offsets slides over an input padded by ``(before,
after)`` rows and columns, with a stride ``s`` and a dilation ``d`` per axis. Along one axis,
kernel offset ``i`` meets the input positions ``i·d + s·y`` for the outputs ``y = 0 … out-1``:
one strided slice. ``out = ⌊(n + before + after - span) / s⌋ + 1`` with ``span = d (k - 1) + 1``.

Why it is fast: the kernels built on it loop over the kernel offsets (a handful) and move whole
strided views per offset; there is never a Python loop over pixels, samples or channels.
"""

from __future__ import annotations

from typing import NamedTuple

from .arrays import array_module
from .workspace import empty

__all__ = ["Windows", "crop", "pad"]


class Windows(NamedTuple):
    """Sizes of one window sweep, all per spatial axis (h, w)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # (before, after) per axis
    dilation: tuple[int, int]
    out: tuple[int, int]  # output positions per axis; < 1 when a window does not fit

    @classmethod
    def over(cls, size: tuple, kernel, stride, padding, dilation) -> Windows:
        """The sweep over an input of spatial ``size`` (h, w); ``padding`` as (before, after)
        pairs."""
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        out = tuple((n + sum(p) - span) // s + 1
                    for n, p, span, s in zip(size, padding, spans, stride))
        return cls(tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), out)

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


def pad(x, padding, axes: tuple[int, int], value=0):
    """A copy of ``x`` (in workspace memory) with ``padding`` ((before, after) per axis) filled
    with ``value``, or ``x`` itself when there is nothing to pad."""
    if not any(p for pair in padding for p in pair):
        return x
    shape = list(x.shape)
    inner = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, padding):
        inner[axis] = slice(before, before + shape[axis])
        shape[axis] += before + after
    out = empty(array_module(x), tuple(shape), x.dtype)
    out.fill(value)
    out[tuple(inner)] = x
    return out


def crop(x, padding, axes: tuple[int, int]):
    """The inverse of ``pad``: the view of ``x`` without the padded border."""
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, padding):
        index[axis] = slice(before, x.shape[axis] - after)
    return x[tuple(index)]
