"""Embedding: lookup values, scatter-add gradient (repeated ids, padding row), PyTorch parity,
pretrained tables, dtypes and errors."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from nn.cases import gradcheck_module


def test_lookup_shapes_and_initialisation():
    emb = cr.nn.Embedding(1000, 16, generator=0)
    assert emb.weight.shape == (1000, 16) and emb.weight.dtype == np.float32
    assert emb.weight.data.mean() == pytest.approx(0, abs=0.02)
    assert emb.weight.data.std() == pytest.approx(1, rel=0.02)  # N(0, 1), as PyTorch
    ids = np.array([[3, 999, 0], [3, 5, 7]])
    out = emb(cr.tensor(ids))
    assert out.shape == (2, 3, 16) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, emb.weight.data[ids])
    assert emb(ids[0]).shape == (3, 16) and emb(4).shape == (16,)  # arrays and scalars too
    assert repr(cr.nn.Embedding(5, 2, padding_idx=-1)) == "Embedding(5, 2, padding_idx=4)"


def test_gradient_is_a_scatter_add_over_repeated_ids():
    emb = cr.nn.Embedding(6, 3)
    ids = np.array([[1, 4, 1], [1, 0, 4]])
    upstream = np.arange(18, dtype=np.float32).reshape(2, 3, 3)
    emb(ids).backward(upstream)
    expected = np.zeros((6, 3), dtype=np.float32)
    for position, row in np.ndenumerate(ids):
        expected[row] += upstream[position]
    np.testing.assert_array_equal(emb.weight.grad, expected)
    assert emb.weight.grad.dtype == np.float32
    assert not emb.weight.grad[[2, 3, 5]].any()  # unused rows get exactly zero


def test_padding_row_starts_at_zero_and_never_gets_a_gradient():
    emb = cr.nn.Embedding(5, 2, padding_idx=0)
    assert not emb.weight.data[0].any()
    ids = np.array([[2, 0, 0], [0, 3, 2]])
    out = emb(ids)
    assert not out.data[ids == 0].any()
    (out * out + out).sum().backward()
    assert not emb.weight.grad[0].any()
    np.testing.assert_allclose(emb.weight.grad[2], 2 * (2 * emb.weight.data[2] + 1))


def test_gradcheck_in_float64():
    emb = cr.nn.Embedding(4, 3, generator=1)
    ids = np.array([[0, 3, 3], [2, 0, 1]])
    assert gradcheck_module(emb, lambda m: (m(ids) * m(ids[::-1])).sum(axis=-1))


def test_matches_pytorch_with_padding_idx():
    torch = importorskip("torch")
    ours = cr.nn.Embedding(7, 4, padding_idx=2)
    theirs = torch.nn.Embedding(7, 4, padding_idx=2)
    theirs.weight.data = torch.from_numpy(ours.weight.data.copy())
    ids = np.array([[2, 5, 6, 5], [1, 2, 0, 6]])
    upstream = np.random.default_rng(0).standard_normal((2, 4, 4)).astype(np.float32)
    out = ours(ids)
    out.backward(upstream)
    reference = theirs(torch.from_numpy(ids))
    reference.backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(out.data, reference.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-6)


def test_from_pretrained_freezes_by_default():
    table = np.arange(12, dtype=np.float64).reshape(4, 3)
    frozen = cr.nn.Embedding.from_pretrained(table)
    assert frozen.weight.dtype == np.float64 and not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(np.array([3, 1])).data, table[[3, 1]])
    table[0] = -1  # the layer holds a copy
    assert frozen.weight.data[0, 0] == 0
    trainable = cr.nn.Embedding.from_pretrained(cr.tensor(table), freeze=False, padding_idx=1)
    trainable(np.array([0, 1])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad, [[1, 1, 1], [0, 0, 0], [0] * 3, [0] * 3])


def test_errors_name_the_layer():
    emb = cr.nn.Embedding(10, 2)
    with pytest.raises(IndexError, match=r"^Embedding\(10, 2\): id 10 is out of range .* 0 … 9"):
        emb(np.array([1, 10]))
    with pytest.raises(IndexError, match="id -1"):
        emb(np.array([-1, 2]))
    with pytest.raises(TypeError, match="integer ids, got dtype float32"):
        emb(cr.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="padding_idx 10 is out of range"):
        cr.nn.Embedding(10, 2, padding_idx=10)
    with pytest.raises(ValueError, match="from_pretrained"):
        cr.nn.Embedding.from_pretrained(np.zeros(3))


def test_errors_of_the_function_name_it():
    table = cr.tensor(np.zeros((4, 2), np.float32))
    with pytest.raises(IndexError, match=r"^embedding: id 4 is out of range for 4 embeddings"):
        cr.nn.functional.embedding([0, 4], table)
    with pytest.raises(TypeError, match=r"^embedding: expected integer ids, got dtype float64"):
        cr.nn.functional.embedding(np.array([0.0]), table)
    with pytest.raises(ValueError, match=r"^embedding: weight must be a \(num_embeddings, "
                                         r"embedding_dim\) table, got shape \(4,\)"):
        cr.nn.functional.embedding([0], cr.tensor(np.zeros(4, np.float32)))
    with pytest.raises(ValueError, match=r"^embedding: padding_idx 4 is out of range"):
        cr.nn.functional.embedding([0], table, padding_idx=4)


