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
from ..backend import array_module, asarray
from ..random import resolve
from ..tensor import Tensor, concatenate, where

__all__ = [
    "BagOfEmbeddings", "LSTMClassifier", "TransformerClassifier", "CharLSTM", "masked_pool",
    "bow", "lstm", "transformer", "char_lm",
]

_POOLINGS = ("mean", "max", "last")


def _token_ids(module: nn.Module, ids) -> np.ndarray:
    """``ids`` as a 2-d integer array, or an error naming the model and what it got."""
    array = asarray(ids.data if isinstance(ids, Tensor) else ids)
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{type(module).__name__}: expected integer token ids of shape (batch, seq), got "
            f"{array.dtype} array of shape {array.shape}"
        )
    return array


def _real_tokens(ids: np.ndarray, padding_idx: int) -> np.ndarray:
    """The (N, T) mask of real tokens, at least one per row: an empty text is read as one
    padding token, so every length-based layer has a step to stop at."""
    mask = ids != padding_idx
    mask[:, 0] |= ~mask.any(axis=1)
    return mask


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
        return x[array_module(mask).arange(x.shape[0]), mask.sum(axis=1) - 1]
    keep = mask[:, :, None]
    if how == "max":
        lowest = Tensor(array_module(mask).asarray(np.finfo(x.dtype).min, dtype=x.dtype))
        return where(keep, x, lowest).max(axis=1)
    counts = keep.sum(axis=1).astype(x.dtype)
    zero = Tensor(array_module(mask).zeros((), dtype=x.dtype))
    return where(keep, x, zero).sum(axis=1) / Tensor(counts)


def _check_pooling(owner: str, pooling: str) -> None:
    if pooling not in _POOLINGS:
        raise ValueError(f"{owner}: pooling must be one of {_POOLINGS}, got {pooling!r}")


class _TextModel(nn.Module):
    """Token ids in, the embedded sequence and its mask of real tokens out: the shared first
    step of the classifiers (padding found from the embedding's ``padding_idx``)."""

    stateless = True

    embedding: nn.Embedding

    def _embed(self, ids) -> tuple[Tensor, np.ndarray]:
        ids = _token_ids(self, ids)
        padding_idx = self.embedding.padding_idx
        if padding_idx is None:
            return self.embedding(ids), array_module(ids).ones(ids.shape, dtype=bool)
        mask = _real_tokens(ids, padding_idx)
        # Steps that are padding in every text change nothing: drop them, since the LSTM's
        # time and attention's (T²) grow with the padded length.
        steps = int(array_module(mask).flatnonzero(mask.any(axis=0))[-1]) + 1
        return self.embedding(ids[:, :steps]), mask[:, :steps]


def _check_batch_first(owner: str, module: nn.Module, what: str) -> None:
    if not getattr(module, "batch_first", False):
        raise ValueError(f"{owner}: the {what} must be built with batch_first=True (the model "
                         "reads (batch, seq) ids)")


class BagOfEmbeddings(_TextModel):
    """The mean of a text's word vectors, then a classifier (fastText):

        h = (1/ℓ) Σ_{t<ℓ} E[x_t];   logits = classifier(h)

    Word order is ignored, which costs little for topics and makes it the fastest model here.
    Build it with ``bow(...)`` (``cr.models.build("bow", ...)``), or from the parts.

    Args:
        embedding: an ``Embedding`` whose ``padding_idx`` marks padding (None: no padding).
        classifier: maps the (N, embedding_dim) means to logits: a ``Linear`` (fastText) or a
            small MLP.

    Shape:
        ids ``(N, T)`` int → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.models.build("bow", (3,), 3, vocab_size=100, embedding_dim=8)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, embedding: nn.Embedding, classifier: nn.Module):
        super().__init__()
        self.embedding, self.classifier = embedding, classifier

    def forward(self, ids) -> Tensor:
        embedded, mask = self._embed(ids)
        # Masked even though the padding row starts at zero: a pretrained table may not.
        return self.classifier(masked_pool(embedded, mask, "mean"))


class LSTMClassifier(_TextModel):
    """Embedding, a (bidirectional) LSTM that stops at each text's end, pooling over time and
    a linear layer:

        o_t = [→h_t; ←h_t] = BiLSTM(E[x])_t;   logits = W Dropout(pool_{t<ℓ} o_t) + b

    ``pooling="last"`` uses the final states (the forward pass's at step ℓ-1, the backward
    pass's at step 0); ``"max"`` and ``"mean"`` pool the outputs of the real steps. Build it
    with ``lstm(...)``, or from the parts.

    Args:
        embedding: an ``Embedding`` whose ``padding_idx`` marks padding.
        lstm: an ``LSTM`` with ``batch_first=True`` reading the embeddings.
        output: maps the pooled features (``lstm``'s output size) to logits.
        pooling: ``"last"``, ``"max"`` or ``"mean"``.
        dropout: dropout on the embeddings and on the pooled features (training only).

    Shape:
        ids ``(N, T)`` int → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.models.build("lstm", (3,), 3, vocab_size=100, hidden_size=16)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, embedding: nn.Embedding, lstm: nn.LSTM, output: nn.Module,
                 pooling: str = "max", dropout: float = 0.0):
        super().__init__()
        _check_pooling("LSTMClassifier", pooling)
        _check_batch_first("LSTMClassifier", lstm, "LSTM")
        self.pooling = pooling
        self.embedding, self.lstm, self.output = embedding, lstm, output
        self.dropout = nn.Dropout(dropout, generator=lstm.generator)

    def forward(self, ids) -> Tensor:
        embedded, mask = self._embed(ids)
        outputs, (h_n, _) = self.lstm(self.dropout(embedded), lengths=mask.sum(axis=1))
        if self.pooling == "last":
            # h_n is each text's state at its true end in both directions: the last layer's
            # rows are its forward (and backward) directions.
            directions = 2 if self.lstm.bidirectional else 1
            last = [h_n[-directions + d] for d in range(directions)]
            features = last[0] if directions == 1 else concatenate(last, axis=1)
        else:
            features = masked_pool(outputs, mask, self.pooling)
        return self.output(self.dropout(features))


class TransformerClassifier(_TextModel):
    """Embedding scaled by √d, sinusoidal positions, a Transformer encoder attending only to
    real tokens, pooling over them and a linear layer:

        z = Encoder(√d · E[x] + PE);   logits = W pool_{t<ℓ} z_t + b

    Build it with ``transformer(...)``, or from the parts.

    Args:
        embedding: an ``Embedding`` of width d whose ``padding_idx`` marks padding.
        positions: a ``PositionalEncoding(d, batch_first=True)`` (its ``max_len`` is the
            longest text accepted).
        encoder: a ``TransformerEncoder`` (or layer) of batch-first layers of width d.
        output: maps the pooled (N, d) features to logits.
        pooling: ``"mean"`` or ``"max"`` over the real tokens, or ``"last"``.

    Shape:
        ids ``(N, T)`` int, T <= max_len → logits ``(N, num_classes)``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.models.build("transformer", (3,), 3, vocab_size=100, d_model=8, nhead=2)
        >>> model(np.array([[5, 7, 0], [9, 0, 0]])).shape
        (2, 3)
    """

    def __init__(self, embedding: nn.Embedding, positions: nn.PositionalEncoding,
                 encoder: nn.Module, output: nn.Module, pooling: str = "mean"):
        super().__init__()
        _check_pooling("TransformerClassifier", pooling)
        _check_batch_first("TransformerClassifier", positions, "PositionalEncoding")
        layers = getattr(encoder, "layers", [encoder])
        _check_batch_first("TransformerClassifier", layers[0], "encoder")
        self.pooling, self.scale = pooling, math.sqrt(embedding.embedding_dim)
        self.embedding, self.positions = embedding, positions
        self.encoder, self.output = encoder, output

    def forward(self, ids) -> Tensor:
        embedded, mask = self._embed(ids)
        z = self.encoder(self.positions(embedded * self.scale), src_key_padding_mask=~mask)
        return self.output(masked_pool(z, mask, self.pooling))


class CharLSTM(nn.Module):
    """A character-level language model: ``p(x_{t+1} | x_≤t) = softmax(W h_t + b)`` with
    ``h_t`` the state of a stacked LSTM reading the embedded characters.

    ``forward`` returns the logits and the final state; passing that state back continues the
    text where it stopped (training on consecutive windows, generation one character at a
    time). Build it with ``char_lm(...)``, or from the parts.

    Args:
        embedding: an ``Embedding`` of the V characters.
        lstm: an ``LSTM`` with ``batch_first=True`` reading the embeddings.
        output: maps the LSTM's outputs to V logits.
        dropout: dropout on the LSTM's outputs (training only).

    Shape:
        ids ``(N, T)`` int; state ``(h, c)``, each ``(num_layers, N, H)``, or None for zeros
        → ``(logits (N, T, V), (h, c))``.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.models.build("char-lm", (3,), 30, embedding_dim=8, hidden_size=16)
        >>> logits, (h, c) = model(np.array([[3, 4, 5]]))
        >>> logits.shape, h.shape
        ((1, 3, 30), (1, 1, 16))
    """

    stateless = True

    def __init__(self, embedding: nn.Embedding, lstm: nn.LSTM, output: nn.Module,
                 dropout: float = 0.0):
        super().__init__()
        _check_batch_first("CharLSTM", lstm, "LSTM")
        self.embedding, self.lstm, self.output = embedding, lstm, output
        self.dropout = nn.Dropout(dropout, generator=lstm.generator)

    @property
    def vocab_size(self) -> int:
        return self.embedding.num_embeddings

    def forward(self, ids, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        ids = _token_ids(self, ids)
        outputs, state = self.lstm(self.embedding(ids), state)
        return self.output(self.dropout(outputs)), state


# ---------------------------------------------------------------------------- builders
# The models take their layers as arguments, so a saved architecture describes each layer on
# its own (the file check bounds every layer's sizes by the weights it stores).
def _vocab_size(name: str, vocab_size) -> int:
    if vocab_size is None:
        raise ValueError(f"model {name!r} reads token ids and needs vocab_size (the "
                         "vocabulary's size)")
    return int(vocab_size)


def bow(input_shape: tuple, num_classes: int, vocab_size: int | None = None,
        embedding_dim: int = 64, hidden_size: int = 0, dropout: float = 0.0,
        padding_idx: int = 0, dtype=np.float32, generator=None) -> BagOfEmbeddings:
    """``BagOfEmbeddings``: ``Embedding(vocab_size, embedding_dim)``, then ``Dropout →
    Linear`` (fastText), or with a ``hidden_size`` ``Linear → ReLU → Dropout → Linear``.

    Without the hidden layer the logits are linear in the text's word frequencies: this is
    multinomial logistic regression on the bag of words (with a weight matrix of rank at most
    ``embedding_dim``), which generalised better on BBC News than the hidden layer did.

    Args:
        input_shape: ``(T,)`` of the padded ids (any T works).
        num_classes: outputs.
        vocab_size: ids 0 … vocab_size-1.
        embedding_dim, hidden_size, dropout: sizes and dropout.
        padding_idx: the padding id.
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the weights and dropout.
    """
    gen = None if generator is None else resolve(generator)
    embedding = nn.Embedding(_vocab_size("bow", vocab_size), embedding_dim,
                             padding_idx=padding_idx, dtype=dtype, generator=gen)
    layers: list[nn.Module] = []
    width = embedding_dim
    if hidden_size:
        layers += [nn.Linear(embedding_dim, hidden_size, dtype=dtype, generator=gen), nn.ReLU()]
        width = hidden_size
    layers += [nn.Dropout(dropout, generator=gen),
               nn.Linear(width, num_classes, dtype=dtype, generator=gen)]
    return BagOfEmbeddings(embedding, nn.Sequential(*layers))


def lstm(input_shape: tuple, num_classes: int, vocab_size: int | None = None,
         embedding_dim: int = 64, hidden_size: int = 64, num_layers: int = 1,
         bidirectional: bool = True, pooling: str = "max", dropout: float = 0.0,
         padding_idx: int = 0, dtype=np.float32, generator=None) -> LSTMClassifier:
    """``LSTMClassifier``: ``Embedding(vocab_size, embedding_dim)``, ``LSTM(embedding_dim,
    hidden_size, num_layers, bidirectional)``, pooling, ``Linear``; arguments as ``bow``."""
    gen = None if generator is None else resolve(generator)
    embedding = nn.Embedding(_vocab_size("lstm", vocab_size), embedding_dim,
                             padding_idx=padding_idx, dtype=dtype, generator=gen)
    recurrent = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                        bidirectional=bidirectional, dtype=dtype, generator=gen)
    features = hidden_size * (2 if bidirectional else 1)
    output = nn.Linear(features, num_classes, dtype=dtype, generator=gen)
    return LSTMClassifier(embedding, recurrent, output, pooling=pooling, dropout=dropout)


def transformer(input_shape: tuple, num_classes: int, vocab_size: int | None = None,
                d_model: int = 64, nhead: int = 4, num_layers: int = 1,
                dim_feedforward: int = 128, dropout: float = 0.1, max_len: int | None = None,
                pooling: str = "mean", padding_idx: int = 0, dtype=np.float32,
                generator=None) -> TransformerClassifier:
    """``TransformerClassifier`` with ``num_layers`` post-norm encoder layers of width
    ``d_model``, accepting texts up to ``max_len`` tokens (default ``input_shape[0]``);
    other arguments as ``bow``."""
    gen = None if generator is None else resolve(generator)
    embedding = nn.Embedding(_vocab_size("transformer", vocab_size), d_model,
                             padding_idx=padding_idx, dtype=dtype, generator=gen)
    # N(0, 1/d) entries: scaled by √d the embeddings match the unit-size position code.
    embedding.weight.data *= embedding.weight.dtype.type(1 / math.sqrt(d_model))
    positions = nn.PositionalEncoding(d_model, max_len=max_len or max(int(input_shape[0]), 1),
                                      dropout=dropout, batch_first=True, generator=gen)
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=dim_feedforward,
                                       dropout=dropout, batch_first=True, dtype=dtype,
                                       generator=gen)
    encoder = nn.TransformerEncoder(layer, num_layers)
    output = nn.Linear(d_model, num_classes, dtype=dtype, generator=gen)
    return TransformerClassifier(embedding, positions, encoder, output, pooling=pooling)


def char_lm(input_shape: tuple, num_classes: int, vocab_size: int | None = None,
            embedding_dim: int = 64, hidden_size: int = 512, num_layers: int = 1,
            dropout: float = 0.0, dtype=np.float32, generator=None) -> CharLSTM:
    """``CharLSTM`` predicting ``num_classes`` characters (the vocabulary's size V):
    ``Embedding(V, embedding_dim)``, ``LSTM(embedding_dim, hidden_size, num_layers)`` with
    ``dropout`` between layers and on its outputs, ``Linear(hidden_size, V)``."""
    if vocab_size is not None and vocab_size != num_classes:
        raise ValueError(f"model 'char-lm' predicts its own inputs: vocab_size ({vocab_size}) "
                         f"and num_classes ({num_classes}) must agree")
    gen = None if generator is None else resolve(generator)
    embedding = nn.Embedding(num_classes, embedding_dim, dtype=dtype, generator=gen)
    recurrent = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                        dropout=dropout, dtype=dtype, generator=gen)
    output = nn.Linear(hidden_size, num_classes, dtype=dtype, generator=gen)
    return CharLSTM(embedding, recurrent, output, dropout=dropout)
