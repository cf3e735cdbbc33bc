"""Array modules and the speed kernels that ops call: one file per kernel family.

The ops in ``chainrule.ops`` hold each primitive's formula and its derivative; how those are
computed fast lives here, each file opening with what it computes in math and why it is fast:

- ``arrays``: which array module (``xp``) an array belongs to (``from_dlpack`` receives another
  library's array into it), and the helpers NumPy and CuPy spell differently (``scatter_add``,
  ``sliding_window_view``, ``squared_norm``, …);
- ``workspace``: large arrays reused between steps instead of page-faulted in afresh;
- ``windows``: the geometry of a convolution or pooling sweep, padding and cropping;
- ``patches``: convolution as matrix products over a patch copy (im2col) and col2im;
- ``pooling``: window maxima and sums as two strided 1-d passes, and their adjoints;
- ``normalization``: the full-size passes of normalisation backward without temporaries;
- ``recurrent``: whole-sequence RNN/LSTM/GRU loops in place on buffers allocated once.

NumPy is the formulation written today; a CuPy one goes beside it in the same file, chosen by
``array_module``, so ops never change for a new device.
"""

from __future__ import annotations

from .arrays import (
    array_module,
    from_dlpack,
    register_tensor_module,
    scatter_add,
    scatter_add_rows,
    sliding_window_view,
    squared_norm,
    zeros_like_readonly,
)

__all__ = ["array_module", "register_tensor_module", "from_dlpack", "scatter_add",
           "scatter_add_rows", "sliding_window_view", "squared_norm", "zeros_like_readonly"]
