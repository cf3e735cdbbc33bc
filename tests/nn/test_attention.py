"""Attention and the Transformer encoder: scaled dot-product attention against its formula,
MultiheadAttention and TransformerEncoder(Layer) against PyTorch (values and gradients, masks
included), gradient checks, what masks hide, dropout, positional encoding, errors."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from nn.cases import gradcheck_module


def _rng(seed=0):
    return np.random.default_rng(seed)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------ scaled dot-product
def test_scaled_dot_product_attention_is_the_formula():
    rng = _rng(0)
    q, k, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 4)), rng.standard_normal(
        (2, 3, 6))
    keep = rng.random((5, 3)) < 0.7
    keep[:, 0] = True
    out = cr.nn.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v),
                                             attn_mask=keep)
    scores = q @ k.transpose(0, 2, 1)
    expected = _softmax(np.where(keep, scores / 2.0, -np.inf)) @ v  # √d = 2
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    bias = rng.standard_normal((5, 3))
    out = cr.nn.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v),
                                             attn_mask=bias, scale=0.3)
    np.testing.assert_allclose(out.data, _softmax(scores * 0.3 + bias) @ v, rtol=1e-12)


def test_scaled_dot_product_attention_gradcheck_and_causal():
    rng = _rng(1)
    q, k, v = (cr.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True) for _ in range(3))
    assert cr.gradcheck(lambda q, k, v: cr.nn.scaled_dot_product_attention(
        q, k, v, is_causal=True), q, k, v)
    out = cr.nn.scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_allclose(out.data[:, 0], v.data[:, 0], rtol=1e-6)  # sees only itself


def test_scaled_dot_product_attention_matches_pytorch():
    torch = importorskip("torch")
    rng = _rng(2)
    arrays = [rng.standard_normal((2, 3, 5, 4)).astype(np.float32) for _ in range(3)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = cr.nn.scaled_dot_product_attention(*ours, is_causal=True)
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    ref.backward(torch.from_numpy(upstream))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ MultiheadAttention
def _pair(torch, seed=0, **kwargs):
    """A PyTorch MultiheadAttention (float64) and ours with the same weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs).double()
    ours = cr.nn.MultiheadAttention(8, 2, dtype=np.float64, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


_KEY_PADDING = np.array([[False] * 4, [False, False, True, True], [False, True, False, True]])
_BLOCKED = np.array([[0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 1, 0]],
                    dtype=bool)
MASKS = {
    "none": {},
    "key_padding": {"key_padding_mask": _KEY_PADDING},
    "bool_attn_and_padding": {"attn_mask": _BLOCKED, "key_padding_mask": _KEY_PADDING},
    "float_attn_per_head": {"attn_mask": _rng(3).standard_normal((6, 5, 4))},
    "float_padding": {"key_padding_mask": np.where(_KEY_PADDING, -1.5, 0.0)},
}


@pytest.mark.parametrize("average", [True, False], ids=["averaged", "per_head"])
@pytest.mark.parametrize("masks", MASKS, ids=str)
@pytest.mark.parametrize("kwargs", [{}, {"batch_first": True, "kdim": 5, "vdim": 3}],
                         ids=["packed", "separate-batch-first"])
def test_multihead_attention_matches_pytorch(kwargs, masks, average):
    torch = importorskip("torch")
    ours, theirs = _pair(torch, **kwargs)
    rng = _rng(4)
    batch_first, kdim, vdim = kwargs.get("batch_first"), kwargs.get("kdim", 8), kwargs.get(
        "vdim", 8)
    shape = (lambda n, d: (3, n, d)) if batch_first else (lambda n, d: (n, 3, d))
    arrays = [rng.standard_normal(shape(5, 8)), rng.standard_normal(shape(4, kdim)),
              rng.standard_normal(shape(4, vdim))]
    mine = [cr.tensor(a, requires_grad=True) for a in arrays]
    other = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, weights = ours(*mine, average_attn_weights=average, **MASKS[masks])
    out_t, weights_t = theirs(*other, average_attn_weights=average,
                              **{k: torch.tensor(v) for k, v in MASKS[masks].items()})
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.data, weights_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    ((out ** 2).sum() + (weights ** 3).sum()).backward()
    ((out_t ** 2).sum() + (weights_t ** 3).sum()).backward()
    for a, b in zip(mine, other):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


def test_self_attention_causal_matches_pytorch_in_float32():
    torch = importorskip("torch")
    torch.manual_seed(5)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    ours = cr.nn.MultiheadAttention(16, 4, batch_first=True)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = _rng(5).standard_normal((2, 7, 16)).astype(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, _ = ours(xc, xc, xc, is_causal=True, need_weights=False)
    out_t, _ = theirs(xt, xt, xt, attn_mask=torch.tensor(cr.nn.causal_mask(7)),
                      need_weights=False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    out_t.sum().backward()
    assert xc.grad.dtype == np.float32 and ours.in_proj_weight.grad.dtype == np.float32
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.in_proj_weight.grad, theirs.in_proj_weight.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("self_attention", [True, False], ids=["self", "cross"])
def test_multihead_attention_gradcheck(self_attention):
    dims = None if self_attention else 3
    mha = cr.nn.MultiheadAttention(4, 2, kdim=dims, vdim=dims, generator=6)
    rng = _rng(6)
    q = cr.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    kv = cr.tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    padding = np.array([[False, False, True], [False, False, False]])
    if self_attention:
        def causal_self_attention(m, q):
            return m(q, q, q, key_padding_mask=padding, is_causal=True)[0]

        assert gradcheck_module(mha, causal_self_attention, q)
    else:
        assert gradcheck_module(mha, lambda m, q, kv: m(q, kv, kv * 2)[0], q, kv)


def test_masked_keys_and_future_positions_do_not_matter():
    mha = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    x = _rng(7).standard_normal((2, 6, 8)).astype(np.float32)
    padding = np.zeros((2, 6), dtype=bool)
    padding[1, 4:] = True
    out, weights = mha(cr.tensor(x), cr.tensor(x), cr.tensor(x), key_padding_mask=padding,
                       is_causal=True)
    changed = x.copy()
    changed[:, 3:] = 50.0  # the future of positions 0..2, and sequence 1's padding
    out2, _ = mha(cr.tensor(changed), cr.tensor(changed), cr.tensor(changed),
                  key_padding_mask=padding, is_causal=True)
    np.testing.assert_allclose(out2.data[:, :3], out.data[:, :3], rtol=1e-6)
    assert not weights.data[1][:, 4:].any() and not np.triu(weights.data[0], 1).any()
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1, rtol=1e-6)


def test_a_fully_masked_query_attends_uniformly_instead_of_nan():
    mha = cr.nn.MultiheadAttention(4, 1)
    x = cr.tensor(_rng(8).standard_normal((3, 1, 4)).astype(np.float32))
    out, weights = mha(x, x, x, key_padding_mask=np.array([[True, True, True]]))
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(weights.data, 1 / 3, rtol=1e-6)


def test_dropout_on_attention_weights_only_in_training():
    mha = cr.nn.MultiheadAttention(8, 2, dropout=0.5, generator=0)
    x = cr.tensor(_rng(9).standard_normal((4, 2, 8)).astype(np.float32))
    first, second = (mha(x, x, x)[0].data for _ in range(2))
    assert not np.allclose(first, second)
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].data, mha(x, x, x)[0].data)


def test_unbatched_input():
    mha = cr.nn.MultiheadAttention(8, 2)
    x = _rng(10).standard_normal((5, 8)).astype(np.float32)
    out, weights = mha(cr.tensor(x), cr.tensor(x), cr.tensor(x),
                       key_padding_mask=np.array([False, False, False, True, True]))
    batched, batched_weights = mha(*(cr.tensor(x[:, None]),) * 3,
                                   key_padding_mask=np.array([[False] * 3 + [True] * 2]))
    assert out.shape == (5, 8) and weights.shape == (5, 5)
    np.testing.assert_allclose(out.data, batched.data[:, 0], rtol=1e-6)
    np.testing.assert_allclose(weights.data, batched_weights.data[0], rtol=1e-6)


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be a positive multiple of "
                                         r"num_heads \(3\)"):
        cr.nn.MultiheadAttention(10, 3)
    mha = cr.nn.MultiheadAttention(8, 2)
    x = cr.tensor(np.zeros((5, 2, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"key of shape \(seq, batch, 8\), got \(4, 2, 6\)"):
        mha(x, cr.tensor(np.zeros((4, 2, 6), dtype=np.float32)), x)
    with pytest.raises(ValueError, match="disagree on the batch size"):
        mha(x, cr.tensor(np.zeros((5, 3, 8), dtype=np.float32)), x)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(5, 5\)"):
        mha(x, x, x, attn_mask=np.zeros((4, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(B, S\)"):
        mha(x, x, x, key_padding_mask=np.zeros((5, 2), dtype=bool))
    with pytest.raises(TypeError, match="attn_mask must be boolean or floating-point"):
        mha(x, x, x, attn_mask=np.zeros((5, 5), dtype=np.int64))
    with pytest.raises(ValueError, match="^scaled_dot_product_attention: pass attn_mask or "
                                         "is_causal, not both"):
        cr.nn.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((2, 2), bool),
                                           is_causal=True)
    with pytest.raises(ValueError, match=r"^MultiheadAttention\(embed_dim=8, num_heads=2\): "
                                         r"expected value of shape \(seq, batch, 8\)"):
        mha(x, x, cr.tensor(np.zeros((5, 2, 3), dtype=np.float32)))


def test_multi_head_attention_forward_errors_name_the_function():
    mha = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    x = cr.tensor(np.zeros((2, 5, 8), dtype=np.float32))

    def call(key=x, **options):
        return cr.nn.functional.multi_head_attention_forward(
            x, key, x, 2, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
            mha.out_proj.bias, batch_first=True, **options)

    assert call()[0].shape == (2, 5, 8)
    with pytest.raises(ValueError, match=r"^multi_head_attention_forward: expected key of shape "
                                         r"\(batch, seq, 8\), got \(2, 5, 6\)"):
        call(cr.tensor(np.zeros((2, 5, 6), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"^multi_head_attention_forward: key_padding_mask must "
                                         r"have shape \(B, S\) = \(2, 5\)"):
        call(key_padding_mask=np.zeros((5, 2), dtype=bool))
    with pytest.raises(TypeError, match=r"^multi_head_attention_forward: attn_mask must be "
                                        r"boolean or floating-point"):
        call(attn_mask=np.zeros((5, 5), dtype=np.int64))


# ------------------------------------------------------------------ Transformer
def test_positional_encoding_values():
    pe = cr.nn.PositionalEncoding(6, max_len=50, batch_first=True)
    table = pe.table()
    position, i = 7, 2
    assert table[position, 2 * i] == pytest.approx(np.sin(position / 10000 ** (2 * i / 6)))
    assert table[position, 2 * i + 1] == pytest.approx(np.cos(position / 10000 ** (2 * i / 6)))
    x = _rng(11).standard_normal((2, 9, 6)).astype(np.float32)
    out = pe(cr.tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, x + table[:9].astype(np.float32), rtol=1e-6)
    assert not pe.state_dict()  # nothing learned, nothing saved
    odd = cr.nn.PositionalEncoding(5, max_len=4).table()
    assert odd.shape == (4, 5) and odd[1, 4] == pytest.approx(np.sin(1 / 10000 ** (4 / 5)))
    with pytest.raises(ValueError, match="length 51 exceeds max_len=50"):
        pe(cr.tensor(np.zeros((1, 51, 6), dtype=np.float32)))
    with pytest.raises(ValueError, match="d_model=6"):
        pe(cr.tensor(np.zeros((1, 5, 4), dtype=np.float32)))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_matches_pytorch(norm_first, activation):
    torch = importorskip("torch")
    torch.manual_seed(12)
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                               norm_first=norm_first, batch_first=True)
    theirs = torch.nn.TransformerEncoder(layer_t.double(), 2, norm=torch.nn.LayerNorm(8).double(),
                                         enable_nested_tensor=False)
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                          norm_first=norm_first, batch_first=True,
                                          dtype=np.float64)
    ours = cr.nn.TransformerEncoder(layer, 2, norm=cr.nn.LayerNorm(8, dtype=np.float64))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = _rng(12).standard_normal((3, 5, 8))
    padding = np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = ours(xc, src_key_padding_mask=padding, is_causal=True)
    out_t = theirs(xt, mask=torch.tensor(cr.nn.causal_mask(5)),
                   src_key_padding_mask=torch.tensor(padding))
    # chainrule's exact GELU evaluates erf to ~1e-7; relu is exact.
    tol = {"rtol": 1e-9, "atol": 1e-10} if activation == "relu" else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **tol)
    (out ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **tol)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), err_msg=name, **tol)


def test_transformer_encoder_layer_gradcheck():
    layer = cr.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, generator=13)
    x = cr.tensor(_rng(13).standard_normal((3, 2, 4)), requires_grad=True)
    assert gradcheck_module(layer, lambda m, x: m(x, is_causal=True), x)


def test_encoder_layers_start_equal_but_own_their_weights_and_dropout():
    layer = cr.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, generator=14)
    encoder = cr.nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers
    np.testing.assert_array_equal(first.linear1.weight.data, second.linear1.weight.data)
    assert first.linear1.weight is not second.linear1.weight
    assert first.dropout.generator is not second.dropout.generator
    assert first.dropout.generator is first.dropout1.generator  # shared within a layer
    masks = [d.generator.random(4).tolist() for d in (first.dropout, second.dropout)]
    assert masks[0] != masks[1]


