"""``MultiheadAttention`` (Vaswani et al., 2017), PyTorch's layer, over
``nn.functional.multi_head_attention_forward``; ``scaled_dot_product_attention`` and
``causal_mask`` are re-exported here from ``nn.functional``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..random import resolve
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.attention import causal_mask, scaled_dot_product_attention
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "causal_mask", "scaled_dot_product_attention"]


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

    # Set in __init__: one packed projection when the key and value widths are embed_dim,
    # three separate ones otherwise (PyTorch's names).
    in_proj_weight: Parameter
    q_proj_weight: Parameter
    k_proj_weight: Parameter
    v_proj_weight: Parameter
    in_proj_bias: Parameter | None

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
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

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | npt.ArrayLike | None = None,
                need_weights: bool = True, attn_mask: Tensor | npt.ArrayLike | None = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        projections: dict[str, Parameter | None]
        if self._same_dims:
            projections = {"in_proj_weight": self.in_proj_weight}
        else:
            projections = {"in_proj_weight": None, "q_proj_weight": self.q_proj_weight,
                           "k_proj_weight": self.k_proj_weight,
                           "v_proj_weight": self.v_proj_weight}
        result: tuple[Tensor, Tensor | None] = F.multi_head_attention_forward(
            query, key, value, self.num_heads, in_proj_bias=self.in_proj_bias,
            out_proj_weight=self.out_proj.weight, out_proj_bias=self.out_proj.bias,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            dropout_p=self.dropout, training=self.training,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
            batch_first=self.batch_first, generator=self.generator, **projections)
        return result

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.batch_first:
            text += ", batch_first=True"
        return text
