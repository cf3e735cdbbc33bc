"""Tokenisation: a text becomes a list of tokens (words and punctuation, or characters)."""

from __future__ import annotations

import re

__all__ = ["word_tokenize", "char_tokenize", "tokenizer"]

# A word is a run of letters/digits/underscores, keeping inner apostrophes ("don't", "king's")
# and inner hyphens ("self-driving") so that common compounds stay one token; every other
# visible character (punctuation, symbols) is a token of its own. Whitespace separates tokens.
_WORD = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")


def word_tokenize(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into words and punctuation with one regular expression.

    Args:
        text: the text.
        lower: lower-case it first (so "The" and "the" share a token).

    Returns:
        the tokens in order.

    Example:
        >>> word_tokenize("Don't stop: self-driving cars, 2 of them!")
        ["don't", 'stop', ':', 'self-driving', 'cars', ',', '2', 'of', 'them', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize: expected a str, got {type(text).__name__}")
    return _WORD.findall(text.lower() if lower else text)


def char_tokenize(text: str, lower: bool = False) -> list[str]:
    """Every character is a token (spaces and newlines included).

    Example:
        >>> char_tokenize("To be")
        ['T', 'o', ' ', 'b', 'e']
    """
    if not isinstance(text, str):
        raise TypeError(f"char_tokenize: expected a str, got {type(text).__name__}")
    return list(text.lower() if lower else text)


_TOKENIZERS = {"word": word_tokenize, "char": char_tokenize}


def tokenizer(level: str):
    """The tokenising function for ``level`` ``"word"`` or ``"char"``."""
    if level not in _TOKENIZERS:
        raise ValueError(f"tokenizer: level must be 'word' or 'char', got {level!r}")
    return _TOKENIZERS[level]
