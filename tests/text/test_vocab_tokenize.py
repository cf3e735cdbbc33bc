"""Tokenisers and Vocabulary: counting, ordering, special tokens, encode/decode, JSON state."""

import json

import numpy as np
import pytest

from chainrule.text import Vocabulary, char_tokenize, tokenizer, word_tokenize

TEXTS = ["The cat sat on the mat.", "The dog sat; the cat ran!", "A bird"]


def test_word_tokenize_keeps_inner_apostrophes_and_hyphens():
    assert word_tokenize("It's a SELF-DRIVING car -- isn't it?") == [
        "it's", "a", "self-driving", "car", "-", "-", "isn't", "it", "?"]
    assert word_tokenize("Hello, World", lower=False) == ["Hello", ",", "World"]
    assert word_tokenize("café naïve 42") == ["café", "naïve", "42"]  # unicode letters
    assert word_tokenize("   ") == []
    with pytest.raises(TypeError, match="word_tokenize: expected a str, got bytes"):
        word_tokenize(b"text")


def test_char_tokenize_and_lookup():
    assert char_tokenize("Ab c\n") == ["A", "b", " ", "c", "\n"]
    assert char_tokenize("Ab", lower=True) == ["a", "b"]
    assert tokenizer("char") is char_tokenize and tokenizer("word") is word_tokenize
    with pytest.raises(ValueError, match="level must be 'word' or 'char', got 'byte'"):
        tokenizer("byte")


def test_build_orders_by_frequency_then_token_and_applies_min_freq():
    vocab = Vocabulary.build(TEXTS, min_freq=2)
    # the: 4, cat: 2, sat: 2 (ties by token); everything else once.
    assert vocab.tokens == ["<pad>", "<unk>", "the", "cat", "sat"]
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert len(vocab) == 5 and "cat" in vocab and "dog" not in vocab
    full = Vocabulary.build(TEXTS)
    assert len(full) == 2 + 12  # 12 distinct tokens incl. ".", ";", "!"
    capped = Vocabulary.build(TEXTS, max_size=4)
    assert capped.tokens == ["<pad>", "<unk>", "the", "cat"]
    with pytest.raises(ValueError, match="max_size 1 leaves no room"):
        Vocabulary.build(TEXTS, max_size=1)
    with pytest.raises(ValueError, match="min_freq must be >= 1"):
        Vocabulary.build(TEXTS, min_freq=0)


def test_encode_decode_unknown_and_specials():
    vocab = Vocabulary.build(TEXTS, min_freq=2)
    ids = vocab.encode("The CAT flew")
    assert ids.dtype == np.int64 and ids.tolist() == [2, 3, 1]
    assert vocab.encode(["sat", "zebra"]).tolist() == [4, 1]  # pre-split tokens
    assert vocab.decode([2, 3, 0, 0]) == "the cat"
    assert vocab.decode(np.array([2, 1, 0]), skip_special=False) == "the <unk> <pad>"
    assert vocab.index("sat") == 4 and vocab.index("never") == 1
    with pytest.raises(IndexError, match=r"ids must lie in \[0, 5\), got 2..9"):
        vocab.decode([2, 9])
    with pytest.raises(ValueError, match="1-d sequence of integer ids"):
        vocab.decode(np.array([1.5]))
    strict = Vocabulary(["a", "b"], unk_token=None)
    with pytest.raises(KeyError, match="token 'c' is unknown and there is no unk_token"):
        strict.encode("a c")
    with pytest.raises(KeyError, match="'z' is unknown"):
        strict.index("z")


def test_special_tokens_never_counted_and_repeats_refused():
    vocab = Vocabulary.build([["<unk>", "x", "<pad>", "x"]])
    assert vocab.tokens == ["<pad>", "<unk>", "x"]
    with pytest.raises(ValueError, match="tokens must be distinct"):
        Vocabulary(["a", "a"])
    with pytest.raises(TypeError, match="tokens must be strings"):
        Vocabulary(["a", 3])


def test_char_vocabulary_table_lookup_matches_token_lookup():
    text = "To be, or not to be: that is the question.\nÆ"
    vocab = Vocabulary.build([text[:-1]], level="char", pad_token=None)
    assert vocab.unk_id == 0 and vocab.pad_id is None and not vocab.lower
    fast = vocab.encode(text)  # the vectorised code-point path
    slow = vocab.encode(list(text))  # the per-token dict path
    np.testing.assert_array_equal(fast, slow)
    assert fast[-1] == vocab.unk_id  # 'Æ' was never seen
    assert vocab.decode(vocab.encode("to be")) == "to be"
    strict = Vocabulary.build(["ab"], level="char", pad_token=None, unk_token=None)
    with pytest.raises(KeyError, match="character 'z' is unknown"):
        strict.encode("abz")


def test_state_is_json_and_round_trips():
    for vocab in (Vocabulary.build(TEXTS, min_freq=2),
                  Vocabulary.build(["abc"], level="char", lower=True, pad_token=None)):
        state = json.loads(json.dumps(vocab.to_dict()))
        again = Vocabulary.from_dict(state)
        assert again == vocab and again.tokens == vocab.tokens and again.lower == vocab.lower
        assert again.encode("The Cat").tolist() == vocab.encode("The Cat").tolist()
    with pytest.raises(ValueError, match="expected keys"):
        Vocabulary.from_dict({"tokens": []})
    bad = Vocabulary(["a"]).to_dict() | {"tokens": "abc"}
    with pytest.raises(TypeError, match="'tokens' must be a list"):
        Vocabulary.from_dict(bad)


def test_encode_batch_pads_and_reports_lengths():
    vocab = Vocabulary.build(TEXTS)
    ids, lengths = vocab.encode_batch(["the cat", "a bird sat on the mat"], max_len=4)
    assert ids.shape == (2, 4) and lengths.tolist() == [2, 4]
    assert ids[0, 2:].tolist() == [0, 0] and vocab.decode(ids[1]) == "a bird sat on"
    ids, _ = vocab.encode_batch(["a bird sat on the mat"], max_len=2, truncating="pre")
    assert vocab.decode(ids[0]) == "the mat"
    with pytest.raises(ValueError, match="has no pad_token"):
        Vocabulary(["a"], pad_token=None).encode_batch(["a"])
