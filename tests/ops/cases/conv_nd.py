"""Op cases for the convolutions of issue 13: ``conv1d`` and ``conv3d`` (each one ``Conv2d``)
and ``conv_transpose2d`` (its own op), against direct NumPy references, central differences
and PyTorch."""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from chainrule.nn.functional import conv1d, conv3d, conv_transpose2d, group_norm, instance_norm
from chainrule.ops.conv import Conv2d
from chainrule.ops.elementwise import Add, Mul
from chainrule.ops.norm import LayerNorm
from chainrule.ops.transpose_conv import ConvTranspose2d

from . import OpCase, draws

__all__ = ["CASES"]

_u = draws(70_000)
_SUMS = {"float32": (1e-4, 1e-5)}  # sums of tens of float32 products


def _conv_nd(x, w, b, stride, padding, dilation, groups):
    """Direct N-d grouped cross-correlation: one loop over kernel offsets."""
    nd = w.ndim - 2
    x = np.pad(x, ((0, 0), (0, 0), *((p, p) for p in padding)))
    out_sizes = [(x.shape[2 + a] - dilation[a] * (w.shape[2 + a] - 1) - 1) // stride[a] + 1
                 for a in range(nd)]
    og, cg = w.shape[0] // groups, w.shape[1]
    y = np.zeros((x.shape[0], w.shape[0], *out_sizes))
    for offset in itertools.product(*(range(k) for k in w.shape[2:])):
        view = x[(slice(None), slice(None)) + tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offset, dilation, stride, out_sizes))]
        for g in range(groups):
            tap = w[(slice(g * og, (g + 1) * og), slice(None)) + offset]  # (og, cg)
            y[:, g * og:(g + 1) * og] += np.einsum("oc,nc...->no...", tap,
                                                   view[:, g * cg:(g + 1) * cg])
    return y if b is None else y + b.reshape((-1,) + (1,) * nd)


def _conv_transpose_ref(x, w, b, stride, padding, output_padding, groups, dilation):
    """Direct transposed convolution: every input position scatters its weighted kernel."""
    n, c, h, wd = x.shape
    cg, og, kh, kw = c // groups, w.shape[1], w.shape[2], w.shape[3]
    size = [(m - 1) * s + d * (k - 1) + e + 1
            for m, s, d, k, e in zip((h, wd), stride, dilation, (kh, kw), output_padding)]
    y = np.zeros((n, og * groups, *size))
    for i, j, g in itertools.product(range(kh), range(kw), range(groups)):
        contribution = np.einsum("nchw,co->nohw", x[:, g * cg:(g + 1) * cg],
                                 w[g * cg:(g + 1) * cg, :, i, j])
        y[:, g * og:(g + 1) * og, i * dilation[0]:i * dilation[0] + stride[0] * (h - 1) + 1:
          stride[0], j * dilation[1]:j * dilation[1] + stride[1] * (wd - 1) + 1:stride[1]] \
            += contribution
    ph, pw = padding
    y = y[:, :, ph:size[0] - ph, pw:size[1] - pw]
    return y if b is None else y + b.reshape(-1, 1, 1)


def _n(value, n):
    return (value,) * n if isinstance(value, int) else tuple(value)


def _quiet(function, *args, **kwargs):
    """Call ``function`` without PyTorch's note that 'same' with an even kernel copies."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return function(*args, **kwargs)


def _conv_case(name, nd, shapes, stride=1, padding=0, dilation=1, groups=1):
    """conv1d (nd=1) or conv3d (nd=3) against the direct convolution and PyTorch."""
    conv = {1: conv1d, 3: conv3d}[nd]
    x, w, *b = (_u(*s) for s in shapes)
    return OpCase(
        name, (Conv2d,),
        lambda x, w, *b: conv(x, w, *b, stride=stride, padding=padding, dilation=dilation,
                              groups=groups),
        lambda x, w, *b: _conv_nd(x, w, b[0] if b else None, _n(stride, nd), _n(padding, nd),
                                  _n(dilation, nd), groups),
        (x, w, *b), tolerance=_SUMS,
        torch_fn=lambda torch, x, w, *b: getattr(torch.nn.functional, f"conv{nd}d")(
            x, w, *b, stride=stride, padding=padding, dilation=dilation, groups=groups))


def _transpose_case(name, shapes, stride=1, padding=0, output_padding=0, groups=1,
                    dilation=1):
    x, w, *b = (_u(*s) for s in shapes)
    return OpCase(
        name, (ConvTranspose2d,),
        lambda x, w, *b: conv_transpose2d(x, w, *b, stride=stride, padding=padding,
                                          output_padding=output_padding, groups=groups,
                                          dilation=dilation),
        lambda x, w, *b: _conv_transpose_ref(x, w, b[0] if b else None, _n(stride, 2),
                                             _n(padding, 2), _n(output_padding, 2), groups,
                                             _n(dilation, 2)),
        (x, w, *b), tolerance=_SUMS,
        torch_fn=lambda torch, x, w, *b: torch.nn.functional.conv_transpose2d(
            x, w, *b, stride=stride, padding=padding, output_padding=output_padding,
            groups=groups, dilation=dilation))


def _group_norm_ref(x, groups, weight=None, bias=None, eps=1e-5):
    g = x.reshape(x.shape[0], groups, -1)
    g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)
    per_channel = (-1,) + (1,) * (x.ndim - 2)
    y = g.reshape(x.shape)
    y = y if weight is None else y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)


_NORM_CASES = [
    OpCase("group_norm_affine", (LayerNorm, Mul, Add),
           lambda x, w, b: group_norm(x, 2, w, b), lambda x, w, b: _group_norm_ref(x, 2, w, b),
           (_u(3, 4, 2, 3), _u(4), _u(4)), tolerance=_SUMS,
           torch_fn=lambda torch, x, w, b: torch.nn.functional.group_norm(x, 2, w, b)),
    OpCase("group_norm_1d_one_group", (LayerNorm,), lambda x: group_norm(x, 1),
           lambda x: _group_norm_ref(x, 1), (_u(2, 3, 5),), tolerance=_SUMS,
           torch_fn=lambda torch, x: torch.nn.functional.group_norm(x, 1)),
    OpCase("instance_norm_affine", (LayerNorm, Mul, Add),
           lambda x, w, b: instance_norm(x, weight=w, bias=b),
           lambda x, w, b: _group_norm_ref(x, 3, w, b), (_u(2, 3, 3, 4), _u(3), _u(3)),
           tolerance=_SUMS,
           torch_fn=lambda torch, x, w, b: torch.nn.functional.instance_norm(x, weight=w,
                                                                             bias=b)),
]

CASES = [*_NORM_CASES,
    _conv_case("conv1d_bias", 1, ((2, 3, 7), (4, 3, 3), (4,))),
    _conv_case("conv1d_stride_pad_dilation_groups", 1, ((2, 4, 9), (6, 2, 3)), stride=2,
               padding=2, dilation=2, groups=2),
    OpCase("conv1d_same", (Conv2d,), lambda x, w: conv1d(x, w, padding="same"),
           lambda x, w: _conv_nd(np.pad(x, ((0, 0), (0, 0), (1, 2))), w, None, (1,), (0,),
                                 (1,), 1),
           (_u(1, 2, 6), _u(3, 2, 4)), tolerance=_SUMS,
           torch_fn=lambda torch, x, w: _quiet(torch.nn.functional.conv1d, x, w, padding="same")),
    _conv_case("conv3d_bias", 3, ((1, 2, 4, 4, 3), (3, 2, 2, 3, 2), (3,))),
    _conv_case("conv3d_stride_pad_dilation_groups", 3, ((2, 4, 5, 4, 5), (4, 2, 3, 2, 2)),
               stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
    _transpose_case("conv_transpose2d_bias", ((2, 3, 3, 4), (3, 2, 3, 2), (2,))),
    _transpose_case("conv_transpose2d_stride_pad_output_padding", ((1, 2, 3, 3), (2, 3, 3, 3)),
                    stride=2, padding=1, output_padding=1),
    _transpose_case("conv_transpose2d_groups_dilation", ((2, 4, 3, 2), (4, 1, 2, 3), (2,)),
                    stride=(1, 2), padding=(1, 0), groups=2, dilation=(2, 1)),
]
