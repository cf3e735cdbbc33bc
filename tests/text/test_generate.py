"""Sampling: temperature, top-k, exclusions, seeds, and generation with a carried state."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.text import char_lm
from chainrule.text import Vocabulary, generate, sample_logits


def test_temperature_zero_is_argmax_and_top_k_one_is_argmax():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 2.9]], dtype=np.float32)
    assert sample_logits(logits, temperature=0).tolist() == [1, 0]
    for seed in range(5):
        assert sample_logits(logits, top_k=1, generator=seed).tolist() == [1, 0]


def test_samples_follow_the_tempered_softmax():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    draws = sample_logits(np.tile(logits, (40_000, 1)), generator=0)
    assert draws.dtype == np.int64 and draws.shape == (40_000,)
    frequencies = np.bincount(draws, minlength=4) / 40_000
    np.testing.assert_allclose(frequencies, [0.5, 0.3, 0.15, 0.05], atol=0.01)
    # temperature 2: p ∝ p^(1/2)
    hot = np.sqrt([0.5, 0.3, 0.15, 0.05])
    frequencies = np.bincount(sample_logits(np.tile(logits, (40_000, 1)), temperature=2.0,
                                            generator=1), minlength=4) / 40_000
    np.testing.assert_allclose(frequencies, hot / hot.sum(), atol=0.01)
    # top-k 2: renormalised over the two likeliest
    frequencies = np.bincount(sample_logits(np.tile(logits, (40_000, 1)), top_k=2,
                                            generator=2), minlength=4) / 40_000
    np.testing.assert_allclose(frequencies, [0.625, 0.375, 0, 0], atol=0.01)


def test_exclusions_seeds_and_errors():
    logits = np.array([5.0, 0.0, 0.0])
    assert set(sample_logits(np.tile(logits, (200, 1)), exclude=[0], generator=0)) <= {1, 2}
    a = sample_logits(np.zeros((50, 10)), generator=7)
    np.testing.assert_array_equal(a, sample_logits(np.zeros((50, 10)), generator=7))
    cr.manual_seed(3)
    b = sample_logits(np.zeros((50, 10)))
    cr.manual_seed(3)
    np.testing.assert_array_equal(b, sample_logits(np.zeros((50, 10))))  # global generator
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample_logits(logits, temperature=-1)
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        sample_logits(logits, top_k=0)
    with pytest.raises(ValueError, match="every class is excluded"):
        sample_logits(logits, exclude=[0, 1, 2])
    with pytest.raises(ValueError, match=r"expected logits of shape \(\*, V\)"):
        sample_logits(np.float32(1))


def _recording(model):
    """Record the ids of every call of ``model`` in ``model.calls``."""
    model.calls = []
    model.register_forward_pre_hook(lambda module, args: model.calls.append(args[0].copy()))
    return model


def test_generate_feeds_one_token_at_a_time_with_the_carried_state():
    vocab = Vocabulary.build(["abcab cab"], level="char")
    model = _recording(char_lm((2,), len(vocab), embedding_dim=4, hidden_size=8, generator=0))
    model.train()
    text = generate(model, vocab, "ab", length=6, temperature=0)
    assert len(text) == 6 and model.training  # the mode is restored
    assert [c.shape for c in model.calls] == [(1, 2)] + [(1, 1)] * 5
    # Greedy steps with the carried state equal greedy steps over the whole text each time.
    ids = vocab.encode("ab")
    model.eval()
    for expected in text:
        logits, _ = model(ids[None, :])
        scores = logits.data[0, -1].copy()
        scores[[vocab.pad_id, vocab.unk_id]] = -np.inf  # never generated
        token = int(scores.argmax())
        assert vocab.decode([token]) == expected
        ids = np.append(ids, token)
    seeded = [generate(model, vocab, "a", length=20, seed=5) for _ in range(2)]
    assert seeded[0] == seeded[1] and len(seeded[0]) == 20
    assert "<" not in generate(model, vocab, "", length=50, temperature=3.0, seed=0)
    assert generate(model, vocab, "a", length=0) == ""
    with pytest.raises(ValueError, match="length must be >= 0"):
        generate(model, vocab, "a", length=-1)
