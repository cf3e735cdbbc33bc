"""Converters of ``MultiheadAttention``, the Transformer encoder and ``PositionalEncoding``, as
graphs of MatMul, Softmax and Where (the operators any ONNX runtime has).

Attention runs batch-first inside: ``(B, L, E)`` is split into heads ``(B, h, L, d)``, scored
``softmax(q kᵀ / √d)`` with masked keys set to the dtype's lowest value (as chainrule does),
and merged back before the output projection.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .graph import ExportError, Graph, Value, converter
from .layers import linear

__all__: list[str] = []


def _batch_first(g: Graph, layer, x: Value) -> str:
    """``x`` as (B, L, E) from the layer's layout (time-major or unbatched)."""
    if x.example.ndim == 2:
        return g.op("Unsqueeze", x.name, g.ints([0]))
    return x.name if layer.batch_first else g.op("Transpose", x.name, perm=[1, 0, 2])


def _projections(g: Graph, layer: nn.MultiheadAttention, query: str, key: str, value: str):
    """Q, K, V (B, ·, E); one MatMul when query, key and value are one tensor."""
    e = layer.embed_dim
    bias = None if layer.in_proj_bias is None else layer.in_proj_bias.data
    biases = (None,) * 3 if bias is None else (bias[:e], bias[e:2 * e], bias[2 * e:])
    if layer._same_dims and query == key == value:
        qkv = linear(g, query, layer.in_proj_weight.data, bias, rank=3)
        return g.op("Split", qkv, g.ints([e, e, e]), axis=-1, outputs=3)
    if layer._same_dims:
        w = layer.in_proj_weight.data
        weights = (w[:e], w[e:2 * e], w[2 * e:])
    else:
        weights = (layer.q_proj_weight.data, layer.k_proj_weight.data, layer.v_proj_weight.data)
    return tuple(linear(g, x, w, b, rank=3)
                 for x, w, b in zip((query, key, value), weights, biases))


def _key_padding(g: Graph, layer, scores: str, mask: Value, batched: bool, dtype) -> str:
    """Scores of the masked keys (True in ``mask``) set to the dtype's lowest value."""
    if mask.example.dtype != np.bool_:
        raise ExportError(f"cr.onnx.export: {layer!r} is exported with a boolean "
                          f"key_padding_mask only, got {mask.example.dtype}")
    name = mask.name if batched else g.op("Unsqueeze", mask.name, g.ints([0]))
    wide = g.op("Unsqueeze", name, g.ints([1, 2]))  # (B, S) → (B, 1, 1, S)
    return g.op("Where", wide, g.scalar(np.finfo(dtype).min, dtype), scores)


@converter(nn.MultiheadAttention)
def _multihead_attention(g: Graph, layer: nn.MultiheadAttention, query: Value, key: Value,
                         value: Value, key_padding_mask: Value | None = None,
                         need_weights: bool = True, attn_mask=None,
                         average_attn_weights: bool = True, is_causal: bool = False):
    if attn_mask is not None or is_causal:
        raise ExportError(f"cr.onnx.export: {layer!r} is exported with key_padding_mask only; "
                          "attn_mask and is_causal have no converter yet")
    batched = query.example.ndim == 3
    dtype = query.example.dtype
    heads, head_dim = layer.num_heads, layer.head_dim
    q, k, v = _projections(g, layer, *(_batch_first(g, layer, x) for x in (query, key, value)))
    split = g.ints([0, 0, heads, head_dim])
    q, v = (g.op("Transpose", g.op("Reshape", x, split), perm=[0, 2, 1, 3]) for x in (q, v))
    k = g.op("Transpose", g.op("Reshape", k, split), perm=[0, 2, 3, 1])  # (B, h, d, S)
    scale = g.scalar(1 / np.sqrt(head_dim), dtype)
    scores = g.op("MatMul", g.op("Mul", q, scale), k)
    if key_padding_mask is not None:
        scores = _key_padding(g, layer, scores, key_padding_mask, batched, dtype)
    weights = g.op("Softmax", scores, axis=-1)
    heads_out = g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 2, 1, 3])
    merged = g.op("Reshape", heads_out, g.ints([0, 0, layer.embed_dim]))
    out_bias = None if layer.out_proj.bias is None else layer.out_proj.bias.data
    out = linear(g, merged, layer.out_proj.weight.data, out_bias, rank=3)
    if not batched:
        out = g.op("Squeeze", out, g.ints([0]))
    elif not layer.batch_first:
        out = g.op("Transpose", out, perm=[1, 0, 2])
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = g.reduce("ReduceMean", weights, [1], keepdims=False)
    return out, weights if batched else g.op("Squeeze", weights, g.ints([0]))


@converter(nn.TransformerEncoderLayer)
def _encoder_layer(g: Graph, layer: nn.TransformerEncoderLayer, src: Value, src_mask=None,
                   src_key_padding_mask: Value | None = None, is_causal: bool = False):
    def attention(x: Value) -> Value:
        out, _ = g.convert(layer.self_attn, x, x, x, key_padding_mask=src_key_padding_mask,
                           need_weights=False, attn_mask=src_mask, is_causal=is_causal)
        return out

    def feed_forward(x: Value) -> Value:
        hidden = g.convert(layer.activation, g.convert(layer.linear1, x))
        return g.convert(layer.linear2, hidden)

    def add(a: Value, b: Value) -> Value:
        return Value(g.op("Add", a.name, b.name), a.example + b.example)

    if layer.norm_first:
        x = add(src, attention(g.convert(layer.norm1, src)))
        return add(x, feed_forward(g.convert(layer.norm2, x))).name
    x = g.convert(layer.norm1, add(src, attention(src)))
    return g.convert(layer.norm2, add(x, feed_forward(x))).name


@converter(nn.TransformerEncoder)
def _encoder(g: Graph, layer: nn.TransformerEncoder, src: Value, mask=None,
             src_key_padding_mask: Value | None = None, is_causal: bool = False):
    x = src
    for block in layer.layers:
        x = g.convert(block, x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
    return (x if layer.norm is None else g.convert(layer.norm, x)).name


@converter(nn.PositionalEncoding)
def _positional_encoding(g: Graph, layer: nn.PositionalEncoding, x: Value):
    table = layer.table(x.example.dtype)
    axis = 1 if layer.batch_first else 0
    code = g.constant(table if layer.batch_first else table[:, None, :], "positions")
    # The first L rows of the table, L read from the input: the sequence axis stays symbolic.
    length = g.op("Shape", x.name, start=axis, end=axis + 1)
    rows = g.op("Slice", code, g.ints([0]), length, g.ints([0]))
    return g.op("Add", x.name, rows)
