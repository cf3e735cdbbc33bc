"""Padding, masks, bucketed batches of variable-length texts, and language-model streams."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.text import PaddedBatches, lengths_to_mask, pad_sequences, stream_batches


def test_pad_sequences_post_pre_and_errors():
    ids, lengths = pad_sequences([np.array([1, 2, 3, 4]), [5], []], max_len=3, pad_id=9)
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    assert ids.tolist() == [[1, 2, 3], [5, 9, 9], [9, 9, 9]] and lengths.tolist() == [3, 1, 0]
    ids, _ = pad_sequences([[1, 2, 3, 4]], max_len=2, truncating="pre")
    assert ids.tolist() == [[3, 4]]
    assert pad_sequences([[7], [8, 9]])[0].shape == (2, 2)  # default: the longest
    with pytest.raises(ValueError, match="sequence 1 must be 1-d integer ids, got float64"):
        pad_sequences([[1], [0.5]])
    with pytest.raises(ValueError, match="truncating must be 'post' or 'pre'"):
        pad_sequences([[1]], truncating="middle")


def test_lengths_to_mask_matches_the_recurrent_layers_convention():
    mask = lengths_to_mask(np.array([3, 1]), max_len=4)
    assert mask.tolist() == [[True, True, True, False], [True, False, False, False]]
    assert lengths_to_mask(cr.tensor([2, 2])).shape == (2, 2)
    with pytest.raises(ValueError, match="1-d integer lengths"):
        lengths_to_mask(np.array([[1]]))
    # The mask drives an LSTM exactly as lengths do.
    lstm = cr.nn.LSTM(3, 4, batch_first=True, generator=0)
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32))
    by_mask, _ = lstm(x, mask=mask)
    by_lengths, _ = lstm(x, lengths=np.array([3, 1]))
    np.testing.assert_array_equal(by_mask.data, by_lengths.data)


def test_padded_batches_cover_every_sample_once_with_little_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, 500)
    sequences = [np.full(n, i + 1) for i, n in enumerate(lengths)]  # token = sample number
    labels = np.arange(500)
    batches = PaddedBatches(sequences, labels, batch_size=16, seed=0)
    assert len(batches) == 32
    seen, padded = [], 0
    for ids, y in batches:
        assert ids.dtype == np.int64 and ids.shape[0] == len(y) <= 16
        for row, label in zip(ids, y):
            assert row[0] == label + 1 and (row != 0).sum() == lengths[label]
        seen.extend(y.tolist())
        padded += ids.size
    assert sorted(seen) == list(range(500))
    plain = sum(ids.size for ids, _ in PaddedBatches(sequences, labels, 16, bucket=False, seed=0))
    assert padded < 0.6 * plain  # bucketing removes most of the padding
    # Each epoch a new order; the same seed gives the same orders.
    first = [y.tolist() for _, y in batches]
    assert first != [y.tolist() for _, y in batches]
    again = PaddedBatches(sequences, labels, batch_size=16, seed=0)
    assert [y.tolist() for _, y in again] == [y.tolist() for _, y in
                                              PaddedBatches(sequences, labels, 16, seed=0)]


def test_padded_batches_max_len_and_errors():
    batches = PaddedBatches([[1, 2, 3, 4], [5]], [0, 1], batch_size=2, shuffle=False,
                            bucket=False, max_len=3)
    (ids, y), = list(batches)
    assert ids.tolist() == [[1, 2, 3], [5, 0, 0]] and y.tolist() == [0, 1]
    with pytest.raises(ValueError, match="2 sequences but 3 labels"):
        PaddedBatches([[1], [2]], [0, 1, 2])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        PaddedBatches([[1]], [0], batch_size=0)


def test_padded_batches_train_with_fit():
    rng = np.random.default_rng(1)
    # Class 1 texts contain token 3, class 0 texts do not; lengths vary from 2 to 30.
    sequences, labels = [], []
    for i in range(200):
        seq = rng.integers(4, 20, rng.integers(2, 30))
        if i % 2:
            seq[rng.integers(len(seq))] = 3
        sequences.append(seq)
        labels.append(i % 2)
    model = cr.models.build("bow", (30,), 2, vocab_size=20, embedding_dim=8, hidden_size=16,
                            generator=0)
    data = PaddedBatches(sequences, np.array(labels), batch_size=20, seed=0)
    history = cr.fit(model, data, loss="cross_entropy", optimizer=cr.optim.Adam(
        model.parameters(), lr=0.05), epochs=15, progress=False)
    assert history.history["accuracy"][-1] > 0.95


def test_stream_batches_rows_continue_from_batch_to_batch():
    ids = np.arange(101)
    batches = list(stream_batches(ids, batch_size=4, seq_len=10))
    assert len(batches) == 3  # rows of 25: windows of 10, 10, 5
    x = np.concatenate([b[0] for b in batches], axis=1)
    y = np.concatenate([b[1] for b in batches], axis=1)
    np.testing.assert_array_equal(x, np.arange(100).reshape(4, 25))
    np.testing.assert_array_equal(y, x + 1)  # the targets are the next tokens
    with pytest.raises(ValueError, match="too short for 4 rows"):
        list(stream_batches(np.arange(4), batch_size=4, seq_len=2))
    with pytest.raises(ValueError, match="1-d stream"):
        list(stream_batches(np.zeros((2, 2), dtype=np.int64), 1, 1))
