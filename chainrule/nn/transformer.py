"""Sinusoidal ``PositionalEncoding`` and the Transformer encoder (Vaswani et al., 2017):
``TransformerEncoderLayer`` and a stack of them, ``TransformerEncoder``, with PyTorch's names."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import numpy.typing as npt

from ..random import resolve
from ..tensor import Tensor
from .activation import get_activation
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["PositionalEncoding", "TransformerEncoder", "TransformerEncoderLayer"]


class PositionalEncoding(Module):
    """Adds the sinusoidal position code of "Attention Is All You Need", then dropout:

        PE[pos, 2i] = sin(pos / 10000^(2i/d)),   PE[pos, 2i+1] = cos(pos / 10000^(2i/d))

    Each dimension pair is a sinusoid of its own wavelength (2π … 10000·2π), so a fixed offset
    between positions is a linear map of the code. Nothing is learned and nothing is saved in
    ``state_dict``; the table is computed once per dtype, in float64, then cast.

    Args:
        d_model: features per position.
        max_len: longest sequence accepted.
        dropout: dropout probability after adding the code (training only).
        batch_first: inputs are (batch, seq, d_model) rather than (seq, batch, d_model).
        generator: ``numpy.random.Generator`` or int seed for the dropout masks.

    Shape:
        - Input: (L, B, d_model), or (B, L, d_model) with ``batch_first``; output: the same.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> pe = cr.nn.PositionalEncoding(4)
        >>> pe(cr.tensor(np.zeros((3, 1, 4), dtype=np.float32))).shape
        (3, 1, 4)
        >>> pe.table()[1].round(3).tolist()   # position 1: sin 1, cos 1, sin 0.01, cos 0.01
        [0.841, 0.54, 0.01, 1.0]
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0,
                 batch_first: bool = False, generator: np.random.Generator | int | None = None):
        super().__init__()
        if d_model < 1 or max_len < 1:
            raise ValueError(
                f"PositionalEncoding: d_model and max_len must be >= 1, got {d_model}, {max_len}")
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout, generator=generator)
        # dtype -> (max_len, d_model) table, computed on first use
        self._tables: dict[np.dtype[Any], np.ndarray] = {}

    def table(self, dtype: npt.DTypeLike = np.float64) -> np.ndarray:
        """The (max_len, d_model) code in ``dtype``."""
        key = np.dtype(dtype)
        if key not in self._tables:
            position = np.arange(self.max_len, dtype=np.float64)[:, None]
            frequency = np.exp(np.arange(0, self.d_model, 2) * (-np.log(10000.0) / self.d_model))
            angles = position * frequency
            code = np.empty((self.max_len, self.d_model))
            code[:, 0::2] = np.sin(angles)
            code[:, 1::2] = np.cos(angles[:, :self.d_model // 2])
            self._tables[key] = code.astype(key)
        return self._tables[key]

    def forward(self, x: Tensor) -> Tensor:
        layout = "(batch, seq, d_model)" if self.batch_first else "(seq, batch, d_model)"
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"PositionalEncoding: expected input of shape {layout} with d_model="
                f"{self.d_model}, got {getattr(x, 'shape', type(x).__name__)}"
            )
        length = x.shape[1] if self.batch_first else x.shape[0]
        if length > self.max_len:
            raise ValueError(
                f"PositionalEncoding: sequence of length {length} exceeds max_len={self.max_len}")
        code = self.table(x.dtype)[:length]
        out: Tensor = self.dropout(x + Tensor(code if self.batch_first else code[:, None, :]))
        return out

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each wrapped in a residual connection and
    layer normalisation (PyTorch's ``TransformerEncoderLayer``):

        post-norm (default):  x = LN₁(x + SA(x));       x = LN₂(x + FF(x))
        pre-norm (norm_first): x = x + SA(LN₁(x));       x = x + FF(LN₂(x))

    with ``SA(x) = Dropout(MultiheadAttention(x, x, x))`` and
    ``FF(x) = Dropout(W₂ Dropout(act(W₁ x + b₁)) + b₂)``. Submodule names are PyTorch's
    (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``), so its ``state_dict``
    loads unchanged.

    Args:
        d_model: model width.
        nhead: attention heads (d_model must be divisible by it).
        dim_feedforward: hidden width of the feed-forward network.
        dropout: dropout probability (attention weights, feed-forward, residual branches).
        activation: name of the feed-forward activation ("relu", "gelu", …).
        layer_norm_eps: ε of both layer norms.
        batch_first: (batch, seq, feature) inputs instead of (seq, batch, feature).
        norm_first: pre-norm (more stable to train deep stacks) instead of post-norm.
        bias: learn biases in the linear layers and layer norms.
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the initial weights and dropout.

    Forward:
        ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)`` with the
        masks of ``MultiheadAttention`` (``src_mask`` is its ``attn_mask``).

    Shape:
        - src: (S, B, d_model), or (B, S, d_model) with ``batch_first``; output: the same.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> layer = cr.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        >>> layer(cr.tensor(np.zeros((2, 5, 16), dtype=np.float32))).shape
        (2, 5, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        gen = None if generator is None else resolve(generator)
        self.batch_first, self.norm_first = batch_first, norm_first
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype, generator=gen)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, generator=gen)
        self.dropout = Dropout(dropout, generator=gen)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, generator=gen)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, generator=gen)
        self.dropout2 = Dropout(dropout, generator=gen)
        self.activation = get_activation(activation)

    def _attention_block(self, x: Tensor, mask: Tensor | npt.ArrayLike | None,
                         padding: Tensor | npt.ArrayLike | None, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, attn_mask=mask,
                                need_weights=False, is_causal=is_causal)
        dropped: Tensor = self.dropout1(out)
        return dropped

    def _feed_forward_block(self, x: Tensor) -> Tensor:
        out: Tensor = self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
        return out

    def forward(self, src: Tensor, src_mask: Tensor | npt.ArrayLike | None = None,
                src_key_padding_mask: Tensor | npt.ArrayLike | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._attention_block(self.norm1(x), src_mask, src_key_padding_mask,
                                          is_causal)
            return x + self._feed_forward_block(self.norm2(x))
        x = self.norm1(x + self._attention_block(x, src_mask, src_key_padding_mask, is_causal))
        out: Tensor = self.norm2(x + self._feed_forward_block(x))
        return out


def _copy_with_own_generators(module: Module) -> Module:
    """A deep copy whose dropout generators are fresh children of the original's: a plain
    copy would replay the same dropout masks in every layer of the stack."""
    twin = copy.deepcopy(module)
    children: dict[int, np.random.Generator] = {}
    for original, copied in zip(module.modules(), twin.modules()):
        generator = getattr(original, "generator", None)
        if isinstance(generator, np.random.Generator):
            if id(generator) not in children:
                children[id(generator)] = generator.spawn(1)[0]
            copied.generator = children[id(generator)]
    return twin


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (each with its own weights, all
    starting equal, as in PyTorch), then an optional final ``norm``.

    Args:
        encoder_layer: the layer to copy (e.g. a ``TransformerEncoderLayer``).
        num_layers: number of copies, registered as ``layers.0`` … (PyTorch's names).
        norm: a module applied to the last layer's output (e.g. ``LayerNorm`` for pre-norm
            stacks), or None.

    Forward:
        ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)``.

    Shape:
        - src: as the layer takes it; output: the same.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> layer = cr.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
        >>> encoder = cr.nn.TransformerEncoder(layer, num_layers=3)
        >>> encoder(cr.tensor(np.zeros((4, 2, 8), dtype=np.float32))).shape
        (4, 2, 8)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be >= 1, got {num_layers}")
        self.num_layers = num_layers
        self.layers = ModuleList([_copy_with_own_generators(encoder_layer)
                                  for _ in range(num_layers)])
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | npt.ArrayLike | None = None,
                src_key_padding_mask: Tensor | npt.ArrayLike | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        return x if self.norm is None else self.norm(x)
