"""Sampling text from a language model: temperature, top-k, a seeded generator."""

from __future__ import annotations

import numpy as np

from ..random import resolve
from ..train import eval_mode
from .vocab import Vocabulary

__all__ = ["sample_logits", "generate"]


def sample_logits(logits, temperature: float = 1.0, top_k: int | None = None,
                  generator=None, exclude=()) -> np.ndarray:
    """Draw one class per row from ``softmax(logits / temperature)``, restricted to the
    ``top_k`` largest logits.

    ``temperature`` < 1 sharpens the distribution (safer, more repetitive text), > 1 flattens
    it; 0 takes the argmax. The arithmetic is float64 whatever the logits' dtype, and the draw
    is an inverse-CDF lookup of one uniform number per row, so a seed fixes the result.

    Args:
        logits: scores over the last axis.
        temperature: >= 0.
        top_k: keep only the k most likely classes (None: all).
        generator: ``numpy.random.Generator`` or int seed (the global generator if None).
        exclude: class ids never to draw (e.g. the padding token).

    Returns:
        int64 class ids.

    Shape:
        logits ``(*, V)`` → ids ``(*)``.

    Example:
        >>> sample_logits([[0.0, 5.0, 1.0]], temperature=0).tolist()
        [1]
        >>> sample_logits([[0.0, 5.0, 1.0]], top_k=1, generator=0).tolist()
        [1]
    """
    scores = np.array(getattr(logits, "data", logits), dtype=np.float64)
    if scores.ndim == 0 or scores.shape[-1] == 0:
        raise ValueError(f"sample_logits: expected logits of shape (*, V), got {scores.shape}")
    if temperature < 0:
        raise ValueError(f"sample_logits: temperature must be >= 0, got {temperature}")
    classes = scores.shape[-1]
    if top_k is not None and not 1 <= top_k:
        raise ValueError(f"sample_logits: top_k must be >= 1, got {top_k}")
    excluded = list(exclude)
    if excluded:
        if len(set(excluded)) >= classes:
            raise ValueError("sample_logits: every class is excluded")
        scores[..., excluded] = -np.inf
    if temperature == 0:
        return scores.argmax(axis=-1)
    if top_k is not None and top_k < classes:
        kth = np.partition(scores, classes - top_k, axis=-1)[..., classes - top_k, None]
        scores = np.where(scores >= kth, scores, -np.inf)
    weights = np.exp((scores - scores.max(axis=-1, keepdims=True)) / temperature)
    cumulative = np.cumsum(weights, axis=-1)
    draw = resolve(generator).random(scores.shape[:-1] + (1,)) * cumulative[..., -1:]
    return np.minimum((cumulative <= draw).sum(axis=-1), classes - 1).astype(np.int64)


def generate(model, vocabulary: Vocabulary, prompt: str = "", length: int = 200,
             temperature: float = 1.0, top_k: int | None = None, seed=None) -> str:
    """Continue ``prompt`` with ``length`` tokens sampled from a language model.

    The prompt is read in one forward pass; then each step feeds the last sampled token and
    the carried state back into the model (so a step costs one token's work, not the whole
    text's); the padding and unknown tokens are never drawn. An empty prompt starts from a
    newline. The model runs in evaluation mode without
    a graph and is returned to its previous mode.

    Args:
        model: maps ids ``(1, T)`` and a state (None at first) to ``(logits (1, T, V), state)``,
            as ``chainrule.models.text.CharLSTM`` does.
        vocabulary: the vocabulary the model was trained with.
        prompt: the text to continue.
        length: tokens to generate.
        temperature, top_k: see ``sample_logits``.
        seed: int or ``numpy.random.Generator`` for the draws (the global generator if None).

    Returns:
        the generated continuation (without the prompt).

    Example:
        >>> from chainrule.models.text import char_lm
        >>> vocab = Vocabulary.build(["abc"], level="char")
        >>> model = char_lm((2,), len(vocab), embedding_dim=4, hidden_size=8, generator=0)
        >>> len(generate(model, vocab, "ab", length=5, seed=0))
        5
    """
    if length < 0:
        raise ValueError(f"generate: length must be >= 0, got {length}")
    ids = vocabulary.encode(prompt or "\n")
    if ids.size == 0:
        raise ValueError(f"generate: the prompt {prompt!r} has no tokens")
    rng = resolve(seed)
    # The special tokens are never targets worth writing: no text is padding or "unknown".
    excluded = [i for i in (vocabulary.pad_id, vocabulary.unk_id) if i is not None]
    sampled: list[int] = []
    with eval_mode(model):
        logits, state = model(ids[None, :], None)
        while len(sampled) < length:
            token = int(sample_logits(logits.data[0, -1], temperature, top_k, rng, excluded))
            sampled.append(token)
            if len(sampled) < length:
                logits, state = model(np.array([[token]]), state)
    return vocabulary.decode(sampled)

