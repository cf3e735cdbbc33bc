"""Window maxima and sums over NCHW batches as two 1-d passes (columns, then rows), and their
adjoints.

What it computes: a 2-d window's max (or sum) is the max (or sum) over its rows of the per-row
maxima (sums). ``window_max`` and ``window_sum`` return, for every window of a ``Windows`` sweep,
``max_ij x̃[n, c, y·sh + i·dh, x·sw + j·dw]`` and ``Σ_ij …`` (``x̃``: ``x`` padded with -∞ or
0); ``max_grad`` routes each output's gradient to the element that gave its maximum (the first
maximum in row-major window order, as PyTorch), ``sum_grad`` spreads it over the window.

Why it is fast: each pass loops over one axis' kernel offsets and compares or adds whole strided
views (no Python loop over pixels, samples or channels, no patch copy): ``kh + kw`` passes
instead of ``kh·kw``, and the winners are remembered as one small array per pass (bool for two
offsets, uint8 for more). Measured on LeNet's first pooling (64x8x24x24, 2x2), this takes 0.3 ms
where a reshape to ``(…, 12, 2, 12, 2)`` and ``max`` over the two window axes takes 2 ms (NumPy
reduces short strided axes slowly), so windows that tile the input get no special path beyond
skipping the zero-fill in the adjoint. Reducing the columns first is what makes ties go to the
first maximum in row-major order.

A CuPy formulation can keep these passes as they are (strided views and ufuncs); a fused
``RawKernel`` per pass would save the temporaries.
"""

from __future__ import annotations

from typing import NamedTuple

from .arrays import array_module
from .windows import Windows, crop, pad
from .workspace import empty, zeros

__all__ = ["MaxPicks", "max_grad", "sum_grad", "window_max", "window_sum"]

_AXES = (2, 3)  # the spatial axes of NCHW


class MaxPicks(NamedTuple):
    """Which kernel offset won each pass of ``window_max`` (None: a single offset), and the
    shapes of the padded input and of the column maxima."""

    rows: object
    columns: object
    padded_shape: tuple
    columns_shape: tuple


def _along(axis: int, part: slice) -> tuple:
    """An index selecting ``part`` of NCHW ``axis`` (2 or 3)."""
    return (slice(None),) * axis + (part,)


def _max(x, axis: int, slices):
    """Running maximum over the offsets and which offset won (bool for two, uint8 for more;
    later offsets win only when strictly larger, so ties keep the first)."""
    xp = array_module(x)
    best, pick = x[_along(axis, slices[0])], None
    for i, part in enumerate(slices[1:], 1):
        candidate = x[_along(axis, part)]
        larger = candidate > best
        # The first maximum is written to new memory (best is still a view of x), the later
        # ones over it.
        best = xp.maximum(best, candidate, out=empty(xp, best.shape, best.dtype)
                          if i == 1 else best)
        pick = larger if pick is None else xp.where(larger, xp.uint8(i), pick)
    return best, pick


def window_max(x, windows: Windows):
    """The maximum of every window (x padded with -∞) and the ``MaxPicks`` of its adjoint."""
    xp = array_module(x)
    padded = pad(x, windows.padding, _AXES, value=-xp.inf)
    columns, column_pick = _max(padded, 3, windows.slices(1))
    rows, row_pick = _max(columns, 2, windows.slices(0))
    if row_pick is None and column_pick is None:
        rows = rows.copy()  # a 1x1 window is a view of x; the output must own its memory
    return rows, MaxPicks(row_pick, column_pick, padded.shape, columns.shape)


def _selector(pick):
    """``select(i)``: where offset ``i`` won (None when there was a single offset)."""
    if pick is None:
        return None
    if pick.dtype == bool:
        return lambda i: pick if i else ~pick
    return lambda i: pick == i


def max_grad(grad, windows: Windows, picks: MaxPicks):
    """The adjoint of ``window_max``: ``grad`` routed to each window's winning element."""
    g = _spread(grad, windows, 0, picks.columns_shape, _selector(picks.rows))
    g = _spread(g, windows, 1, picks.padded_shape, _selector(picks.columns))
    return crop(g, windows.padding, _AXES)


def _sum_slices(x, axis: int, slices):
    """Σ of ``x``'s slices along ``axis`` (a view of ``x`` for a single slice)."""
    total = x[_along(axis, slices[0])]
    if len(slices) > 1:
        xp = array_module(x)
        total = xp.add(total, x[_along(axis, slices[1])],
                       out=empty(xp, total.shape, total.dtype))
        for part in slices[2:]:
            total += x[_along(axis, part)]
    return total


def window_sum(x, windows: Windows):
    """Σ over every window of the zero-padded ``x`` (a view of ``x`` for 1x1 windows)."""
    padded = pad(x, windows.padding, _AXES)
    return _sum_slices(_sum_slices(padded, 3, windows.slices(1)), 2, windows.slices(0))


def sum_grad(grad, windows: Windows, shape: tuple):
    """The adjoint of ``window_sum`` for an input of ``shape``: ``grad`` added over each
    window."""
    (top, bottom), (left, right) = windows.padding
    padded = shape[:2] + (shape[2] + top + bottom, shape[3] + left + right)
    g = _spread(grad, windows, 0, padded[:3] + (windows.out[1],))
    g = _spread(g, windows, 1, padded)
    return crop(g, windows.padding, _AXES)


def _spread(grad, windows: Windows, axis: int, shape: tuple, select=None):
    """The adjoint of reading the window slices along spatial ``axis`` (0: rows, 1: columns):
    adds ``grad`` (times ``select(i)`` for offset ``i``, when given) into an array of ``shape``
    at each offset's slice.

    Windows that do not overlap are assigned rather than added (no temporary per offset), and
    windows that tile the axis exactly (e.g. 2x2, stride 2) also skip the zero-filling."""
    xp = array_module(grad)
    k, s, d, n = (windows.kernel[axis], windows.stride[axis], windows.dilation[axis],
                  windows.out[axis])
    overlapping = k > 1 and n > 1 and s <= d * (k - 1)
    tiling = (k == 1 or d == 1) and s == k and shape[2 + axis] == n * k
    out = (empty if tiling else zeros)(xp, shape, grad.dtype)
    for i, part in enumerate(windows.slices(axis)):
        index = _along(2 + axis, part)
        if overlapping:
            out[index] += grad if select is None else grad * select(i)
        elif select is None:
            out[index] = grad
        else:
            xp.multiply(grad, select(i), out=out[index])
    return out
