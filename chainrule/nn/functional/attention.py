"""Attention as functions: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``
(Vaswani et al., 2017, PyTorch's API), which ``nn.MultiheadAttention`` calls with its parameters.

Both are composites of primitives (linear, matmul, softmax, where): the few large products
dominate the time, so a fused op would save graph nodes, not work.

Masks follow PyTorch, whose two conventions differ: ``scaled_dot_product_attention``'s boolean
``attn_mask`` marks the pairs that *may* attend (True = keep), while ``multi_head_attention_
forward``'s boolean ``attn_mask`` and ``key_padding_mask`` mark the pairs that may *not* (True =
masked). Float masks are added to the scores in both. Masked scores are set to the dtype's
lowest finite value rather than -inf, so a query whose keys are all masked attends uniformly
instead of producing NaN (PyTorch gives NaN there); all other results are the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ...backend import array_module
from ...tensor import Tensor, where
from ._checks import ArgumentTypeError, ArgumentValueError, require_tensor
from .dropout import dropout
from .linear import linear

__all__ = ["causal_mask", "multi_head_attention_forward", "scaled_dot_product_attention"]


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """Boolean (L, S) mask that is True where key j comes after query i (j > i): the pairs a
    causal (autoregressive) model must not attend to, in ``MultiheadAttention``'s convention."""
    source_length = length if source_length is None else source_length
    return np.triu(np.ones((length, source_length), dtype=bool), k=1)


def _attend(query: Tensor, key: Tensor, value: Tensor, blocked: np.ndarray | None,
            additive: np.ndarray | None, dropout_p: float, scale: float,
            generator: np.random.Generator | int | None) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale + additive, masked where ``blocked``) v, and the weights."""
    scores = (query * scale) @ key.transpose(*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)
    if additive is not None:
        scores = scores + Tensor(additive.astype(scores.dtype, copy=False))
    if blocked is not None:
        xp = array_module(scores.data)
        lowest = Tensor(xp.asarray(np.finfo(scores.dtype).min, dtype=scores.dtype))
        scores = where(~blocked, scores, lowest)
    weights = scores.softmax(axis=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, generator)
    return weights @ value, weights


def _split_mask(where_: str, mask: Any, dtype: npt.DTypeLike, keep_if_true: bool, what: str
                ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A user mask as (blocked bools, additive floats): one of the two is None."""
    if mask is None:
        return None, None
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype == np.bool_:
        return (~array if keep_if_true else array), None
    if array.dtype.kind != "f":
        raise ArgumentTypeError(where_, f"{what} must be boolean or floating-point, got dtype "
                                        f"{array.dtype}")
    return None, array.astype(dtype, copy=False)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None,
                                 generator: np.random.Generator | int | None = None) -> Tensor:
    """``softmax(Q Kᵀ / √d + M) V`` over the last two axes (PyTorch's function of this name).

    Args:
        query, key, value: (…, L, d), (…, S, d), (…, S, d_v); leading axes broadcast.
        attn_mask: boolean (…, L, S), True where a query **may** attend to a key, or a float
            mask added to the scores.
        dropout_p: dropout probability on the attention weights (pass 0 in evaluation).
        is_causal: mask the keys after each query (j > i); excludes ``attn_mask``.
        scale: factor on the scores instead of 1/√d.
        generator: ``numpy.random.Generator`` or seed for the dropout mask.

    Shape:
        output (…, L, d_v).

    Example:
        >>> import chainrule as cr, numpy as np
        >>> q = cr.tensor(np.ones((2, 4, 8), dtype=np.float32))
        >>> cr.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 8)
    """
    name = "scaled_dot_product_attention"
    for x in (query, key, value):
        require_tensor(name, x)
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ArgumentValueError(
            name, f"query (…, L, d) {query.shape}, key (…, S, d) {key.shape} and value "
                  f"(…, S, d_v) {value.shape} do not fit")
    if is_causal and attn_mask is not None:
        raise ArgumentValueError(name, "pass attn_mask or is_causal, not both")
    blocked, additive = _split_mask(name, attn_mask, query.dtype, True, "attn_mask")
    if is_causal:
        blocked = causal_mask(query.shape[-2], key.shape[-2])
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, blocked, additive, dropout_p, scale, generator)[0]


def _check_inputs(name: str, query: Tensor, key: Tensor, value: Tensor, widths: tuple[int, ...],
                  batch_first: bool) -> bool:
    """Validate the shapes of query, key and value; whether they have a batch axis."""
    for x, what in ((query, "query"), (key, "key"), (value, "value")):
        require_tensor(name, x)
        if x.dtype.kind != "f":
            raise ArgumentTypeError(name, f"{what} must be floating-point, got dtype {x.dtype}")
    batched: bool = query.ndim == 3
    layout = ("(batch, seq, {})" if batch_first else "(seq, batch, {})") if batched \
        else "(seq, {})"
    for x, what, width in zip((query, key, value), ("query", "key", "value"), widths):
        if x.ndim != query.ndim or x.ndim not in (2, 3) or x.shape[-1] != width:
            raise ArgumentValueError(
                name, f"expected {what} of shape {layout.format(width)}, got {x.shape} (query "
                      f"{query.shape})")
    batch_axis = 0 if batch_first else 1
    if key.shape[:-1] != value.shape[:-1] or (
            batched and query.shape[batch_axis] != key.shape[batch_axis]):
        raise ArgumentValueError(
            name, f"query {query.shape}, key {key.shape} and value {value.shape} disagree on "
                  "the batch size or the key and value lengths")
    return batched


def _masks(name: str, key_padding_mask: Any, attn_mask: Any, is_causal: bool, heads: int,
           batch: int, length: int, source: int, dtype: npt.DTypeLike
           ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Combine the three masks into (blocked (B, h|1, L, S) bools, additive floats)."""
    blocked, additive = _split_mask(name, attn_mask, dtype, False, "attn_mask")
    mask_array = blocked if blocked is not None else additive
    if mask_array is not None:
        if mask_array.shape == (length, source):
            mask_array = mask_array[None, None]
        elif mask_array.shape == (batch * heads, length, source):
            mask_array = mask_array.reshape(batch, heads, length, source)
        else:
            raise ArgumentValueError(
                name, f"attn_mask must have shape (L, S) = {(length, source)} or "
                      f"(B·num_heads, L, S) = {(batch * heads, length, source)}, got "
                      f"{np.shape(attn_mask)}")
        blocked, additive = (mask_array, None) if blocked is not None else (None, mask_array)
    if is_causal:
        causal = causal_mask(length, source)[None, None]
        blocked = causal if blocked is None else blocked | causal
    padding_blocked, padding_add = _split_mask(name, key_padding_mask, dtype, False,
                                               "key_padding_mask")
    padding = padding_blocked if padding_blocked is not None else padding_add
    if padding is not None:
        if padding.shape != (batch, source):
            raise ArgumentValueError(
                name, f"key_padding_mask must have shape (B, S) = {(batch, source)}, got "
                      f"{padding.shape}")
        padding = padding[:, None, None, :]
        if padding_blocked is not None:
            blocked = padding if blocked is None else blocked | padding
        else:
            additive = padding if additive is None else additive + padding
    return blocked, additive


def _projections(query: Tensor, key: Tensor, value: Tensor, e: int, in_proj_weight: Tensor | None,
                 in_proj_bias: Tensor | None, separate: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """Q, K, V by the input projections; one GEMM when query, key and value are one tensor
    (self-attention) and the projections are stacked in ``in_proj_weight`` (3e, e)."""
    b = in_proj_bias
    if in_proj_weight is not None and query is key and key is value:
        qkv = linear(query, in_proj_weight, b)
        return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
    if in_proj_weight is not None:
        w = in_proj_weight
        weights = (w[:e], w[e:2 * e], w[2 * e:])
    else:
        weights = separate
    biases = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
    return tuple(linear(x, w, bb) for x, w, bb in zip((query, key, value), weights, biases))


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, key_padding_mask: Any = None, need_weights: bool = True,
        attn_mask: Any = None, dropout_p: float = 0.0, training: bool = True,
        average_attn_weights: bool = True, is_causal: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, batch_first: bool = False,
        generator: np.random.Generator | int | None = None) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention (the math of ``nn.MultiheadAttention``, PyTorch's function):
    ``Concat(head_1 … head_h) W_Oᵀ + b_O`` with
    ``head_i = softmax((Q W_Q^iᵀ)(K W_K^iᵀ)ᵀ / √d_h + M) (V W_V^iᵀ)`` and d_h = E / h.

    Args:
        query, key, value: (L, B, E), (S, B, kdim), (S, B, vdim); (B, L, E) … with
            ``batch_first``; (L, E) … unbatched.
        num_heads: h; E must be divisible by it.
        in_proj_weight: (3E, E), W_Q, W_K, W_V stacked as rows; or None, and then
            ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim).
        in_proj_bias: (3E,) or None.
        out_proj_weight, out_proj_bias: W_O (E, E) and b_O (E,) or None.
        key_padding_mask: (B, S), True (or a float to add) for keys to ignore.
        need_weights: also return the attention weights.
        attn_mask: (L, S) or (B·h, L, S), True where query i must not attend to key j, or
            floats to add.
        dropout_p: dropout on the attention weights, when ``training``.
        average_attn_weights: average the returned weights over the heads.
        is_causal: mask the keys after each query (alone, or with the other masks).
        batch_first: the batch axis comes first.
        generator: ``numpy.random.Generator`` or seed for the dropout masks.

    Shape:
        output like query; weights (B, L, S) averaged over heads, or (B, h, L, S) with
        ``average_attn_weights=False`` (no batch axis when unbatched).

    Returns:
        ``(output, weights)``; weights is None unless ``need_weights``.
    """
    name = "multi_head_attention_forward"
    embed_dim = out_proj_weight.shape[0]
    if num_heads < 1 or embed_dim % num_heads:
        raise ArgumentValueError(name, f"embed_dim ({embed_dim}) must be a positive multiple of "
                                       f"num_heads ({num_heads})")
    separate: tuple[Any, ...] = (q_proj_weight, k_proj_weight, v_proj_weight)
    widths = (embed_dim,) * 3 if in_proj_weight is not None \
        else tuple(w.shape[1] for w in separate)
    batched = _check_inputs(name, query, key, value, widths, batch_first)
    if not batched:
        query, key, value = (x.unsqueeze(1) for x in (query, key, value))
        key_padding_mask = None if key_padding_mask is None else np.asarray(
            getattr(key_padding_mask, "data", key_padding_mask))[None]
    elif batch_first:
        query, key, value = (x.transpose(1, 0, 2) for x in (query, key, value))
    length, batch, _ = query.shape
    source = key.shape[0]
    blocked, additive = _masks(name, key_padding_mask, attn_mask, is_causal, num_heads, batch,
                               length, source, query.dtype)
    head_dim = embed_dim // num_heads
    # (seq, B, E) → (B, h, seq, d_h): each head attends independently in one batched matmul.
    q, k, v = (x.reshape(x.shape[0], batch, num_heads, head_dim).transpose(1, 2, 0, 3)
               for x in _projections(query, key, value, embed_dim, in_proj_weight, in_proj_bias,
                                     separate))
    out, weights = _attend(q, k, v, blocked, additive, dropout_p if training else 0.0,
                           1 / math.sqrt(head_dim), generator)
    out = out.transpose(2, 0, 1, 3).reshape(length, batch, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    elif batch_first:
        out = out.transpose(1, 0, 2)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(axis=1)
    return out, (weights if batched else weights.squeeze(0))
