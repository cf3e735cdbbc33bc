"""``Vocabulary``: the two-way map between tokens and integer ids that embeddings index."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from .batch import pad_sequences
from .tokenize import tokenizer

__all__ = ["Vocabulary"]

_STATE_KEYS = ("level", "lower", "pad_token", "unk_token", "tokens")


class Vocabulary:
    """Tokens numbered 0 … V-1, special tokens first: the padding token (id 0), then the
    unknown token (id 1), then the corpus's tokens from the most to the least frequent.

    ``encode`` tokenises a text (words or characters, see ``level``) and maps every token to its
    id, tokens outside the vocabulary to the unknown token's id; ``decode`` maps ids back and
    joins them (with spaces for words, nothing for characters). The state (``to_dict``) is
    plain JSON, so it can travel with a saved model.

    Args:
        tokens: the ordinary tokens in id order (without the special tokens).
        level: ``"word"`` (``word_tokenize``) or ``"char"`` (every character a token).
        lower: lower-case texts before tokenising (default: True for words, False for chars).
        pad_token: the padding token (id 0), or None for a vocabulary without one.
        unk_token: the token for everything unseen, or None to make unseen tokens an error.

    **Shape**: ``encode`` gives ids ``(T,)``; ``encode_batch`` gives ``(N, T)`` and ``(N,)``.

    Example:
        >>> vocab = Vocabulary.build(["the cat sat", "the dog"], min_freq=1)
        >>> vocab.tokens
        ['<pad>', '<unk>', 'the', 'cat', 'dog', 'sat']
        >>> vocab.encode("The bird sat").tolist()
        [2, 1, 5]
        >>> vocab.decode([2, 3, 0, 0])
        'the cat'
    """

    def __init__(self, tokens: Sequence[str], level: str = "word", lower: bool | None = None,
                 pad_token: str | None = "<pad>", unk_token: str | None = "<unk>"):
        self._tokenize = tokenizer(level)
        self.level = level
        self.lower = (level == "word") if lower is None else bool(lower)
        self.pad_token, self.unk_token = pad_token, unk_token
        specials = [t for t in (pad_token, unk_token) if t is not None]
        self._tokens = [*specials, *tokens]
        self._index = {token: i for i, token in enumerate(self._tokens)}
        if len(self._index) != len(self._tokens):
            repeated = [t for t, n in Counter(self._tokens).items() if n > 1]
            raise ValueError(f"Vocabulary: tokens must be distinct, got repeats {repeated[:5]}")
        if not all(isinstance(t, str) for t in self._tokens):
            raise TypeError("Vocabulary: tokens must be strings")
        self._char_table: np.ndarray | None = None

    @classmethod
    def build(cls, texts: Iterable[str | Sequence[str]], level: str = "word",
              lower: bool | None = None, min_freq: int = 1, max_size: int | None = None,
              pad_token: str | None = "<pad>", unk_token: str | None = "<unk>") -> Vocabulary:
        """Count the tokens of ``texts`` and keep those seen at least ``min_freq`` times.

        Args:
            texts: strings (tokenised at ``level``) or lists of tokens already split.
            level, lower, pad_token, unk_token: as for the constructor.
            min_freq: the fewest occurrences a token needs to get an id of its own.
            max_size: the most ids in all, special tokens included (the most frequent win).

        Ties in frequency are ordered by the token itself, so the same texts always give the
        same ids.
        """
        if min_freq < 1:
            raise ValueError(f"Vocabulary.build: min_freq must be >= 1, got {min_freq}")
        vocab = cls((), level, lower, pad_token, unk_token)
        counts: Counter = Counter()
        for text in texts:
            counts.update(vocab._tokens_of(text))
        for special in vocab._tokens:
            counts.pop(special, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            room = max_size - len(vocab._tokens)
            if room < 0:
                raise ValueError(f"Vocabulary.build: max_size {max_size} leaves no room beside "
                                 f"the {len(vocab._tokens)} special tokens")
            kept = kept[:room]
        return cls(kept, level, vocab.lower, pad_token, unk_token)

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocabulary(level={self.level!r}, size={len(self)})"

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._tokens)

    @property
    def pad_id(self) -> int | None:
        return None if self.pad_token is None else self._index[self.pad_token]

    @property
    def unk_id(self) -> int | None:
        return None if self.unk_token is None else self._index[self.unk_token]

    def index(self, token: str) -> int:
        """The id of ``token`` (the unknown token's id for an unseen one)."""
        found = self._index.get(token, self.unk_id)
        if found is None:
            raise KeyError(f"Vocabulary: token {token!r} is unknown and there is no unk_token")
        return found

    # ------------------------------------------------------------------ encode / decode
    def _tokens_of(self, text) -> list[str]:
        if isinstance(text, str):
            return self._tokenize(text, lower=self.lower)
        if isinstance(text, (list, tuple)):
            return list(text)
        raise TypeError(f"Vocabulary: expected a text (str) or a list of tokens, got "
                        f"{type(text).__name__}")

    def encode(self, text: str | Sequence[str]) -> np.ndarray:
        """The int64 ids of a text's tokens (or of a list of tokens)."""
        if self.level == "char" and isinstance(text, str):
            return self._encode_chars(text.lower() if self.lower else text)
        unk = self.unk_id
        tokens = self._tokens_of(text)
        ids = [self._index.get(token, unk) for token in tokens]
        if unk is None and None in ids:
            missing = tokens[ids.index(None)]
            raise KeyError(f"Vocabulary.encode: token {missing!r} is unknown and there is no "
                           "unk_token")
        return np.array(ids, dtype=np.int64)

    def _encode_chars(self, text: str) -> np.ndarray:
        """Characters through a code-point table: one vectorised lookup instead of a dict
        lookup per character (the Shakespeare corpus has five million)."""
        if self._char_table is None:
            chars = [t for t in self._tokens if len(t) == 1]
            table = np.full(max((ord(c) for c in chars), default=0) + 1, -1, dtype=np.int64)
            for c in chars:
                table[ord(c)] = self._index[c]
            self._char_table = table
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        table = self._char_table
        ids = np.full(codes.shape, -1, dtype=np.int64)
        inside = codes < len(table)
        ids[inside] = table[codes[inside]]
        unseen = ids < 0
        if unseen.any():
            if self.unk_id is None:
                missing = text[int(np.flatnonzero(unseen)[0])]
                raise KeyError(f"Vocabulary.encode: character {missing!r} is unknown and there "
                               "is no unk_token")
            ids[unseen] = self.unk_id
        return ids

    def encode_batch(self, texts: Iterable[str | Sequence[str]], max_len: int | None = None,
                     truncating: str = "post") -> tuple[np.ndarray, np.ndarray]:
        """Encode and right-pad several texts: ``(ids (N, T), lengths (N,))`` (see
        ``pad_sequences``); needs a padding token."""
        if self.pad_id is None:
            raise ValueError("Vocabulary.encode_batch: this vocabulary has no pad_token")
        return pad_sequences([self.encode(t) for t in texts], max_len=max_len,
                             pad_id=self.pad_id, truncating=truncating)

    def decode(self, ids, skip_special: bool = True) -> str:
        """The text of ``ids`` (a sequence of ints), special tokens left out unless
        ``skip_special`` is False."""
        array = np.asarray(getattr(ids, "data", ids))
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(f"Vocabulary.decode: expected a 1-d sequence of integer ids, got "
                             f"{array.dtype} array of shape {array.shape}")
        if array.size and (array.min() < 0 or array.max() >= len(self)):
            raise IndexError(f"Vocabulary.decode: ids must lie in [0, {len(self)}), got "
                             f"{array.min()}..{array.max()}")
        specials = {self.pad_id, self.unk_id} - {None} if skip_special else set()
        tokens = [self._tokens[i] for i in array.tolist() if i not in specials]
        return ("" if self.level == "char" else " ").join(tokens)

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict:
        """A JSON-able state; ``Vocabulary.from_dict`` rebuilds the same vocabulary."""
        specials = sum(t is not None for t in (self.pad_token, self.unk_token))
        return {"level": self.level, "lower": self.lower, "pad_token": self.pad_token,
                "unk_token": self.unk_token, "tokens": self._tokens[specials:]}

    @classmethod
    def from_dict(cls, state: dict) -> Vocabulary:
        """Rebuild a vocabulary from ``to_dict``'s state (e.g. read from a model file)."""
        if not isinstance(state, dict) or set(state) != set(_STATE_KEYS):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"Vocabulary.from_dict: expected keys {sorted(_STATE_KEYS)}, "
                             f"got {got}")
        if not isinstance(state["tokens"], list):
            raise TypeError("Vocabulary.from_dict: 'tokens' must be a list of strings")
        return cls(state["tokens"], state["level"], state["lower"], state["pad_token"],
                   state["unk_token"])
