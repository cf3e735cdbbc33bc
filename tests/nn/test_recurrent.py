"""RNN, LSTM, GRU and their cells: shapes and names, gradients against central differences,
PyTorch parity (values and gradients, packed sequences included), masks and lengths, dtypes,
errors, long sequences, serialisation and a small learning task."""

import tracemalloc

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.io import module_from_spec, module_spec
from nn.cases import gradcheck_module

LAYERS = {"RNN": cr.nn.RNN, "LSTM": cr.nn.LSTM, "GRU": cr.nn.GRU}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _flat(*tensors):
    """One 1-d tensor of all outputs, so gradcheck sees every one of them."""
    return cr.concatenate([t.reshape(-1) for t in tensors])


def _outputs(name, result):
    output, state = result
    return (output, *state) if name == "LSTM" else (output, state)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ structure
@pytest.mark.parametrize("name", LAYERS)
def test_parameter_names_and_shapes_follow_pytorch(name):
    layer = LAYERS[name](5, 4, num_layers=2, bidirectional=True)
    g = GATES[name]
    shapes = {n: p.shape for n, p in layer.named_parameters()}
    expected = {}
    for k, width in ((0, 5), (1, 8)):
        for suffix in ("", "_reverse"):
            expected.update({f"weight_ih_l{k}{suffix}": (g * 4, width),
                             f"weight_hh_l{k}{suffix}": (g * 4, 4),
                             f"bias_ih_l{k}{suffix}": (g * 4,), f"bias_hh_l{k}{suffix}": (g * 4,)})
    assert shapes == expected
    assert list(shapes)[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    no_bias = LAYERS[name](5, 4, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("name", LAYERS)
def test_initialisation_is_uniform_in_one_over_sqrt_hidden(name):
    layer = LAYERS[name](3, 16, generator=0)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24
    assert values.std() == pytest.approx(0.25 / np.sqrt(3), rel=0.05)
    again = LAYERS[name](3, 16, generator=0)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(layer.parameters(),
                                                              again.parameters()))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("name", LAYERS)
def test_output_and_state_shapes(name, batch_first):
    layer = LAYERS[name](3, 4, num_layers=3, bidirectional=True, batch_first=batch_first)
    x = np.zeros((2, 5, 3) if batch_first else (5, 2, 3), dtype=np.float32)
    output, *states = _outputs(name, layer(cr.tensor(x)))
    assert output.shape == ((2, 5, 8) if batch_first else (5, 2, 8))
    assert all(s.shape == (6, 2, 4) for s in states)
    unbatched, *states = _outputs(name, layer(cr.tensor(np.zeros((5, 3), dtype=np.float32))))
    assert unbatched.shape == (5, 8) and all(s.shape == (6, 4) for s in states)


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_two_layers_bidirectional_with_lengths(name):
    layer = LAYERS[name](2, 2, num_layers=2, bidirectional=True, batch_first=True, generator=1)
    x = cr.tensor(_rng(1).standard_normal((3, 4, 2)), requires_grad=True)
    lengths = np.array([4, 1, 3])
    assert gradcheck_module(layer, lambda m, x: _flat(*_outputs(name, m(x, lengths=lengths))), x)


@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_initial_states_and_no_bias(name):
    layer = LAYERS[name](2, 3, bias=False, generator=2)
    rng = _rng(2)
    x = cr.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = cr.tensor(rng.standard_normal((1, 2, 3)), requires_grad=True)
    c0 = cr.tensor(rng.standard_normal((1, 2, 3)), requires_grad=True)
    if name == "LSTM":
        def with_states(m, x, h, c):
            return _flat(*_outputs(name, m(x, (h, c))))

        assert gradcheck_module(layer, with_states, x, h0, c0)
    else:
        assert gradcheck_module(layer, lambda m, x, h: _flat(*_outputs(name, m(x, h))), x, h0)


def test_gradcheck_relu_rnn_and_cells():
    rng = _rng(3)
    x = cr.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    rnn = cr.nn.RNN(3, 3, nonlinearity="relu", generator=3)
    assert gradcheck_module(rnn, lambda m, x: _flat(*m(x)), x)
    xt = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = cr.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert gradcheck_module(cr.nn.GRUCell(3, 4, generator=3), lambda m, x, h: m(x, h), xt, h)
    assert gradcheck_module(cr.nn.RNNCell(3, 4, generator=3), lambda m, x, h: m(x, h), xt, h)
    assert gradcheck_module(cr.nn.LSTMCell(3, 4, generator=3),
                            lambda m, x, h: _flat(*m(x, (h, h * 0.5))), xt, h)


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    """The module check is not vacuous: a rule that drops the recurrent weight's gradient fails."""
    from chainrule.ops.recurrent import GRUSequence

    backward = GRUSequence.backward

    def broken(self, grad):
        grads = list(backward(self, grad))
        grads[3] = grads[3] * 0.5
        return tuple(grads)

    monkeypatch.setattr(GRUSequence, "backward", broken)
    x = cr.tensor(_rng(4).standard_normal((3, 1, 2)), requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"input 2 \(shape \(6, 2\)\)"):  # W_hh
        gradcheck_module(cr.nn.GRU(2, 2), lambda m, x: m(x)[0], x)


# ------------------------------------------------------------------ PyTorch parity
@pytest.mark.parametrize("lengths", [None, [6, 2, 4, 1]], ids=["full", "lengths"])
@pytest.mark.parametrize("config", [(1, False, False), (2, True, True)],
                         ids=["1-layer", "2-layer-bidirectional-batch-first"])
@pytest.mark.parametrize("name", LAYERS)
def test_matches_pytorch(name, config, lengths):
    torch = importorskip("torch")
    layers, bidirectional, batch_first = config
    T, B, IN, H = 6, 4, 3, 5
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(IN, H, num_layers=layers, bidirectional=bidirectional,
                                     batch_first=batch_first).double()
    ours = LAYERS[name](IN, H, num_layers=layers, bidirectional=bidirectional,
                        batch_first=batch_first, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = _rng(5)
    x = rng.standard_normal((B, T, IN) if batch_first else (T, B, IN))
    h0 = rng.standard_normal((layers * (1 + bidirectional), B, H))
    c0 = rng.standard_normal(h0.shape)
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    hx_t = (h0t, c0t) if name == "LSTM" else h0t
    if lengths is None:
        out_t, state_t = theirs(xt, hx_t)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out_t, state_t = theirs(packed, hx_t)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first,
                                                          total_length=T)
    results_t = (out_t, *state_t) if name == "LSTM" else (out_t, state_t)
    sum(((r ** 2) * (k + 1)).sum() for k, r in enumerate(results_t)).backward()

    xc, h0c, c0c = (cr.tensor(a, requires_grad=True) for a in (x, h0, c0))
    results = _outputs(name, ours(xc, (h0c, c0c) if name == "LSTM" else h0c, lengths=lengths))
    sum(((r ** 2) * (k + 1)).sum() for k, r in enumerate(results)).backward()

    for mine, other in zip(results, results_t):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-10, atol=1e-12)
    pairs = [(xc, xt), (h0c, h0t)] + ([(c0c, c0t)] if name == "LSTM" else [])
    for mine, other in pairs:
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[pname].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=pname)


@pytest.mark.parametrize("name", LAYERS)
def test_matches_pytorch_in_float32(name):
    torch = importorskip("torch")
    torch.manual_seed(1)
    theirs = getattr(torch.nn, name)(8, 16, num_layers=2)
    ours = LAYERS[name](8, 16, num_layers=2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = _rng(6).standard_normal((20, 3, 8)).astype(np.float32)
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out_t = theirs(xt)[0]
    out_t.sum().backward()
    out = ours(xc)[0]
    out.sum().backward()
    assert out.dtype == np.float32 and xc.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-4, atol=2e-5)
    torch_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, torch_params[pname].grad.numpy(), rtol=1e-4,
                                   atol=5e-5, err_msg=pname)


# ------------------------------------------------------------------ masks and lengths
@pytest.mark.parametrize("name", LAYERS)
def test_final_state_is_taken_at_each_true_end(name):
    """Each sequence of a padded batch gets the state (and outputs) it gets alone, unpadded."""
    layer = LAYERS[name](3, 4, bidirectional=True, batch_first=True, dtype=np.float64)
    rng = _rng(7)
    lengths = [5, 2, 3]
    x = rng.standard_normal((3, 5, 3))
    x[1, 2:] = 99.0  # padding values must not matter
    output, *states = _outputs(name, layer(cr.tensor(x), lengths=lengths))
    for b, n in enumerate(lengths):
        alone, *alone_states = _outputs(name, layer(cr.tensor(x[b:b + 1, :n])))
        np.testing.assert_allclose(output.data[b, :n], alone.data[0], rtol=1e-12, atol=1e-12)
        assert not output.data[b, n:].any()
        for state, single in zip(states, alone_states):
            np.testing.assert_allclose(state.data[:, b], single.data[:, 0], rtol=1e-12)


def test_mask_equals_lengths_and_general_masks_freeze_the_state():
    layer = cr.nn.GRU(2, 3, batch_first=True)
    x = cr.tensor(_rng(8).standard_normal((2, 4, 2)).astype(np.float32))
    mask = np.array([[True, True, True, False], [True, False, False, False]])
    by_mask, h_mask = layer(x, mask=mask)
    by_lengths, h_lengths = layer(x, lengths=np.array([3, 1]))
    np.testing.assert_array_equal(by_mask.data, by_lengths.data)
    np.testing.assert_array_equal(h_mask.data, h_lengths.data)
    # A step masked in the middle is skipped: same as running without that step.
    holes = np.array([[True, False, True, True], [True, True, True, True]])
    _, h_holes = layer(x, mask=holes)
    _, h_skipped = layer(x[:, [0, 2, 3]])
    np.testing.assert_allclose(h_holes.data[:, 0], h_skipped.data[:, 0], rtol=1e-6)


# ------------------------------------------------------------------ dtypes and errors
@pytest.mark.parametrize("name", LAYERS)
def test_float32_stays_float32_and_states_follow_the_input(name):
    layer = LAYERS[name](3, 4, bidirectional=True)
    x = cr.tensor(np.ones((2, 2, 3), dtype=np.float32), requires_grad=True)
    results = _outputs(name, layer(x, lengths=[2, 1]))
    assert all(r.dtype == np.float32 for r in results)
    sum(r.sum() for r in results).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())
    double = LAYERS[name](3, 4, dtype=np.float64)
    results = _outputs(name, double(cr.tensor(np.ones((2, 2, 3)))))
    assert all(r.dtype == np.float64 for r in results)


def test_errors_name_the_layer_and_the_shapes():
    lstm = cr.nn.LSTM(3, 4, num_layers=2)
    x = cr.tensor(np.zeros((5, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^LSTM\(3, 4, num_layers=2\): expected input of shape "
                                         r".*=3.*\(5, 2, 7\)"):
        lstm(cr.tensor(np.zeros((5, 2, 7), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(x, (np.zeros((1, 2, 4)), np.zeros((2, 2, 4))))
    with pytest.raises(TypeError, match="pair"):
        lstm(x, np.zeros((2, 2, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        lstm(cr.tensor(np.zeros((5, 2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        lstm(x, lengths=[6, 2])
    with pytest.raises(ValueError, match="lengths must be 2 integers"):
        lstm(x, lengths=[5])
    with pytest.raises(ValueError, match=r"mask must be a boolean array of shape \(batch, seq\)"):
        lstm(x, mask=np.ones((5, 2), dtype=bool))
    with pytest.raises(ValueError, match="not both"):
        lstm(x, lengths=[5, 5], mask=np.ones((2, 5), dtype=bool))
    with pytest.raises(ValueError, match="empty"):
        lstm(cr.tensor(np.zeros((0, 2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"^GRUCell\(3, 4\): expected input of shape"):
        cr.nn.GRUCell(3, 4)(cr.tensor(np.zeros((2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="nonlinearity"):
        cr.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        cr.nn.GRU(3, 4, dropout=1.0)


def test_errors_of_the_functions_name_them():
    lstm = cr.nn.LSTM(3, 4)
    weights = [[lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]]
    x = cr.tensor(np.zeros((5, 2, 3), dtype=np.float32))
    F = cr.nn.functional
    with pytest.raises(ValueError, match=r"^lstm: expected input of shape \(seq, batch, "
                                         r"input_size\) .*=3, got \(5, 2, 7\)"):
        F.lstm(cr.tensor(np.zeros((5, 2, 7), dtype=np.float32)), None, weights)
    with pytest.raises(TypeError, match=r"^lstm: hx must be a pair \(h_0, c_0\)"):
        F.lstm(x, np.zeros((1, 2, 4)), weights)
    with pytest.raises(ValueError, match=r"^lstm: expected c_0 of shape \(1, 2, 4\), got "
                                         r"\(2, 4\)"):
        F.lstm(x, (np.zeros((1, 2, 4)), np.zeros((2, 4))), weights)
    with pytest.raises(ValueError, match=r"^gru: weights of layer 0 \(direction 0\) must have "
                                         r"shapes \[\(12, 3\), \(12, 4\)"):
        F.gru(x, None, [weights[0][:2]])  # LSTM weights hold 4 gates, a GRU's 3
    with pytest.raises(ValueError, match=r"^lstm: weights must hold one group .* \(2 per "
                                         r"layer\)"):
        F.lstm(x, None, weights, bidirectional=True)
    with pytest.raises(ValueError, match=r"^lstm: lengths must lie in \[1, 5\]"):
        F.lstm(x, None, weights, lengths=[0, 5])
    with pytest.raises(ValueError, match=r"^rnn: nonlinearity must be 'tanh' or 'relu'"):
        F.rnn(x, None, weights, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"^lstm_cell: expected h of shape \(2, 4\), got "
                                         r"\(3, 4\)"):
        F.lstm_cell(x[0], (np.zeros((3, 4)), None), *weights[0])


# ------------------------------------------------------------------ cells and long sequences
@pytest.mark.parametrize("name", LAYERS)
def test_cell_loop_equals_the_layer(name):
    layer = LAYERS[name](3, 4, dtype=np.float64)
    cell = getattr(cr.nn, name + "Cell")(3, 4, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = _rng(9).standard_normal((6, 2, 3))
    state = None
    for t in range(6):
        state = cell(cr.tensor(x[t]), state)
    expected = _outputs(name, layer(cr.tensor(x)))[1:]
    got = state if name == "LSTM" else (state,)
    for mine, whole in zip(got, expected):
        np.testing.assert_allclose(mine.data, whole.data[0], rtol=1e-12)
    unbatched = cell(cr.tensor(x[0, 0]))
    assert (unbatched[0] if name == "LSTM" else unbatched).shape == (4,)


def test_backpropagation_through_1500_steps():
    """A 1,500-step LSTM as one fused node, and as 1,500 cell steps (a graph of ~10,000 nodes
    that the iterative engine walks without recursion): same gradients."""
    steps, batch = 1500, 2
    lstm = cr.nn.LSTM(2, 6, dtype=np.float64)
    cell = cr.nn.LSTMCell(2, 6, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = _rng(10).standard_normal((steps, batch, 2))

    xs = cr.tensor(x, requires_grad=True)
    output, (h_n, _) = lstm(xs)
    (output[0].sum() + h_n.sum()).backward()

    xc = cr.tensor(x, requires_grad=True)
    h, c = cell(xc[0])
    first = h
    for t in range(1, steps):
        h, c = cell(xc[t], (h, c))
    (first.sum() + h.sum()).backward()

    np.testing.assert_allclose(h.data, h_n.data[0], rtol=1e-12)
    np.testing.assert_allclose(xc.grad, xs.grad, rtol=1e-9, atol=1e-14)
    assert np.abs(xs.grad[0]).max() > 0  # the gradient reached the first step
    for name, p in lstm.named_parameters():
        np.testing.assert_allclose(getattr(cell, name[:-3]).grad, p.grad, rtol=1e-9)


def test_memory_of_a_long_sequence_is_the_saved_activations():
    """Training memory grows linearly with the sequence: the LSTM keeps 7 arrays of (B, H)
    per step (4 gates, cell, tanh of the cell, output) and the backward pass 4 more (the gate
    gradients); the measured peak is ~1.1x that estimate."""
    steps, batch, hidden = 1000, 4, 32
    lstm = cr.nn.LSTM(8, hidden)
    x = cr.tensor(_rng(11).standard_normal((steps, batch, 8)).astype(np.float32))
    tracemalloc.start()
    output, _ = lstm(x)
    output.sum().backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = steps * batch * hidden * 4 * (7 + 4)
    assert 0.7 * estimate < peak < 1.6 * estimate, (peak, estimate)


# ------------------------------------------------------------------ training and persistence
def test_dropout_between_layers_only_in_training():
    layer = cr.nn.LSTM(3, 4, num_layers=2, dropout=0.5, generator=0)
    x = cr.tensor(np.ones((3, 2, 3), dtype=np.float32))
    first, second = layer(x)[0].data, layer(x)[0].data
    assert not np.array_equal(first, second)  # fresh masks each call
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].data, layer(x)[0].data)
    no_dropout = cr.nn.LSTM(3, 4, num_layers=2)
    no_dropout.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(layer(x)[0].data, no_dropout(x)[0].data)


@pytest.mark.parametrize("name", LAYERS)
def test_state_dict_and_architecture_round_trip(name):
    layer = LAYERS[name](3, 4, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1)
    rebuilt = module_from_spec(module_spec(layer))
    assert repr(rebuilt) == repr(layer) and type(rebuilt) is type(layer)
    rebuilt.load_state_dict(layer.state_dict())
    layer.eval(), rebuilt.eval()
    x = cr.tensor(_rng(12).standard_normal((2, 5, 3)).astype(np.float32))
    np.testing.assert_array_equal(layer(x)[0].data, rebuilt(x)[0].data)


def test_lstm_learns_to_remember_the_first_step():
    """Output the sign seen 8 steps earlier: the cell state has to carry it (chance: MSE 1)."""
    rng = _rng(13)
    lstm = cr.nn.LSTM(1, 16, batch_first=True, generator=0)
    head = cr.nn.Linear(16, 1, generator=0)
    optimizer = cr.optim.Adam([*lstm.parameters(), *head.parameters()], lr=0.02)
    for _ in range(200):
        x = rng.choice([-1.0, 1.0], size=(32, 8, 1)).astype(np.float32)
        _, (h_n, _) = lstm(cr.tensor(x))
        loss = cr.nn.functional.mse_loss(head(h_n[0]), x[:, 0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01


@pytest.mark.parametrize("layer", [cr.nn.LSTM(3, 4, batch_first=True), cr.nn.GRU(3, 4),
                                   cr.nn.RNN(3, 4, batch_first=True), cr.nn.LSTMCell(3, 4)],
                         ids=lambda m: type(m).__name__)
def test_an_empty_sequence_or_batch_is_a_clear_error(layer):
    """Before: a reshape error from deep inside ops/recurrent.py for a batch of 0 (issue 18.11)."""
    name = type(layer).__name__
    if isinstance(layer, cr.nn.LSTMCell):
        with pytest.raises(ValueError, match=rf"{name}.*the batch is empty"):
            layer(cr.tensor(np.zeros((0, 3), np.float32)))
        return
    batch_first = layer.batch_first
    empty_batch = (0, 5, 3) if batch_first else (5, 0, 3)
    empty_steps = (2, 0, 3) if batch_first else (0, 2, 3)
    with pytest.raises(ValueError, match=rf"{name}.*the batch is empty: input of shape"):
        layer(cr.tensor(np.zeros(empty_batch, np.float32)))
    with pytest.raises(ValueError, match=rf"{name}.*the input sequence is empty"):
        layer(cr.tensor(np.zeros(empty_steps, np.float32)))
