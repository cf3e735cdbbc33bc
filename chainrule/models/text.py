"""Text models over padded token ids: a bag of embeddings, a (bi)LSTM, a Transformer encoder,
and a character-level LSTM language model.

The classifiers take right-padded int64 ids ``(N, T)`` whose padding id is ``padding_idx``
(0, where ``chainrule.text.Vocabulary`` puts its padding token) and find each text's length
from it, so the padded steps never reach the result: the embedding's padding row is zero and
receives no gradient, the LSTM stops at each text's end, and attention and pooling skip them.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..ops import concatenate, where
from ..random import resolve
from ..tensor import Tensor

__all__ = [
    "BagOfEmbeddings", "LSTMClassifier", "TransformerClassifier", "CharLSTM", "masked_pool",
    "bow", "lstm", "transformer", "char_lm",
]

_POOLINGS = ("mean", "max", "last")


def _token_ids(module: nn.Module, ids) -> np.ndarray:
    """``ids`` as a 2-d integer array, or an error naming the model and what it got."""
    array = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{type(module).__name__}: expected integer token ids of shape (batch, seq), got "
            f"{array.dtype} array of shape {array.shape}"
        )
    return array


def _real_tokens(ids: np.ndarray, padding_idx: int) -> tuple[np.ndarray, np.ndarray]:
    """The (N, T) mask of real tokens and the (N,) lengths, at least 1: an empty text is read
    as one padding token, so every length-based layer has a step to stop at."""
    mask = ids != padding_idx
    mask[:, 0] |= ~mask.any(axis=1)
    return mask, mask.sum(axis=1)


def masked_pool(x: Tensor, mask: np.ndarray, how: str = "mean") -> Tensor:
    """Pool a padded sequence over time, counting only the steps where ``mask`` is True.

    ``mean``: ``Σ_t m_t x_t / Σ_t m_t``; ``max``: ``max_{t: m_t} x_t`` (the gradient goes to
    the maximum's step); ``last``: ``x_{ℓ-1}`` at each row's last real step ℓ - 1 (a right-
    padded mask).

    Shape:
        x ``(N, T, F)``; mask ``(N, T)`` bools, at least one True per row; output ``(N, F)``.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> x = cr.tensor(np.arange(6.0).reshape(1, 3, 2))
        >>> masked_pool(x, np.array([[True, True, False]])).tolist()
        [[1.0, 2.0]]
    """
    if how not in _POOLINGS:
        raise ValueError(f"masked_pool: how must be one of {_POOLINGS}, got {how!r}")
    if x.ndim != 3 or mask.shape != x.shape[:2]:
        raise ValueError(f"masked_pool: expected x (N, T, F) and mask (N, T), got {x.shape} and "
                         f"{mask.shape}")
    if how == "last":
        return x[np.arange(x.shape[0]), mask.sum(axis=1) - 1]
    keep = mask[:, :, None]
    if how == "max":
        lowest = Tensor(np.array(np.finfo(x.dtype).min, dtype=x.dtype))
        return where(keep, x, lowest).max(axis=1)
    counts = keep.sum(axis=1).astype(x.dtype)
    return where(keep, x, Tensor(np.zeros((), dtype=x.dtype))).sum(axis=1) / Tensor(counts)


def _check_pooling(owner: str, pooling: str) -> None:
    if pooling not in _POOLINGS:
        raise ValueError(f"{owner}: pooling must be one of {_POOLINGS}, got {pooling!r}")


class BagOfEmbeddings(nn.Module):
    """The mean of a text's word vectors, then a small MLP (fastText's idea):

        h = (1/ℓ) Σ_{t<ℓ} E[x_t];   logits = W₂ Dropout(ReLU(W₁ h + b₁)) + b₂

    Word order is ignored, which costs little for topics and makes it the fastest model here.

    Args:
        vocab_size: ids 0 … vocab_size-1.
        num_classes: outputs.
        embedding_dim: size of each word vector.
        hidden_size: width of the hidden layer (0: a linear classifier on the mean).
        dropout: dropout before the output layer (training only).
        padding_idx: the padding id.
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the initial weights and dropout.

    Shape:
        ids ``(N, T)`` int → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np
        >>> model = BagOfEmbeddings(100, 3, embedding_dim=8, hidden_size=16)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int = 64,
                 hidden_size: int = 64, dropout: float = 0.0, padding_idx: int = 0,
                 dtype=np.float32, generator=None):
        super().__init__()
        # One generator for all layers: an int seed given to each would repeat one stream.
        gen = None if generator is None else resolve(generator)
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx,
                                      dtype=dtype, generator=gen)
        layers: list[nn.Module] = []
        width = embedding_dim
        if hidden_size:
            layers += [nn.Linear(embedding_dim, hidden_size, dtype=dtype, generator=gen),
                       nn.ReLU()]
            width = hidden_size
        layers += [nn.Dropout(dropout, generator=gen),
                   nn.Linear(width, num_classes, dtype=dtype, generator=gen)]
        self.classifier = nn.Sequential(*layers)

    def forward(self, ids) -> Tensor:
        ids = _token_ids(self, ids)
        _, lengths = _real_tokens(ids, self.padding_idx)
        # The padding row of the table is zero, so the plain sum over time is the masked sum.
        total = self.embedding(ids).sum(axis=1)
        mean = total / Tensor(lengths[:, None].astype(total.dtype))
        return self.classifier(mean)


class LSTMClassifier(nn.Module):
    """Embedding, a (bidirectional) LSTM that stops at each text's end, pooling over time and
    a linear layer:

        o_t = [→h_t; ←h_t] = BiLSTM(E[x])_t;   logits = W Dropout(pool_{t<ℓ} o_t) + b

    ``pooling="last"`` uses the final states (the forward pass's at step ℓ-1, the backward
    pass's at step 0); ``"max"`` and ``"mean"`` pool the outputs of the real steps.

    Args:
        vocab_size, num_classes, embedding_dim, dropout, padding_idx, dtype, generator: as
            ``BagOfEmbeddings`` (dropout is on the embeddings and the pooled features).
        hidden_size: LSTM state size H per direction.
        num_layers: stacked LSTM layers.
        bidirectional: read the text both ways (features 2H).
        pooling: ``"last"``, ``"max"`` or ``"mean"``.

    Shape:
        ids ``(N, T)`` int → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np
        >>> model = LSTMClassifier(100, 3, embedding_dim=8, hidden_size=16)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int = 64,
                 hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = True,
                 pooling: str = "max", dropout: float = 0.0, padding_idx: int = 0,
                 dtype=np.float32, generator=None):
        super().__init__()
        gen = None if generator is None else resolve(generator)
        _check_pooling("LSTMClassifier", pooling)
        self.padding_idx, self.pooling = padding_idx, pooling
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx,
                                      dtype=dtype, generator=gen)
        self.dropout = nn.Dropout(dropout, generator=gen)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            bidirectional=bidirectional, dtype=dtype, generator=gen)
        features = hidden_size * (2 if bidirectional else 1)
        self.output = nn.Linear(features, num_classes, dtype=dtype, generator=gen)

    def forward(self, ids) -> Tensor:
        ids = _token_ids(self, ids)
        mask, lengths = _real_tokens(ids, self.padding_idx)
        outputs, (h_n, _) = self.lstm(self.dropout(self.embedding(ids)), lengths=lengths)
        if self.pooling == "last":
            # h_n is each text's state at its true end in both directions: the last layer's
            # rows are its forward (and backward) directions.
            directions = 2 if self.lstm.bidirectional else 1
            last = [h_n[-directions + d] for d in range(directions)]
            features = last[0] if directions == 1 else concatenate(last, axis=1)
        else:
            features = masked_pool(outputs, mask, self.pooling)
        return self.output(self.dropout(features))


class TransformerClassifier(nn.Module):
    """Embedding scaled by √d, sinusoidal positions, a Transformer encoder attending only to
    real tokens, pooling over them and a linear layer:

        z = Encoder(√d · E[x] + PE);   logits = W pool_{t<ℓ} z_t + b

    Args:
        vocab_size, num_classes, padding_idx, dtype, generator: as ``BagOfEmbeddings``.
        d_model: model width (the embedding size).
        nhead: attention heads.
        num_layers: encoder layers.
        dim_feedforward: hidden width of each layer's feed-forward network.
        dropout: dropout in the encoder and after the positional encoding.
        max_len: the longest text accepted.
        pooling: ``"mean"`` or ``"max"`` over the real tokens, or ``"last"``.

    Shape:
        ids ``(N, T)`` int, T <= max_len → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np
        >>> model = TransformerClassifier(100, 3, d_model=8, nhead=2, dim_feedforward=16)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int = 64, nhead: int = 4,
                 num_layers: int = 1, dim_feedforward: int = 128, dropout: float = 0.1,
                 max_len: int = 512, pooling: str = "mean", padding_idx: int = 0,
                 dtype=np.float32, generator=None):
        super().__init__()
        gen = None if generator is None else resolve(generator)
        _check_pooling("TransformerClassifier", pooling)
        self.padding_idx, self.pooling, self.scale = padding_idx, pooling, math.sqrt(d_model)
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx, dtype=dtype,
                                      generator=gen)
        # N(0, 1/d) entries: scaled by √d the embeddings match the unit-size position code.
        self.embedding.weight.data *= self.embedding.weight.dtype.type(1 / self.scale)
        self.positions = nn.PositionalEncoding(d_model, max_len=max_len, dropout=dropout,
                                               batch_first=True, generator=gen)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=dim_feedforward,
                                           dropout=dropout, batch_first=True, dtype=dtype,
                                           generator=gen)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.output = nn.Linear(d_model, num_classes, dtype=dtype, generator=gen)

    def forward(self, ids) -> Tensor:
        ids = _token_ids(self, ids)
        mask, _ = _real_tokens(ids, self.padding_idx)
        x = self.embedding(ids)
        x = self.positions(x * self.scale)
        z = self.encoder(x, src_key_padding_mask=~mask)
        return self.output(masked_pool(z, mask, self.pooling))


class CharLSTM(nn.Module):
    """A character-level language model: ``p(x_{t+1} | x_≤t) = softmax(W h_t + b)`` with
    ``h_t`` the state of a stacked LSTM reading the embedded characters.

    ``forward`` returns the logits and the final state; passing that state back continues the
    text where it stopped (training on consecutive windows, generation one character at a
    time).

    Args:
        vocab_size: characters in the vocabulary V.
        embedding_dim: size of each character's vector.
        hidden_size: LSTM state size H.
        num_layers: stacked LSTM layers.
        dropout: dropout on the LSTM's outputs (and between its layers) in training.
        dtype, generator: as ``BagOfEmbeddings``.

    Shape:
        ids ``(N, T)`` int; state ``(h, c)``, each ``(num_layers, N, H)``, or None for zeros
        → ``(logits (N, T, V), (h, c))``.

    Example:
        >>> import numpy as np
        >>> model = CharLSTM(30, embedding_dim=8, hidden_size=16)
        >>> logits, (h, c) = model(np.array([[3, 4, 5]]))
        >>> logits.shape, h.shape
        ((1, 3, 30), (1, 1, 16))
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 512,
                 num_layers: int = 1, dropout: float = 0.0, dtype=np.float32, generator=None):
        super().__init__()
        gen = None if generator is None else resolve(generator)
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, dtype=dtype, generator=gen)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout, dtype=dtype, generator=gen)
        self.dropout = nn.Dropout(dropout, generator=gen)
        self.output = nn.Linear(hidden_size, vocab_size, dtype=dtype, generator=gen)

    def forward(self, ids, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        ids = _token_ids(self, ids)
        outputs, state = self.lstm(self.embedding(ids), state)
        return self.output(self.dropout(outputs)), state


# ---------------------------------------------------------------------------- builders
def _vocab_size(name: str, vocab_size) -> int:
    if vocab_size is None:
        raise ValueError(f"model {name!r} reads token ids and needs vocab_size (the "
                         "vocabulary's size)")
    return int(vocab_size)


def bow(input_shape: tuple, num_classes: int, vocab_size: int | None = None, **options
        ) -> BagOfEmbeddings:
    """``BagOfEmbeddings`` for ids of shape ``(N, *input_shape)``."""
    return BagOfEmbeddings(_vocab_size("bow", vocab_size), num_classes, **options)


def lstm(input_shape: tuple, num_classes: int, vocab_size: int | None = None, **options
         ) -> LSTMClassifier:
    """``LSTMClassifier`` for ids of shape ``(N, *input_shape)``."""
    return LSTMClassifier(_vocab_size("lstm", vocab_size), num_classes, **options)


def transformer(input_shape: tuple, num_classes: int, vocab_size: int | None = None, **options
                ) -> TransformerClassifier:
    """``TransformerClassifier`` accepting texts as long as ``input_shape[0]``."""
    options.setdefault("max_len", max(int(input_shape[0]), 1))
    return TransformerClassifier(_vocab_size("transformer", vocab_size), num_classes, **options)


def char_lm(input_shape: tuple, num_classes: int, vocab_size: int | None = None, **options
            ) -> CharLSTM:
    """``CharLSTM`` predicting ``num_classes`` characters (the vocabulary's size)."""
    if vocab_size is not None and vocab_size != num_classes:
        raise ValueError(f"model 'char-lm' predicts its own inputs: vocab_size ({vocab_size}) "
                         f"and num_classes ({num_classes}) must agree")
    return CharLSTM(num_classes, **options)
