"""Primitives of sequence models: the embedding lookup and whole-sequence recurrences.

A recurrent layer written with elementwise primitives records ~15 graph nodes per time step and
allocates every intermediate. Here one node runs one layer in one direction over the whole
sequence: the input projection of all time steps is a single GEMM, the gate math runs in place
on buffers allocated once per call, and ``backward`` is backpropagation through time in one
loop whose only per-step matrix product is the one through the recurrent weight; the weight
gradients are again single GEMMs over all steps.

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

import numpy as np

from ..autograd import Function
from ..backend import array_module, scatter_add

__all__ = ["EmbeddingLookup", "GRUSequence", "LSTMSequence", "RNNSequence"]


class EmbeddingLookup(Function):
    """y[p] = W[idx[p]] for every position p of the integer array ``idx``;
    dL/dW[v] = Σ_{p : idx[p] = v} dL/dy[p] (a scatter-add), and 0 for row ``padding_idx``

    Shape: W (V, D), idx (*) → y (*, D).

    # NOTE: row ``padding_idx`` gets no gradient although the output depends on it (it is a
    # fixed padding vector, as in PyTorch), so central differences disagree on that row.
    """

    def forward(self, weight, indices, padding_idx=None):
        self.indices, self.shape, self.padding_idx = indices, weight.shape, padding_idx
        return array_module(weight).take(weight, indices, axis=0)

    def backward(self, grad):
        xp = array_module(grad)
        n_rows, dim = self.shape
        out = xp.zeros(n_rows * dim, dtype=grad.dtype)
        # One flat index per element: NumPy's add.at has a fast path for a 1-d index into a
        # 1-d array, 2-4x faster than scattering whole rows with a 2-d target.
        flat = (self.indices.reshape(-1, 1) * dim + xp.arange(dim)).reshape(-1)
        scatter_add(out, flat, grad.reshape(-1))
        out = out.reshape(n_rows, dim)
        if self.padding_idx is not None:
            out[self.padding_idx] = 0
        return out


# ---------------------------------------------------------------------------- shared helpers
class _Steps:
    """Time indexing of one direction: the order of steps and where each step's previous
    state lives (``None``: the initial state)."""

    def __init__(self, length: int, reverse: bool):
        self.length, self.reverse = length, reverse
        self.order = range(length - 1, -1, -1) if reverse else range(length)
        self.first = length - 1 if reverse else 0
        # All steps but the first read their previous state from the state buffer: step t at
        # t-1 (forward) or t+1 (reverse). ``inner``/``before`` slice those in bulk.
        self.inner = slice(0, length - 1) if reverse else slice(1, length)
        self.before = slice(1, length) if reverse else slice(0, length - 1)

    def prev(self, t: int):
        if t == self.first:
            return None
        return t + 1 if self.reverse else t - 1


def _float_mask(mask, dtype):
    """The (T, B) boolean mask as (T, B, 1) 0/1 values and their complement, or (None, None)."""
    if mask is None:
        return None, None
    keep = mask[:, :, None].astype(dtype)
    return keep, 1 - keep


def _project(x, weight, bias, dtype, out=None):
    """x W^T + b for all time steps in one GEMM: (T, B, I) → (T, B, G), into ``out`` if given."""
    steps, batch, n_in = x.shape
    x2, w_t = x.reshape(steps * batch, n_in), weight.T
    if out is None:
        out = (x2 @ w_t).astype(dtype, copy=False).reshape(steps, batch, -1)
    else:
        array_module(x).matmul(x2, w_t, out=out.reshape(steps * batch, -1))
    if bias is not None:
        out += bias
    return out


def _start(x, states, weights, n_gates: int):
    """Common checks; the compute dtype (NumPy promotion) and the sizes T, B, H."""
    xp = array_module(x)
    steps, batch, _ = x.shape
    hidden = weights[1].shape[1]
    if weights[0].shape[0] != n_gates * hidden or weights[1].shape[0] != n_gates * hidden:
        raise ValueError(
            f"recurrent weights of shapes {weights[0].shape}, {weights[1].shape} do not hold "
            f"{n_gates} gates of hidden size {hidden}"
        )
    dtype = xp.result_type(x, *states, *(w for w in weights if w is not None))
    return xp, dtype, steps, batch, hidden


def _recurrent_product(weight, h, out_t):
    """h Uᵀ for one step, returned as a (B, G·H) view of ``out_t`` (G·H, B) = U hᵀ: OpenBLAS runs
    the product in this orientation ~15% faster than h Uᵀ for a recurrence's small batches."""
    array_module(h).matmul(weight, h.T, out=out_t)
    return out_t.T


def _all_grads(ctx, d_in, d_rec, state_grads: tuple, order=None) -> tuple:
    """The gradient of every input of a sequence op, from the pre-activation gradients of the
    input side ``d_in`` and the recurrent side ``d_rec`` (T, B, G·H) (one array unless the
    GRU's n gate tells them apart), each a single GEMM or sum over all steps:

        ∂x_t = ∂a_t W_ih,  ∂W_ih = Σ_t ∂a_tᵀ x_t,  ∂W_hh = Σ_t ∂a'_tᵀ h_{t-1},
        ∂b_ih = Σ_t ∂a_t,  ∂b_hh = Σ_t ∂a'_t

    ``order`` maps rows computed in the op's internal gate order back to PyTorch's."""
    steps, x, width = ctx.steps, ctx.x, d_in.shape[-1]
    d2 = d_in.reshape(-1, width)
    gx = (d2 @ ctx.w_ih).reshape(x.shape) if ctx.parents[0].requires_grad else None
    gw_ih = d2.T @ x.reshape(-1, x.shape[-1])
    # Σ_t ∂a'_tᵀ h_{t-1}: one GEMM over every step but the first, whose h_{t-1} is h0.
    gw_hh = d_rec[steps.first].T @ ctx.h0
    if steps.length > 1:
        states = ctx.states
        gw_hh += (d_rec[steps.inner].reshape(-1, width).T
                  @ states[steps.before].reshape(-1, states.shape[-1]))
    weights = [gw_ih, gw_hh]
    if len(ctx.parents) > 3 + len(state_grads):  # the op has biases
        gb_ih = d2.sum(axis=0)
        weights += [gb_ih, gb_ih if d_rec is d_in else d_rec.reshape(-1, width).sum(axis=0)]
    if order is not None:
        weights = [w[order] for w in weights]
    return (gx, *state_grads, *weights)


# ---------------------------------------------------------------------------- RNN
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

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, mask=None, reverse=False,
                nonlinearity="tanh"):
        xp, dtype, length, batch, hidden = _start(x, (h0,), (w_ih, w_hh, b_ih, b_hh), 1)
        bias = None if b_ih is None else b_ih + b_hh
        steps = _Steps(length, reverse)
        keep, drop = _float_mask(mask, dtype)
        packed = xp.empty((length + 1, batch, hidden), dtype=dtype)
        # Without a mask the candidate states are the states and the outputs: the projection
        # is written straight into the output rows and activated there in place.
        if keep is None:
            pre = states = _project(x, w_ih, bias, dtype, out=packed[:length])
        else:
            pre = _project(x, w_ih, bias, dtype)
            states = xp.empty_like(pre)
        w_hh_c = xp.ascontiguousarray(w_hh, dtype=dtype)
        relu = nonlinearity == "relu"
        tmp_t = xp.empty((hidden, batch), dtype=dtype)
        h = self.h0 = h0.astype(dtype, copy=False)
        for t in steps.order:
            a = pre[t]
            a += _recurrent_product(w_hh_c, h, tmp_t)
            if relu:
                xp.maximum(a, 0, out=a)
            else:
                xp.tanh(a, out=a)
            if keep is not None:
                xp.multiply(a, keep[t], out=packed[t])
                xp.multiply(h, drop[t], out=states[t])
                states[t] += packed[t]
            h = states[t]
        packed[length] = h
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh_c
        self.cand, self.states, self.keep, self.drop = pre, states, keep, drop
        self.steps, self.relu = steps, relu
        return packed

    def backward(self, grad):
        xp = array_module(grad)
        steps, cand, keep, drop = self.steps, self.cand, self.keep, self.drop
        length = steps.length
        d_out, dh = grad[:length], grad[length]
        w_hh = self.w_hh.astype(grad.dtype, copy=False)
        d_pre = xp.empty_like(cand)
        for t in steps.order[::-1]:
            da = d_pre[t]
            xp.add(dh, d_out[t], out=da)
            if keep is not None:
                da *= keep[t]
            if self.relu:
                da *= cand[t] > 0
            else:
                da *= 1 - cand[t] * cand[t]
            dh_prev = da @ w_hh
            if drop is not None:
                dh_prev += dh * drop[t]
            dh = dh_prev
        return _all_grads(self, d_pre, d_pre, (dh,))


# ---------------------------------------------------------------------------- LSTM
def _lstm_order(hidden: int):
    """Row order that puts PyTorch's gates i, f, g, o as i, f, o, g: the three sigmoid gates
    become one contiguous block. It swaps two blocks, so it is its own inverse."""
    return np.concatenate([np.arange(2 * hidden), np.arange(3 * hidden, 4 * hidden),
                           np.arange(2 * hidden, 3 * hidden)])


class LSTMSequence(Function):
    """LSTM over a sequence (PyTorch's gate order i, f, g, o):

        i, f, o = σ(W_i· x_t + b_i· + U_i· h_{t-1} + b'_i·)   (three sigmoid gates)
        g = tanh(W_g x_t + b_g + U_g h_{t-1} + b'_g)
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

    Backward, with ∂c_t the gradient from step t+1 and ∂h_t from step t+1 and y_t:
    ∂c = ∂c_t + ∂h_t o (1 - tanh²c_t); ∂o = ∂h_t tanh c_t; ∂i = ∂c g; ∂f = ∂c c_{t-1};
    ∂g = ∂c i; ∂c_{t-1} = ∂c f; pre-activations: ∂a_s = ∂s s(1 - s) for s ∈ {i, f, o},
    ∂a_g = ∂g (1 - g²); ∂h_{t-1} = ∂a U; weights as in ``RNNSequence``.

    Computing: σ(a) = ½ + ½ tanh(a/2), so the forward scales the sigmoid rows of the weights
    by ½ once per call and runs one tanh over all four gates at each step.

    Inputs: x (T, B, I), h0 (B, H), c0 (B, H), w_ih (4H, I), w_hh (4H, H)[, b_ih, b_hh (4H,)];
    output: packed (T + 2, B, H) = [y_0 … y_{T-1}, h_n, c_n].
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, mask=None, reverse=False):
        xp, dtype, length, batch, hidden = _start(x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), 4)
        order = _lstm_order(hidden)
        w_ih, w_hh = w_ih[order].astype(dtype, copy=False), w_hh[order].astype(dtype, copy=False)
        half = xp.ones((4 * hidden, 1), dtype=dtype)
        half[:3 * hidden] = 0.5
        bias = None if b_ih is None else (b_ih + b_hh)[order] * half[:, 0]
        steps = _Steps(length, reverse)
        keep, drop = _float_mask(mask, dtype)

        gates = _project(x, w_ih * half, bias, dtype)  # becomes i, f, o, g
        packed = xp.empty((length + 2, batch, hidden), dtype=dtype)
        states = packed[:length] if keep is None else xp.empty((length, batch, hidden), dtype)
        cells = xp.empty((length, batch, hidden), dtype=dtype)
        tanh_cells = xp.empty_like(cells)  # tanh of each candidate cell
        w_hh_half = w_hh * half
        tmp_t = xp.empty((4 * hidden, batch), dtype=dtype)
        tmp_h = xp.empty((batch, hidden), dtype=dtype)
        sig, i, f, o, g = (slice(0, 3 * hidden), slice(0, hidden), slice(hidden, 2 * hidden),
                           slice(2 * hidden, 3 * hidden), slice(3 * hidden, None))
        h, c = self.h0, self.c0 = h0.astype(dtype, copy=False), c0.astype(dtype, copy=False)
        for t in steps.order:
            a = gates[t]
            a += _recurrent_product(w_hh_half, h, tmp_t)
            xp.tanh(a, out=a)
            s = a[:, sig]
            s *= 0.5
            s += 0.5
            c_new, h_new = cells[t], states[t]
            xp.multiply(a[:, f], c, out=c_new)
            xp.multiply(a[:, i], a[:, g], out=tmp_h)
            c_new += tmp_h
            xp.tanh(c_new, out=tanh_cells[t])
            xp.multiply(a[:, o], tanh_cells[t], out=h_new)
            if keep is not None:
                xp.multiply(h_new, keep[t], out=packed[t])
                _blend(h_new, h, keep[t], drop[t], tmp_h)
                _blend(c_new, c, keep[t], drop[t], tmp_h)
            h, c = h_new, c_new
        packed[length] = h
        packed[length + 1] = c
        self.x, self.w_ih, self.w_hh, self.gate_order = x, w_ih, w_hh, order
        self.gates, self.cells, self.tanh_cells, self.states = gates, cells, tanh_cells, states
        self.keep, self.drop, self.steps = keep, drop, steps
        return packed

    def backward(self, grad):
        xp = array_module(grad)
        steps, gates, keep, drop = self.steps, self.gates, self.keep, self.drop
        length, hidden = steps.length, self.cells.shape[-1]
        d_out, dh, dc = grad[:length], grad[length], grad[length + 1]
        w_hh = self.w_hh
        d_pre = xp.empty_like(gates)
        dh_new = xp.empty_like(dh)
        tmp = xp.empty_like(dh)
        sig, i, f, o, g = (slice(0, 3 * hidden), slice(0, hidden), slice(hidden, 2 * hidden),
                           slice(2 * hidden, 3 * hidden), slice(3 * hidden, None))
        for t in steps.order[::-1]:
            a, da, tc = gates[t], d_pre[t], self.tanh_cells[t]
            prev = steps.prev(t)
            c_prev = self.c0 if prev is None else self.cells[prev]
            xp.add(dh, d_out[t], out=dh_new)
            if keep is not None:
                dh_new *= keep[t]
                dc_carry = dc * drop[t]
                dc = dc * keep[t]
            # ∂c = ∂c_t + ∂h o (1 - tanh² c)
            xp.multiply(tc, tc, out=tmp)
            xp.subtract(1, tmp, out=tmp)
            tmp *= a[:, o]
            tmp *= dh_new
            dc_total = tmp
            dc_total += dc
            xp.multiply(dc_total, a[:, g], out=da[:, i])
            xp.multiply(dc_total, c_prev, out=da[:, f])
            xp.multiply(dh_new, tc, out=da[:, o])
            s = a[:, sig]
            da[:, sig] *= s * (1 - s)
            xp.multiply(a[:, g], a[:, g], out=da[:, g])
            xp.subtract(1, da[:, g], out=da[:, g])
            da[:, g] *= a[:, i]
            da[:, g] *= dc_total
            dc = dc_total * a[:, f]
            dh_prev = da @ w_hh
            if drop is not None:
                dh_prev += dh * drop[t]
                dc += dc_carry
            dh = dh_prev
        return _all_grads(self, d_pre, d_pre, (dh, dc), order=self.gate_order)


def _blend(new, prev, keep, drop, tmp):
    """new = keep · new + drop · prev in place (the mask's pass-through of a skipped step)."""
    new *= keep
    array_module(new).multiply(prev, drop, out=tmp)
    new += tmp


# ---------------------------------------------------------------------------- GRU
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

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, mask=None, reverse=False):
        xp, dtype, length, batch, hidden = _start(x, (h0,), (w_ih, w_hh, b_ih, b_hh), 3)
        # σ(a) = ½ + ½ tanh(a/2): the r and z rows are scaled by ½ (see LSTMSequence).
        half = xp.ones((3 * hidden, 1), dtype=dtype)
        half[:2 * hidden] = 0.5
        steps = _Steps(length, reverse)
        keep, drop = _float_mask(mask, dtype)
        gates = _project(x, w_ih * half, None if b_ih is None else b_ih * half[:, 0],
                         dtype)  # becomes r, z, n
        recurrent = xp.empty_like(gates)  # U h_{t-1} + b' per step (its n part is q)
        packed = xp.empty((length + 1, batch, hidden), dtype=dtype)
        states = packed[:length] if keep is None else xp.empty((length, batch, hidden), dtype)
        w_hh_half = (w_hh * half).astype(dtype, copy=False)
        b_hh = None if b_hh is None else (b_hh * half[:, 0]).astype(dtype, copy=False)
        tmp = xp.empty((batch, hidden), dtype=dtype)
        tmp_t = xp.empty((3 * hidden, batch), dtype=dtype)
        rz, r, z, n = (slice(0, 2 * hidden), slice(0, hidden), slice(hidden, 2 * hidden),
                       slice(2 * hidden, None))
        h = self.h0 = h0.astype(dtype, copy=False)
        for t in steps.order:
            a, u = gates[t], recurrent[t]
            product = _recurrent_product(w_hh_half, h, tmp_t)
            if b_hh is None:
                u[...] = product
            else:
                xp.add(product, b_hh, out=u)
            s = a[:, rz]
            s += u[:, rz]
            xp.tanh(s, out=s)
            s *= 0.5
            s += 0.5
            xp.multiply(a[:, r], u[:, n], out=tmp)
            a[:, n] += tmp
            xp.tanh(a[:, n], out=a[:, n])
            h_new = states[t]
            xp.subtract(h, a[:, n], out=tmp)
            tmp *= a[:, z]
            xp.add(a[:, n], tmp, out=h_new)
            if keep is not None:
                xp.multiply(h_new, keep[t], out=packed[t])
                _blend(h_new, h, keep[t], drop[t], tmp)
            h = h_new
        packed[length] = h
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh
        self.gates, self.recurrent, self.states = gates, recurrent, states
        self.keep, self.drop, self.steps = keep, drop, steps
        return packed

    def backward(self, grad):
        xp = array_module(grad)
        steps, gates, keep, drop = self.steps, self.gates, self.keep, self.drop
        length, hidden = steps.length, self.states.shape[-1]
        d_out, dh = grad[:length], grad[length]
        w_hh = self.w_hh.astype(grad.dtype, copy=False)
        d_in = xp.empty_like(gates)
        d_rec = xp.empty_like(gates)
        dh_new = xp.empty_like(dh)
        r, z, n = slice(0, hidden), slice(hidden, 2 * hidden), slice(2 * hidden, None)
        for t in steps.order[::-1]:
            a, u, di, dr = gates[t], self.recurrent[t], d_in[t], d_rec[t]
            prev = steps.prev(t)
            h_prev = self.h0 if prev is None else self.states[prev]
            xp.add(dh, d_out[t], out=dh_new)
            if keep is not None:
                dh_new *= keep[t]
            # ∂a_n = ∂h (1 - z)(1 - n²)
            xp.multiply(a[:, n], a[:, n], out=di[:, n])
            xp.subtract(1, di[:, n], out=di[:, n])
            di[:, n] *= 1 - a[:, z]
            di[:, n] *= dh_new
            # ∂a_z = ∂h (h_{t-1} - n) z (1 - z)
            xp.subtract(h_prev, a[:, n], out=di[:, z])
            di[:, z] *= dh_new
            di[:, z] *= a[:, z] * (1 - a[:, z])
            # ∂a_r = ∂a_n q r (1 - r)
            xp.multiply(di[:, n], u[:, n], out=di[:, r])
            di[:, r] *= a[:, r] * (1 - a[:, r])
            dr[:, :2 * hidden] = di[:, :2 * hidden]
            xp.multiply(di[:, n], a[:, r], out=dr[:, n])
            dh_prev = dr @ w_hh
            dh_prev += dh_new * a[:, z]
            if drop is not None:
                dh_prev += dh * drop[t]
            dh = dh_prev
        return _all_grads(self, d_in, d_rec, (dh,))
