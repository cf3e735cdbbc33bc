"""Converters of the feed-forward layers: dense, activations, convolution, pooling,
normalisation, dropout, shape helpers and the embedding lookup.

Each writes the ONNX operators that compute what the layer computes in evaluation mode.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..nn.functional.windows import padding_pairs, pair
from ..ops.pool import averaging_matrix
from .graph import ExportError, Graph, Value, converter

__all__: list[str] = []


@converter(nn.Sequential)
def _sequential(g: Graph, layer: nn.Sequential, x: Value):
    for child in layer:
        x = g.convert(child, x)
    return x.name


@converter(nn.Identity, nn.Dropout, nn.Dropout2d)
def _identity(g: Graph, layer, x: Value):
    return x.name  # dropout is the identity in evaluation mode


def linear(g: Graph, x: str, weight: np.ndarray, bias: np.ndarray | None, rank: int) -> str:
    """``x Wᵀ + b`` on the last axis of a rank-``rank`` input: one Gemm for matrices, MatMul
    (+ Add) above."""
    if rank == 2:
        inputs = [x, g.constant(weight, "weight")]
        if bias is not None:
            inputs.append(g.constant(bias, "bias"))
        return g.op("Gemm", *inputs, transB=1)
    y = g.op("MatMul", x, g.constant(weight.T, "weight"))
    return y if bias is None else g.op("Add", y, g.constant(bias, "bias"))


@converter(nn.Linear)
def _linear(g: Graph, layer: nn.Linear, x: Value):
    bias = None if layer.bias is None else layer.bias.data
    return linear(g, x.name, layer.weight.data, bias, x.example.ndim)


@converter(nn.Flatten)
def _flatten(g: Graph, layer: nn.Flatten, x: Value):
    ndim = max(x.example.ndim, 1)
    start, end = layer.start_axis % ndim, layer.end_axis % ndim
    if start == 0:
        raise ExportError(f"cr.onnx.export: {layer!r} merges the batch axis into the features; "
                          "the exported graph keeps the batch axis")
    # 0 copies the input's size (the batch axis stays symbolic); axes after the merged ones
    # keep their example sizes.
    shape = [0] * start + [-1] + list(x.shape[end + 1:])
    return g.op("Reshape", x.name, g.ints(shape))


# ------------------------------------------------------------------------------- activations
@converter(nn.ReLU, nn.Sigmoid, nn.Tanh)
def _elementwise(g: Graph, layer, x: Value):
    return g.op({nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh"}[type(layer)], x.name)


@converter(nn.LeakyReLU)
def _leaky_relu(g: Graph, layer: nn.LeakyReLU, x: Value):
    return g.op("LeakyRelu", x.name, alpha=float(layer.negative_slope))


@converter(nn.ELU)
def _elu(g: Graph, layer: nn.ELU, x: Value):
    return g.op("Elu", x.name, alpha=float(layer.alpha))


@converter(nn.GELU)
def _gelu(g: Graph, layer: nn.GELU, x: Value):
    if g.opset >= 20:
        return g.op("Gelu", x.name, approximate=layer.approximate)
    dtype = x.example.dtype
    half = g.op("Mul", x.name, g.scalar(0.5, dtype))
    if layer.approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715 x³)))
        cube = g.op("Mul", g.op("Mul", x.name, x.name), x.name)
        inner = g.op("Add", x.name, g.op("Mul", cube, g.scalar(0.044715, dtype)))
        inner = g.op("Tanh", g.op("Mul", inner, g.scalar(np.sqrt(2 / np.pi), dtype)))
    else:  # ½x(1 + erf(x/√2))
        inner = g.op("Erf", g.op("Mul", x.name, g.scalar(1 / np.sqrt(2), dtype)))
    return g.op("Mul", half, g.op("Add", inner, g.scalar(1.0, dtype)))


@converter(nn.Softplus)
def _softplus(g: Graph, layer: nn.Softplus, x: Value):
    if layer.beta == 1:
        return g.op("Softplus", x.name)
    beta = g.scalar(layer.beta, x.example.dtype)
    return g.op("Div", g.op("Softplus", g.op("Mul", x.name, beta)), beta)


@converter(nn.Hardtanh, nn.ReLU6)
def _hardtanh(g: Graph, layer, x: Value):
    low, high = (0.0, 6.0) if isinstance(layer, nn.ReLU6) else (layer.min_val, layer.max_val)
    dtype = x.example.dtype
    return g.op("Clip", x.name, g.scalar(low, dtype), g.scalar(high, dtype))


@converter(nn.Hardswish, nn.Softsign)
def _plain(g: Graph, layer, x: Value):
    return g.op({nn.Hardswish: "HardSwish", nn.Softsign: "Softsign"}[type(layer)], x.name)


@converter(nn.SiLU)
def _silu(g: Graph, layer: nn.SiLU, x: Value):
    return g.op("Mul", x.name, g.op("Sigmoid", x.name))


@converter(nn.Mish)
def _mish(g: Graph, layer: nn.Mish, x: Value):
    if g.opset >= 18:
        return g.op("Mish", x.name)
    return g.op("Mul", x.name, g.op("Tanh", g.op("Softplus", x.name)))


@converter(nn.CELU)
def _celu(g: Graph, layer: nn.CELU, x: Value):
    return g.op("Celu", x.name, alpha=float(layer.alpha))


@converter(nn.SELU)
def _selu(g: Graph, layer: nn.SELU, x: Value):
    return g.op("Selu", x.name, alpha=1.6732632423543772, gamma=1.0507009873554805)


@converter(nn.Softmax, nn.LogSoftmax)
def _softmax(g: Graph, layer: nn.Softmax, x: Value):
    kind = "LogSoftmax" if isinstance(layer, nn.LogSoftmax) else "Softmax"
    return g.op(kind, x.name, axis=int(layer.axis))


# ----------------------------------------------------------------------- convolution, pooling
@converter(nn.Conv2d)
def _conv2d(g: Graph, layer: nn.Conv2d, x: Value):
    (top, bottom), (left, right) = padding_pairs(repr(layer), layer.padding, layer.kernel_size,
                                                 layer.dilation, layer.stride)
    inputs = [x.name, g.constant(layer.weight.data, "weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "bias"))
    return g.op("Conv", *inputs, kernel_shape=list(layer.kernel_size),
                strides=list(layer.stride), dilations=list(layer.dilation),
                pads=[top, left, bottom, right], group=layer.groups)


def _same_or_given(layer) -> tuple[list[int], list[int]]:
    """(pads before, pads after) per axis of a Conv1d or Conv3d (``'same'``: the extra one
    after, as PyTorch)."""
    padding = layer.padding
    if isinstance(padding, str):
        totals = [0 if padding == "valid" else d * (k - 1)
                  for k, d in zip(layer.kernel_size, layer.dilation)]
        return [t // 2 for t in totals], [t - t // 2 for t in totals]
    return list(padding), list(padding)


@converter(nn.Conv1d, nn.Conv3d)
def _conv_nd(g: Graph, layer, x: Value):
    before, after = _same_or_given(layer)
    inputs = [x.name, g.constant(layer.weight.data, "weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "bias"))
    return g.op("Conv", *inputs, kernel_shape=list(layer.kernel_size),
                strides=list(layer.stride), dilations=list(layer.dilation),
                pads=before + after, group=layer.groups)


@converter(nn.ConvTranspose2d)
def _conv_transpose2d(g: Graph, layer: nn.ConvTranspose2d, x: Value):
    inputs = [x.name, g.constant(layer.weight.data, "weight")]  # ONNX's layout: (C, O/g, …)
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "bias"))
    return g.op("ConvTranspose", *inputs, kernel_shape=list(layer.kernel_size),
                strides=list(layer.stride), dilations=list(layer.dilation),
                pads=list(layer.padding) * 2, output_padding=list(layer.output_padding),
                group=layer.groups)


def _window(layer) -> dict:
    """kernel_shape, strides and pads of a pooling layer (PyTorch's defaults filled in)."""
    name = repr(layer)
    kernel = pair(name, layer.kernel_size, "kernel_size", 1)
    stride = kernel if layer.stride is None else pair(name, layer.stride, "stride", 1)
    ph, pw = pair(name, layer.padding, "padding", 0)
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": [ph, pw, ph, pw]}


@converter(nn.MaxPool2d)
def _max_pool2d(g: Graph, layer: nn.MaxPool2d, x: Value):
    dilation = pair(repr(layer), layer.dilation, "dilation", 1)
    return g.op("MaxPool", x.name, dilations=list(dilation), **_window(layer))


@converter(nn.AvgPool2d)
def _avg_pool2d(g: Graph, layer: nn.AvgPool2d, x: Value):
    return g.op("AveragePool", x.name, count_include_pad=int(layer.count_include_pad),
                **_window(layer))


@converter(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(g: Graph, layer: nn.AdaptiveAvgPool2d, x: Value):
    height, width = x.shape[2:]
    size = layer.output_size
    size = (size, size) if not isinstance(size, tuple) else size
    out_h, out_w = (n if s is None else s for s, n in zip(size, (height, width)))
    if (out_h, out_w) == (1, 1):
        return g.op("GlobalAveragePool", x.name)
    # Windows of uneven sizes: y = A_h x A_wᵀ, each row of A averaging one window (exact).
    dtype = x.example.dtype
    rows = g.constant(averaging_matrix(np, height, out_h, dtype), "rows")
    cols = g.constant(averaging_matrix(np, width, out_w, dtype).T, "cols")
    return g.op("MatMul", rows, g.op("MatMul", x.name, cols))


# ----------------------------------------------------------------------------- normalisation
@converter(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(g: Graph, layer, x: Value):
    if not layer.track_running_stats:
        raise ExportError(f"cr.onnx.export: {layer!r} keeps no running statistics, so it "
                          "normalises with each batch's own; ONNX exports evaluation mode only")
    count = layer.num_features
    dtype = layer.running_mean.dtype
    scale = layer.weight.data if layer.affine else np.ones(count, dtype)
    shift = layer.bias.data if layer.affine else np.zeros(count, dtype)
    return g.op("BatchNormalization", x.name, g.constant(scale, "scale"),
                g.constant(shift, "shift"), g.constant(layer.running_mean, "running_mean"),
                g.constant(layer.running_var, "running_var"), epsilon=float(layer.eps))


@converter(nn.GroupNorm, nn.InstanceNorm2d)
def _group_norm(g: Graph, layer, x: Value):
    """InstanceNormalization over (N, G, -1), the input's shape back, then the per-channel
    affine map (GroupNormalization's definition changed between opsets 18 and 21)."""
    dtype = x.example.dtype
    groups = layer.num_groups if isinstance(layer, nn.GroupNorm) else layer.num_features
    grouped = g.op("Reshape", x.name, g.ints([0, groups, -1]))
    y = g.op("InstanceNormalization", grouped, g.constant(np.ones(groups, dtype), "scale"),
             g.constant(np.zeros(groups, dtype), "shift"), epsilon=float(layer.eps))
    y = g.op("Reshape", y, g.op("Shape", x.name))
    per_channel = (-1,) + (1,) * (x.example.ndim - 2)
    if layer.weight is not None:
        y = g.op("Mul", y, g.constant(layer.weight.data.reshape(per_channel), "scale"))
    if layer.bias is not None:
        y = g.op("Add", y, g.constant(layer.bias.data.reshape(per_channel), "shift"))
    return y


def layer_norm(g: Graph, layer: nn.LayerNorm, x: str, dtype) -> str:
    """LayerNormalization over the trailing ``normalized_shape`` axes."""
    shape = layer.normalized_shape
    scale = layer.weight.data if layer.weight is not None else np.ones(shape, dtype)
    inputs = [x, g.constant(scale, "scale")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "shift"))
    return g.op("LayerNormalization", *inputs, axis=-len(shape), epsilon=float(layer.eps))


@converter(nn.LayerNorm)
def _layer_norm(g: Graph, layer: nn.LayerNorm, x: Value):
    return layer_norm(g, layer, x.name, x.example.dtype)


# ---------------------------------------------------------------------------------- lookup
@converter(nn.Embedding)
def _embedding(g: Graph, layer: nn.Embedding, ids: Value):
    return g.op("Gather", g.constant(layer.weight.data, "embedding"), ids.name, axis=0)
