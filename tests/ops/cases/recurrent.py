"""Op cases for the sequence primitives: embedding lookup and the fused RNN/LSTM/GRU sequences.

The NumPy references run the textbook recurrences step by step (PyTorch's gate order); the
PyTorch references call its own fused kernels (``torch.rnn_tanh``, ``torch.lstm``, ``torch.gru``)
on the same weights, so a wrong gate order or bias placement fails here.
"""

from __future__ import annotations

import numpy as np

from chainrule.ops.embedding import EmbeddingLookup
from chainrule.ops.recurrent import GRUSequence, LSTMSequence, RNNSequence

from . import OpCase, uniform

__all__ = ["CASES"]

T, B, IN, H = 4, 3, 2, 3  # small: the gradient check perturbs every element
_MASK = np.array([[1, 1, 1], [1, 0, 1], [1, 0, 1], [0, 0, 1]], dtype=bool)  # lengths 3, 1, 4
_seeds = iter(range(500, 10_000))


def _u(*shape):
    return uniform(shape, -1.0, 1.0, seed=next(_seeds))


def _inputs(gates: int, states: int):
    """x, the initial states, W_ih, W_hh, b_ih, b_hh."""
    return (_u(T, B, IN), *(_u(B, H) for _ in range(states)), _u(gates * H, IN),
            _u(gates * H, H), _u(gates * H), _u(gates * H))


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _scan(step, x, states, mask, reverse):
    """Run ``step(x_t, *states) -> new states`` over time with the ops' mask semantics; return
    the packed array [outputs, final states]."""
    outputs = [None] * len(x)
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        new = step(x[t], *states)
        keep = 1.0 if mask is None else mask[t][:, None]
        outputs[t] = keep * new[0]
        states = [keep * n + (1 - keep) * s for n, s in zip(new, states)]
    return np.concatenate([np.stack(outputs), np.stack(states)])


def _rnn_ref(x, h0, w_ih, w_hh, b_ih, b_hh, mask=None, reverse=False, nonlinearity="tanh"):
    act = np.tanh if nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
    return _scan(lambda xt, h: [act(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh)], x, [h0], mask,
                 reverse)


def _lstm_ref(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask=None, reverse=False):
    def step(xt, h, c):
        i, f, g, o = np.split(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return [_sigmoid(o) * np.tanh(c), c]

    return _scan(step, x, [h0, c0], mask, reverse)


def _gru_ref(x, h0, w_ih, w_hh, b_ih, b_hh, mask=None, reverse=False):
    def step(xt, h):
        xr, xz, xn = np.split(xt @ w_ih.T + b_ih, 3, axis=1)
        hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        return [(1 - z) * n + z * h]

    return _scan(step, x, [h0], mask, reverse)


def _torch_sequence(name: str):
    """PyTorch's fused kernel on one layer and direction, packed like the op's output."""

    def run(torch, x, *rest):
        states, weights = (rest[:2], rest[2:6]) if name == "lstm" else (rest[:1], rest[1:5])
        reverse = rest[-1]
        xs = x.flip(0) if reverse else x
        hx = tuple(s[None] for s in states) if name == "lstm" else states[0][None]
        out, *finals = getattr(torch, name)(xs, hx, list(weights), True, 1, 0.0, False, False,
                                            False)
        out = out.flip(0) if reverse else out
        return torch.cat([out, *finals])

    return run


def _call(op, **options):
    return lambda *args: op.apply(*args[:-2], mask=args[-2], reverse=args[-1], **options)


CASES = []
for _reverse in (False, True):
    _direction = "reverse" if _reverse else "forward"
    CASES += [
        OpCase(f"rnn_tanh_{_direction}", (RNNSequence,), _call(RNNSequence), _rnn_ref,
               _inputs(1, 1), constants=(None, _reverse),
               torch_fn=_torch_sequence("rnn_tanh")),
        OpCase(f"rnn_relu_masked_{_direction}", (RNNSequence,),
               _call(RNNSequence, nonlinearity="relu"),
               lambda *a: _rnn_ref(*a, nonlinearity="relu"), _inputs(1, 1),
               constants=(_MASK, _reverse)),
        OpCase(f"lstm_{_direction}", (LSTMSequence,), _call(LSTMSequence), _lstm_ref,
               _inputs(4, 2), constants=(None, _reverse), torch_fn=_torch_sequence("lstm")),
        OpCase(f"lstm_masked_{_direction}", (LSTMSequence,), _call(LSTMSequence), _lstm_ref,
               _inputs(4, 2), constants=(_MASK, _reverse)),
        OpCase(f"gru_{_direction}", (GRUSequence,), _call(GRUSequence), _gru_ref,
               _inputs(3, 1), constants=(None, _reverse), torch_fn=_torch_sequence("gru")),
        OpCase(f"gru_masked_{_direction}", (GRUSequence,), _call(GRUSequence), _gru_ref,
               _inputs(3, 1), constants=(_MASK, _reverse)),
    ]

CASES += [
    OpCase("lstm_no_bias_one_step", (LSTMSequence,),
           lambda x, h, c, wi, wh: LSTMSequence.apply(x, h, c, wi, wh),
           lambda x, h, c, wi, wh: _lstm_ref(x, h, c, wi, wh, 0.0, 0.0),
           (_u(1, B, IN), _u(B, H), _u(B, H), _u(4 * H, IN), _u(4 * H, H))),
    OpCase("embedding_repeated_ids", (EmbeddingLookup,),
           lambda w, ids: EmbeddingLookup.apply(w, indices=ids), lambda w, ids: w[ids],
           (_u(5, 3),), constants=(np.array([[0, 2, 2], [4, 2, 0]]),),
           torch_fn=lambda torch, w, ids: torch.nn.functional.embedding(torch.as_tensor(ids), w)),
    OpCase("embedding_padding_idx", (EmbeddingLookup,),
           lambda w, ids: EmbeddingLookup.apply(w, indices=ids, padding_idx=1),
           lambda w, ids: w[ids], (_u(4, 2),), constants=(np.array([1, 3, 1, 0, 3]),),
           kink_grads=(np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [2.0, 2.0]]),),
           torch_fn=lambda torch, w, ids: torch.nn.functional.embedding(
               torch.as_tensor(ids), w, padding_idx=1)),
]
