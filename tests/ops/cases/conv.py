"""Op cases for convolution, pooling and normalisation: every configuration (stride, padding,
dilation, groups, non-square kernels and inputs, both patch layouts of ``Conv2d``) against a
direct NumPy reference, central differences and PyTorch."""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.nn.functional import (
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm,
    conv2d,
    layer_norm,
    max_pool2d,
)
from chainrule.ops.conv import Conv2d
from chainrule.ops.linalg import MatMul
from chainrule.ops.norm import BatchNorm, LayerNorm
from chainrule.ops.pool import AvgPool2d, MaxPool2d
from chainrule.ops.reduce import Mean

from . import OpCase, draws

__all__ = ["CASES", "conv_reference"]

_u = draws(20_000)
# Sums of tens of float32 products: allow float32 rounding of the sum, not just of one value.
_SUMS = {"float32": (1e-4, 1e-5)}


def _pairs(value):
    return (value, value) if isinstance(value, int) else tuple(value)


# ------------------------------------------------------------------ NumPy references (direct)
def _pad(x, padding, value=0.0):
    (top, bottom), (left, right) = padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _windows(x, kernel, stride, dilation, padding, value=0.0):
    """Yield ``(i, j, view)``: the input each kernel offset meets at every output position."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    xp = _pad(x, padding, value)
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]


def _symmetric(padding):
    return tuple((p, p) for p in _pairs(padding))


def conv_reference(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct convolution: one weighted sum of shifted inputs per kernel offset and group."""
    out_channels, cg, kh, kw = w.shape
    og = out_channels // groups
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip((kh, kw), _pairs(dilation))]
        padding = tuple((t // 2, t - t // 2) for t in totals)
    else:
        padding = _symmetric(padding)
    out = 0.0
    for i, j, view in _windows(x, (kh, kw), _pairs(stride), _pairs(dilation), padding):
        parts = [np.einsum("nchw,oc->nohw", view[:, g * cg:(g + 1) * cg],
                           w[g * og:(g + 1) * og, :, i, j]) for g in range(groups)]
        out = out + np.concatenate(parts, axis=1)
    return out if b is None else out + b[:, None, None]


def _pool_reference(reduce, x, kernel, stride=None, padding=0, dilation=1, value=0.0):
    kernel = _pairs(kernel)
    views = [v for _, _, v in _windows(x, kernel, _pairs(stride or kernel), _pairs(dilation),
                                       _symmetric(padding), value)]
    return reduce(np.stack(views), axis=0)


def _avg_reference(x, kernel, stride=None, padding=0, count_include_pad=True):
    total = _pool_reference(np.sum, x, kernel, stride, padding)
    if count_include_pad:
        return total / np.prod(_pairs(kernel))
    return total / _pool_reference(np.sum, np.ones_like(x), kernel, stride, padding)


def _adaptive_reference(x, size):
    """Average of PyTorch's adaptive windows, cell by cell (loops are fine in a reference)."""
    (h, w), (oh, ow) = x.shape[2:], _pairs(size)
    out = np.empty(x.shape[:2] + (oh, ow))
    for r in range(oh):
        for c in range(ow):
            rows = slice(r * h // oh, -(-(r + 1) * h // oh))
            cols = slice(c * w // ow, -(-(c + 1) * w // ow))
            out[:, :, r, c] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


def _norm_reference(x, axes, eps=1e-5, mean=None, var=None):
    mean = x.mean(axis=axes, keepdims=True) if mean is None else mean
    var = x.var(axis=axes, keepdims=True) if var is None else var
    return (x - mean) / np.sqrt(var + eps)


def _bn_reference(x, w=None, b=None, running_mean=None, running_var=None):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    axes = (0, *range(2, x.ndim))
    if running_mean is None:
        y = _norm_reference(x, axes)
    else:
        y = _norm_reference(x, axes, mean=running_mean.reshape(shape),
                            var=running_var.reshape(shape))
    return y if w is None else y * w.reshape(shape) + b.reshape(shape)


def _ln_reference(x, w=None, b=None, ndim=1):
    y = _norm_reference(x, tuple(range(x.ndim - ndim, x.ndim)))
    if w is not None:
        y = y * w
    return y if b is None else y + b


# ------------------------------------------------------------------ convolution
def _conv_case(name, x_shape, w_shape, bias=True, **options):
    inputs = (_u(*x_shape), _u(*w_shape)) + ((_u(w_shape[0]),) if bias else ())

    def fn(x, w, b=None):
        return conv2d(x, w, b, **options)

    def ref(x, w, b=None):
        return conv_reference(x, w, b, **options)

    def torch_fn(torch, x, w, b=None):
        with warnings.catch_warnings():  # PyTorch notes that 'same' with an even kernel copies
            warnings.simplefilter("ignore", UserWarning)
            return torch.nn.functional.conv2d(x, w, b, **options)

    return OpCase(name, (Conv2d,), fn, ref, inputs, torch_fn=torch_fn, tolerance=_SUMS)


# The patch layout (channels-last rows or channels-first columns) follows from the shapes;
# each comment says which one the case exercises.
CONV_CASES = [
    _conv_case("conv2d", (2, 3, 5, 6), (4, 3, 3, 3)),  # channels-last
    _conv_case("conv2d_one_channel", (2, 1, 7, 6), (3, 1, 3, 2)),  # channels-first
    _conv_case("conv2d_stride_padding", (2, 2, 7, 6), (3, 2, 3, 3), stride=2,
               padding=1),  # channels-last
    _conv_case("conv2d_nonsquare", (1, 2, 6, 9), (2, 2, 2, 4), stride=(2, 1),
               padding=(1, 2)),  # channels-first
    _conv_case("conv2d_dilation", (2, 2, 7, 7), (3, 2, 2, 3), bias=False, dilation=(2, 1),
               padding=1),  # channels-first
    _conv_case("conv2d_dilation_stride", (2, 3, 8, 7), (2, 3, 3, 2), dilation=2,
               stride=(1, 2)),  # channels-last
    _conv_case("conv2d_groups", (2, 4, 5, 5), (6, 2, 3, 3), groups=2),  # channels-first
    _conv_case("conv2d_depthwise_strided", (2, 3, 6, 6), (6, 1, 3, 3), groups=3, stride=2,
               padding=1),  # channels-last
    _conv_case("conv2d_same_even_kernel", (1, 2, 5, 5), (2, 2, 2, 4),
               padding="same"),  # channels-last, padding split unevenly
    _conv_case("conv2d_1x1", (2, 3, 4, 4), (5, 3, 1, 1)),  # channels-first
    _conv_case("conv2d_kernel_equals_input", (2, 2, 3, 4), (3, 2, 3, 4)),  # channels-last
]

# ------------------------------------------------------------------ pooling
_TIES = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 0.0, 2.0, 2.0],
                    [3.0, 3.0, 0.0, 0.0],
                    [3.0, 3.0, 0.0, 0.0]]]])
# The first maximum of each 2x2 window in row-major order gets the gradient (PyTorch's rule).
_TIES_GRAD = np.array([[[[1.0, 0.0, 0.0, 1.0],
                         [0.0, 0.0, 0.0, 0.0],
                         [1.0, 0.0, 1.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0]]]])


def _max_case(name, shape, *args, **kwargs):
    return OpCase(name, (MaxPool2d,), lambda x: max_pool2d(x, *args, **kwargs),
                  lambda x: _pool_reference(np.max, x, *args, value=-np.inf, **kwargs),
                  (_u(*shape),),
                  torch_fn=lambda torch, x: torch.nn.functional.max_pool2d(x, *args, **kwargs))


def _avg_case(name, shape, kernel, stride=None, padding=0, count_include_pad=True):
    return OpCase(
        name, (AvgPool2d,),
        lambda x: avg_pool2d(x, kernel, stride, padding, count_include_pad),
        lambda x: _avg_reference(x, kernel, stride, padding, count_include_pad),
        (_u(*shape),),
        torch_fn=lambda torch, x: torch.nn.functional.avg_pool2d(
            x, kernel, stride, padding, count_include_pad=count_include_pad))


def _adaptive_case(name, ops, shape, size):
    return OpCase(name, ops, lambda x: adaptive_avg_pool2d(x, size),
                  lambda x: _adaptive_reference(x, size), (_u(*shape),),
                  torch_fn=lambda torch, x: torch.nn.functional.adaptive_avg_pool2d(x, size))


POOL_CASES = [
    _max_case("max_pool2d_tiling", (2, 3, 6, 8), 2),
    _max_case("max_pool2d_overlap_padding", (2, 2, 7, 6), 3, stride=2, padding=1),
    _max_case("max_pool2d_nonsquare_dilation", (1, 2, 7, 9), (2, 3), stride=(1, 2),
              padding=(1, 0), dilation=(2, 1)),
    _max_case("max_pool2d_stride_1", (1, 2, 5, 5), 2, stride=1),
    OpCase("max_pool2d_ties", (MaxPool2d,), lambda x: max_pool2d(x, 2),
           lambda x: _pool_reference(np.max, x, 2, value=-np.inf), (_TIES,),
           kink_grads=(_TIES_GRAD,),
           torch_fn=lambda torch, x: torch.nn.functional.max_pool2d(x, 2)),
    _avg_case("avg_pool2d_tiling", (2, 3, 6, 4), 2),
    _avg_case("avg_pool2d_overlap_padding", (2, 2, 7, 6), 3, stride=2, padding=1),
    _avg_case("avg_pool2d_exclude_padding", (1, 2, 5, 6), (3, 2), stride=(2, 1),
              padding=(1, 1), count_include_pad=False),
    _adaptive_case("adaptive_avg_pool2d_global", (Mean,), (2, 3, 5, 4), 1),
    _adaptive_case("adaptive_avg_pool2d_divisible", (AvgPool2d,), (2, 2, 6, 4), (3, 2)),
    _adaptive_case("adaptive_avg_pool2d_uneven", (MatMul,), (2, 2, 7, 5), (3, 4)),
]

# ------------------------------------------------------------------ normalisation
_RUNNING = (_u(3), _u(3, low=0.5, high=2.0))  # running mean and variance (constants)


def _torch_bn(torch, x, w=None, b=None, running_mean=None, running_var=None):
    stats = [None if s is None else torch.tensor(s, dtype=x.dtype)
             for s in (running_mean, running_var)]
    return torch.nn.functional.batch_norm(x, *stats, w, b, training=running_mean is None)


NORM_CASES = [
    OpCase("batch_norm_features", (BatchNorm,),
           lambda x, w, b: batch_norm(x, weight=w, bias=b, training=True), _bn_reference,
           (_u(5, 3), _u(3), _u(3)), torch_fn=_torch_bn, tolerance=_SUMS),
    OpCase("batch_norm_images", (BatchNorm,),
           lambda x, w, b: batch_norm(x, weight=w, bias=b, training=True), _bn_reference,
           (_u(3, 2, 3, 4), _u(2), _u(2)), torch_fn=_torch_bn, tolerance=_SUMS),
    OpCase("batch_norm_no_affine", (BatchNorm,), lambda x: batch_norm(x, training=True),
           _bn_reference, (_u(4, 2, 5),), torch_fn=_torch_bn, tolerance=_SUMS),
    OpCase("batch_norm_running_stats", (BatchNorm,),
           lambda x, w, b, mean, var: batch_norm(x, mean, var, w, b, training=False),
           _bn_reference, (_u(4, 3, 2, 2), _u(3), _u(3)), constants=_RUNNING,
           torch_fn=_torch_bn, tolerance=_SUMS),
    OpCase("layer_norm", (LayerNorm,), lambda x, w, b: layer_norm(x, 5, w, b), _ln_reference,
           (_u(3, 5), _u(5), _u(5)),
           torch_fn=lambda torch, x, w, b: torch.nn.functional.layer_norm(x, (5,), w, b),
           tolerance=_SUMS),
    OpCase("layer_norm_2d_shape", (LayerNorm,), lambda x, w, b: layer_norm(x, (3, 4), w, b),
           lambda x, w, b: _ln_reference(x, w, b, ndim=2), (_u(2, 3, 4), _u(3, 4), _u(3, 4)),
           torch_fn=lambda torch, x, w, b: torch.nn.functional.layer_norm(x, (3, 4), w, b),
           tolerance=_SUMS),
    OpCase("layer_norm_weight_only", (LayerNorm,), lambda x, w: layer_norm(x, 4, w),
           lambda x, w: _ln_reference(x, w), (_u(2, 3, 4), _u(4)),
           torch_fn=lambda torch, x, w: torch.nn.functional.layer_norm(x, (4,), w),
           tolerance=_SUMS),
    OpCase("layer_norm_no_affine", (LayerNorm,), lambda x: layer_norm(x, 6), _ln_reference,
           (_u(4, 6),), torch_fn=lambda torch, x: torch.nn.functional.layer_norm(x, (6,)),
           tolerance=_SUMS),
]

CASES: list[OpCase] = CONV_CASES + POOL_CASES + NORM_CASES
