"""Language-model training by truncated BPTT, and its evaluation with a carried state."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.text import char_lm
from chainrule.text import Vocabulary, evaluate_language_model, generate, train_language_model


def test_evaluation_carries_the_state_across_windows():
    model = char_lm((8,), 7, embedding_dim=3, hidden_size=5, generator=0)
    ids = np.random.default_rng(0).integers(0, 7, 301)
    logits, _ = model(ids[None, :-1])
    log_p = logits.data[0] - np.log(np.exp(logits.data[0]).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(300), ids[1:]].mean()
    for seq_len in (7, 64, 1000):  # windows of any length give the one-pass value
        got = evaluate_language_model(model, ids, batch_size=1, seq_len=seq_len)
        assert got == pytest.approx(expected, rel=1e-5)
    model.train()
    evaluate_language_model(model, ids)
    assert model.training  # the mode is restored


def test_training_learns_a_periodic_text_and_stops_on_time():
    text = "the quick brown fox jumps over the lazy dog. " * 60
    vocab = Vocabulary.build([text], level="char", pad_token=None)
    ids = vocab.encode(text)
    cr.manual_seed(0)
    model = char_lm((20,), len(vocab), embedding_dim=8, hidden_size=32)
    lines = []
    history = train_language_model(model, ids[:2000], ids[2000:], epochs=100, batch_size=8,
                                   seq_len=20, lr=1e-2, max_steps=150, eval_every=50, seed=0,
                                   print_fn=lines.append)
    assert history["steps"] == 150 and history["step"] == [50, 100, 150]
    assert len(lines) == 3 and "bits/token" in lines[-1]
    uniform = math.log(len(vocab))
    # Validation rows are short (21 characters), so their unpredictable first steps weigh.
    assert history["val_loss"][0] < uniform and history["val_loss"][-1] < 0.3
    assert history["loss"][-1] < history["loss"][0]
    sample = generate(model, vocab, "the quick ", length=30, temperature=0)
    assert sample == "brown fox jumps over the lazy "
    # A time limit stops after the first update that passes it.
    quick = train_language_model(model, ids, None, max_seconds=0.0, print_fn=None)
    assert quick["steps"] == 1 and math.isnan(quick["val_loss"][-1])


def test_training_errors():
    model = char_lm((4,), 5, embedding_dim=2, hidden_size=2, generator=0)
    with pytest.raises(ValueError, match="give no window of 64 x 100"):
        train_language_model(model, np.arange(50) % 5, print_fn=None)
