"""Scaled dot-product attention and ``MultiheadAttention`` (Vaswani et al., 2017), PyTorch's API.

Both are composites of primitives (linear, matmul, softmax, where): the few large products
dominate the time, so a fused op would save graph nodes, not work.

Masks follow PyTorch, whose two conventions differ: ``scaled_dot_product_attention``'s boolean
``attn_mask`` marks the pairs that *may* attend (True = keep), while ``MultiheadAttention``'s
boolean ``attn_mask`` and ``key_padding_mask`` mark the pairs that may *not* (True = masked).
Float masks are added to the scores in both. Masked scores are set to the dtype's lowest
finite value rather than -inf, so a query whose keys are all masked attends uniformly instead
of producing NaN (PyTorch gives NaN there); all other results are the same.
"""

from __future__ import annotations

import math

import numpy as np

from ..random import resolve
from ..tensor import Tensor, where
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "causal_mask", "scaled_dot_product_attention"]


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """Boolean (L, S) mask that is True where key j comes after query i (j > i): the pairs a
    causal (autoregressive) model must not attend to, in ``MultiheadAttention``'s convention."""
    source_length = length if source_length is None else source_length
    return np.triu(np.ones((length, source_length), dtype=bool), k=1)


def _attend(query: Tensor, key: Tensor, value: Tensor, blocked, additive, dropout_p: float,
            scale: float, generator) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale + additive, masked where ``blocked``) v, and the weights."""
    scores = (query * scale) @ key.transpose(*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)
    if additive is not None:
        scores = scores + Tensor(additive.astype(scores.dtype, copy=False))
    if blocked is not None:
        lowest = Tensor(np.array(np.finfo(scores.dtype).min, dtype=scores.dtype))
        scores = where(~blocked, scores, lowest)
    weights = scores.softmax(axis=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p, True, generator)
    return weights @ value, weights


def _split_mask(mask, dtype, keep_if_true: bool, what: str):
    """A user mask as (blocked bools, additive floats): one of the two is None."""
    if mask is None:
        return None, None
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype == np.bool_:
        return (~array if keep_if_true else array), None
    if array.dtype.kind != "f":
        raise TypeError(f"{what} must be boolean or floating-point, got dtype {array.dtype}")
    return None, array.astype(dtype, copy=False)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, generator=None) -> Tensor:
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
        >>> cr.nn.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 8)
    """
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query (…, L, d) {query.shape}, key (…, S, d) "
            f"{key.shape} and value (…, S, d_v) {value.shape} do not fit"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
    blocked, additive = _split_mask(attn_mask, query.dtype, True, "attn_mask")
    if is_causal:
        blocked = causal_mask(query.shape[-2], key.shape[-2])
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, blocked, additive, dropout_p, scale, generator)[0]


class MultiheadAttention(Module):
    """Multi-head attention: ``MultiHead(Q, K, V) = Concat(head_1 … head_h) W_O + b_O`` with
    ``head_i = softmax((Q W_Q^i)(K W_K^i)ᵀ / √d_h + M) (V W_V^i)`` and d_h = E / h.

    Parameters follow PyTorch: ``in_proj_weight`` (3E, E) stacks W_Q, W_K, W_V as rows (with
    ``in_proj_bias`` (3E,)), or, when ``kdim``/``vdim`` differ from E, ``q_proj_weight``
    (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``out_proj`` is a
    ``Linear(E, E)``. A PyTorch ``state_dict`` therefore loads unchanged. Initialisation as
    PyTorch: Xavier-uniform projections, zero biases, ``out_proj.weight`` as ``Linear``.

    Args:
        embed_dim: model width E.
        num_heads: heads h; E must be divisible by h.
        dropout: dropout on the attention weights during training.
        bias: learn the projection biases.
        kdim, vdim: feature sizes of key and value (E when None).
        batch_first: (batch, seq, feature) inputs and outputs instead of (seq, batch, feature).
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the initial weights and the
            dropout masks. Not part of the saved configuration.

    Forward:
        ``forward(query, key, value, key_padding_mask=None, need_weights=True,
        attn_mask=None, average_attn_weights=True, is_causal=False)``.
        ``key_padding_mask`` (B, S): True (or a float to add) for keys to ignore, e.g.
        padding. ``attn_mask`` (L, S) or (B·h, L, S): True where query i must not attend to
        key j, or floats to add. ``is_causal`` masks the keys after each query (alone, or
        combined with the other masks).

    Shape:
        - query (L, B, E), key (S, B, kdim), value (S, B, vdim); batch-first (B, L, E) …;
          unbatched (L, E) ….
        - output (L, B, E) (batch-first (B, L, E)); weights (B, L, S) averaged over heads,
          or (B, h, L, S) with ``average_attn_weights=False``; None unless ``need_weights``.

    Returns:
        ``(output, weights)``.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> mha = cr.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = cr.tensor(np.zeros((2, 5, 16), dtype=np.float32))
        >>> out, weights = mha(x, x, x, is_causal=True)
        >>> out.shape, weights.shape
        ((2, 5, 16), (2, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 dtype=np.float32, generator=None):
        super().__init__()
        if num_heads < 1 or embed_dim < 1 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                f"num_heads ({num_heads})"
            )
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self._same_dims = self.kdim == embed_dim and self.vdim == embed_dim
        # An int seed becomes one generator now, so successive dropout masks differ.
        self.generator = None if generator is None else resolve(generator)
        gen = resolve(self.generator)
        if self._same_dims:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            init.xavier_uniform_(self.in_proj_weight, generator=gen)
        else:
            for name, width in (("q", embed_dim), ("k", self.kdim), ("v", self.vdim)):
                weight = Parameter(np.empty((embed_dim, width), dtype=dtype))
                init.xavier_uniform_(weight, generator=gen)
                setattr(self, f"{name}_proj_weight", weight)
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=gen)
        if bias:
            init.zeros_(self.out_proj.bias)

    # ------------------------------------------------------------------ projections
    def _projections(self, query, key, value):
        """Q, K, V by the input projections; one GEMM when query, key and value are one
        tensor (self-attention)."""
        e, b = self.embed_dim, self.in_proj_bias
        if self._same_dims and query is key and key is value:
            qkv = F.linear(query, self.in_proj_weight, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        if self._same_dims:
            w = self.in_proj_weight
            weights = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        return tuple(F.linear(x, w, bb) for x, w, bb in zip((query, key, value), weights, biases))

    def _check(self, query, key, value) -> bool:
        """Validate shapes; whether the inputs have a batch axis."""
        name = "MultiheadAttention"
        for x, what in ((query, "query"), (key, "key"), (value, "value")):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
            if x.dtype.kind != "f":
                raise TypeError(f"{name}: {what} must be floating-point, got dtype {x.dtype}")
        batched = query.ndim == 3
        layout = ("(batch, seq, {})" if self.batch_first else "(seq, batch, {})") if batched \
            else "(seq, {})"
        for x, what, width in ((query, "query", self.embed_dim), (key, "key", self.kdim),
                               (value, "value", self.vdim)):
            if x.ndim != query.ndim or x.ndim not in (2, 3) or x.shape[-1] != width:
                raise ValueError(
                    f"{name}: expected {what} of shape {layout.format(width)}, got {x.shape} "
                    f"(query {query.shape})"
                )
        batch_axis = 0 if self.batch_first else 1
        if key.shape[:-1] != value.shape[:-1] or (
                batched and query.shape[batch_axis] != key.shape[batch_axis]):
            raise ValueError(
                f"{name}: query {query.shape}, key {key.shape} and value {value.shape} disagree "
                "on the batch size or the key and value lengths"
            )
        return batched

    def _masks(self, key_padding_mask, attn_mask, is_causal, batch, length, source, dtype):
        """Combine the three masks into (blocked (B, h|1, L, S) bools, additive floats)."""
        name = "MultiheadAttention"
        heads = self.num_heads
        blocked, additive = _split_mask(attn_mask, dtype, False, "attn_mask")
        mask_array = blocked if blocked is not None else additive
        if mask_array is not None:
            if mask_array.shape == (length, source):
                mask_array = mask_array[None, None]
            elif mask_array.shape == (batch * heads, length, source):
                mask_array = mask_array.reshape(batch, heads, length, source)
            else:
                raise ValueError(
                    f"{name}: attn_mask must have shape (L, S) = {(length, source)} or "
                    f"(B·num_heads, L, S) = {(batch * heads, length, source)}, got "
                    f"{np.shape(attn_mask)}"
                )
            blocked, additive = (mask_array, None) if blocked is not None else (None, mask_array)
        if is_causal:
            causal = causal_mask(length, source)[None, None]
            blocked = causal if blocked is None else blocked | causal
        padding_blocked, padding_add = _split_mask(key_padding_mask, dtype, False,
                                                   "key_padding_mask")
        padding = padding_blocked if padding_blocked is not None else padding_add
        if padding is not None:
            if padding.shape != (batch, source):
                raise ValueError(
                    f"{name}: key_padding_mask must have shape (B, S) = {(batch, source)}, got "
                    f"{padding.shape}"
                )
            padding = padding[:, None, None, :]
            if padding_blocked is not None:
                blocked = padding if blocked is None else blocked | padding
            else:
                additive = padding if additive is None else additive + padding
        return blocked, additive

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        batched = self._check(query, key, value)
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else np.asarray(
                getattr(key_padding_mask, "data", key_padding_mask))[None]
        elif self.batch_first:
            query, key, value = (x.transpose(1, 0, 2) for x in (query, key, value))
        length, batch, _ = query.shape
        source = key.shape[0]
        blocked, additive = self._masks(key_padding_mask, attn_mask, is_causal, batch, length,
                                        source, query.dtype)
        heads, head_dim = self.num_heads, self.head_dim
        # (seq, B, E) → (B, h, seq, d_h): each head attends independently in one batched matmul.
        q, k, v = (x.reshape(x.shape[0], batch, heads, head_dim).transpose(1, 2, 0, 3)
                   for x in self._projections(query, key, value))
        dropout = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, blocked, additive, dropout, 1 / math.sqrt(head_dim),
                               self.generator)
        out = out.transpose(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        out = self.out_proj(out)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights if batched else weights.squeeze(0))

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.batch_first:
            text += ", batch_first=True"
        return text
