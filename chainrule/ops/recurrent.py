"""Whole-sequence recurrences: one graph node runs one layer in one direction over a sequence.

A recurrent layer written with elementwise primitives records ~15 graph nodes per time step;
here each op's ``backward`` is backpropagation through time over the whole sequence. The loops
themselves (one GEMM for all input projections, gate arithmetic in place on buffers allocated
once) are ``chainrule.backend.recurrent``; arguments are checked by ``chainrule.nn.functional``
(``rnn``, ``lstm``, ``gru`` and their cells).

Conventions shared by ``RNNSequence``, ``LSTMSequence`` and ``GRUSequence``:

- Inputs are time-major: ``x`` (T, B, I), states (B, H); weights as PyTorch stores them,
  ``w_ih`` (G·H, I), ``w_hh`` (G·H, H), optional biases ``b_ih``, ``b_hh`` (G·H,) with the gates
  in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
- The op has one output, the *packed* array (T + S, B, H): rows 0…T-1 are the outputs
  ``y_t``, then the S final states (h, and c for the LSTM). The layers slice it.
- ``reverse=True`` runs from t = T-1 down to 0 (the backward half of a bidirectional layer).
- ``mask`` (T, B) of bools, or None for all True: where ``mask[t, b]`` is False, step t skips
  sequence b — its state passes through unchanged and ``y_t`` is 0. With a right-padded batch
  the final state is then each sequence's state at its true end, in both directions, which
  is what PyTorch's packed sequences give.

With ``m`` the mask as 0/1, every step computes a candidate ``h̃_t`` (and ``c̃_t``) and sets
``h_t = m h̃_t + (1 - m) h_{t-1}``, ``y_t = m h̃_t``; backward sends ``m (∂h_t + ∂y_t)`` into
the cell and ``(1 - m) ∂h_t`` straight to ``h_{t-1}``.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, composite_gradients
from ..backend import array_module
from ..backend.recurrent import GRULoop, LSTMLoop, RNNLoop

__all__ = ["GRUSequence", "LSTMSequence", "RNNSequence"]


def _unrolled(op: Any, cell: Any) -> Any:
    """``op``'s packed output recomputed with recorded ops, step by step: ``cell(x_t, states,
    gi, gh)`` gives the new states (h first) from the input and recurrent projections
    ``gi = x_t W_ihᵀ + b_ih``, ``gh = h W_hhᵀ + b_hh``. The loops keep gates and states as
    arrays, so under ``create_graph`` the op is differentiated through this composite."""
    x, *rest = op.parents
    n_states = len(rest) - 2 - op.n_biases
    states, (w_ih, w_hh, *biases) = tuple(rest[:n_states]), rest[n_states:]
    b_ih, b_hh = (biases + [None, None])[:2]
    steps = range(x.shape[0] - 1, -1, -1) if op.reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    for t in steps:
        gi = x[t] @ w_ih.T if b_ih is None else x[t] @ w_ih.T + b_ih
        gh = states[0] @ w_hh.T if b_hh is None else states[0] @ w_hh.T + b_hh
        new = cell(x[t], states, gi, gh)
        if op.mask is None:
            states, outputs[t] = new, new[0]
        else:
            m = op.mask[t][:, None].astype(x.dtype)
            states = tuple(m * a + (1 - m) * b for a, b in zip(new, states))
            outputs[t] = new[0] * m
    return array_module(x).stack(outputs + list(states), axis=0)


class RNNSequence(Function):
    """Elman RNN over a sequence: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
    φ = tanh (φ' = 1 - h_t²) or relu (φ' = [h_t > 0]).

    Backward (a_t the pre-activation, ∂h_t the gradient reaching h_t from later steps and y_t):
    ∂a_t = ∂h_t φ'(a_t), ∂h_{t-1} = ∂a_t W_hh, ∂W_ih = Σ_t ∂a_tᵀ x_t, ∂W_hh = Σ_t ∂a_tᵀ h_{t-1},
    ∂b = Σ_t ∂a_t, ∂x_t = ∂a_t W_ih.

    Inputs: x (T, B, I), h0 (B, H), w_ih (H, I), w_hh (H, H)[, b_ih (H,), b_hh (H,)];
    output: packed (T + 1, B, H) = [y_0 … y_{T-1}, h_n].

    # NOTE: relu's gradient at a pre-activation of exactly 0 is 0, as in PyTorch.
    """

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                mask: Any = None, reverse: bool = False, nonlinearity: str = "tanh") -> Any:
        self.loop = RNNLoop()
        self.mask, self.reverse, self.nonlinearity = mask, reverse, nonlinearity
        self.n_biases = (b_ih is not None) + (b_hh is not None)
        return self.loop.forward(x, h0, w_ih, w_hh, b_ih, b_hh, mask, reverse, nonlinearity)

    def backward(self, grad: Any) -> Any:
        x, *_ = self.parents or ()
        return self.loop.backward(grad, x.requires_grad)

    def backward_graph(self, grad: Any) -> Any:
        def cell(x_t: Any, states: Any, gi: Any, gh: Any) -> Any:
            a = gi + gh
            return (a.tanh() if self.nonlinearity == "tanh" else a.relu(),)

        return composite_gradients(self, _unrolled(self, cell), grad)


class LSTMSequence(Function):
    """LSTM over a sequence (PyTorch's gate order i, f, g, o):

        i, f, o = σ(W_i· x_t + b_i· + U_i· h_{t-1} + b'_i·)   (three sigmoid gates)
        g = tanh(W_g x_t + b_g + U_g h_{t-1} + b'_g)
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

    Backward, with ∂c_t the gradient from step t+1 and ∂h_t from step t+1 and y_t:
    ∂c = ∂c_t + ∂h_t o (1 - tanh²c_t); ∂o = ∂h_t tanh c_t; ∂i = ∂c g; ∂f = ∂c c_{t-1};
    ∂g = ∂c i; ∂c_{t-1} = ∂c f; pre-activations: ∂a_s = ∂s s(1 - s) for s ∈ {i, f, o},
    ∂a_g = ∂g (1 - g²); ∂h_{t-1} = ∂a U; weights as in ``RNNSequence``.

    Inputs: x (T, B, I), h0 (B, H), c0 (B, H), w_ih (4H, I), w_hh (4H, H)[, b_ih, b_hh (4H,)];
    output: packed (T + 2, B, H) = [y_0 … y_{T-1}, h_n, c_n].
    """

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, mask: Any = None, reverse: bool = False) -> Any:
        self.loop = LSTMLoop()
        self.mask, self.reverse = mask, reverse
        self.n_biases = (b_ih is not None) + (b_hh is not None)
        return self.loop.forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, reverse)

    def backward(self, grad: Any) -> Any:
        x, *_ = self.parents or ()
        return self.loop.backward(grad, x.requires_grad)

    def backward_graph(self, grad: Any) -> Any:
        def cell(x_t: Any, states: Any, gi: Any, gh: Any) -> Any:
            a, n = gi + gh, states[0].shape[1]
            i, f, o = a[:, :n].sigmoid(), a[:, n:2 * n].sigmoid(), a[:, 3 * n:].sigmoid()
            c = f * states[1] + i * a[:, 2 * n:3 * n].tanh()
            return o * c.tanh(), c

        return composite_gradients(self, _unrolled(self, cell), grad)


class GRUSequence(Function):
    """GRU over a sequence (PyTorch's gate order r, z, n):

        r = σ(W_r x_t + b_r + U_r h_{t-1} + b'_r),   z = σ(W_z x_t + b_z + U_z h_{t-1} + b'_z)
        n = tanh(W_n x_t + b_n + r ⊙ (U_n h_{t-1} + b'_n))
        h_t = (1 - z) n + z h_{t-1}

    Backward, with ∂h the gradient reaching h_t and q = U_n h_{t-1} + b'_n:
    ∂n = ∂h (1 - z); ∂z = ∂h (h_{t-1} - n); ∂a_n = ∂n (1 - n²); ∂r = ∂a_n q;
    ∂a_r = ∂r r (1 - r); ∂a_z = ∂z z (1 - z). The input side gets (∂a_r, ∂a_z, ∂a_n), the
    recurrent side (∂a_r, ∂a_z, r ∂a_n), so ∂h_{t-1} = ∂h z + (∂a_r, ∂a_z, r ∂a_n) U.

    Inputs: x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H)[, b_ih, b_hh (3H,)];
    output: packed (T + 1, B, H) = [y_0 … y_{T-1}, h_n].
    """

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                mask: Any = None, reverse: bool = False) -> Any:
        self.loop = GRULoop()
        self.mask, self.reverse = mask, reverse
        self.n_biases = (b_ih is not None) + (b_hh is not None)
        return self.loop.forward(x, h0, w_ih, w_hh, b_ih, b_hh, mask, reverse)

    def backward(self, grad: Any) -> Any:
        x, *_ = self.parents or ()
        return self.loop.backward(grad, x.requires_grad)

    def backward_graph(self, grad: Any) -> Any:
        def cell(x_t: Any, states: Any, gi: Any, gh: Any) -> Any:
            n = states[0].shape[1]
            r = (gi[:, :n] + gh[:, :n]).sigmoid()
            z = (gi[:, n:2 * n] + gh[:, n:2 * n]).sigmoid()
            candidate = (gi[:, 2 * n:] + r * gh[:, 2 * n:]).tanh()
            return ((1 - z) * candidate + z * states[0],)

        return composite_gradients(self, _unrolled(self, cell), grad)
