"""Whole-sequence RNN, LSTM and GRU loops that run in place on buffers allocated once per call.

What it computes: one layer in one direction over a whole sequence, with the conventions and
formulas written in ``chainrule.ops.recurrent``. ``RNNLoop``, ``LSTMLoop`` and ``GRULoop`` each
keep what their backward needs: ``forward(x, h0[, c0], w_ih, w_hh, b_ih, b_hh, mask, reverse)``
returns the packed array [y_0 … y_{T-1}, final states], ``backward(grad, input_grad)`` the
gradient of every input in the op's input order.

Why it is fast: a recurrence written with elementwise primitives records ~15 graph nodes per
time step and allocates every intermediate. Here:

- the input projection of all time steps is one GEMM (``_project``), written straight into the
  buffer the step loop then activates in place;
- the only per-step matrix product is the one through the recurrent weight, computed as
  ``U hᵀ`` into a preallocated (G·H, B) buffer (OpenBLAS runs that orientation ~15% faster than
  ``h Uᵀ`` for a recurrence's small batches);
- the LSTM's gates are reordered i, f, o, g so the three sigmoid gates are one contiguous
  block, and σ(a) = ½ + ½ tanh(a/2) lets one ``tanh`` over all gates serve both nonlinearities:
  the sigmoid rows of the weights are scaled by ½ once per call (the GRU does the same for r, z);
- the LSTM keeps every per-step array feature-major, (4·H, B), so its gate arithmetic runs on
  contiguous rows and the recurrent product lands where the gates are (see ``LSTMLoop``);
- backward is one loop whose only per-step product is again the recurrent one; the weight
  gradients and the input gradient are single GEMMs over all steps (``_gradients``).

A CuPy formulation would keep this structure (cuBLAS for the products) and fuse each step's
gate arithmetic into one ``ElementwiseKernel``.
"""

from __future__ import annotations

from typing import Any

from .arrays import array_module

__all__ = ["GRULoop", "LSTMLoop", "RNNLoop"]


class _Steps:
    """Time indexing of one direction: the order of steps and where each step's previous
    state lives (``None``: the initial state)."""

    def __init__(self, length: int, reverse: bool) -> None:
        self.length, self.reverse = length, reverse
        self.order = range(length - 1, -1, -1) if reverse else range(length)
        self.first = length - 1 if reverse else 0
        # All steps but the first read their previous state from the state buffer: step t at
        # t-1 (forward) or t+1 (reverse). ``inner``/``before`` slice those in bulk.
        self.inner = slice(0, length - 1) if reverse else slice(1, length)
        self.before = slice(1, length) if reverse else slice(0, length - 1)

    def prev(self, t: int) -> int | None:
        if t == self.first:
            return None
        return t + 1 if self.reverse else t - 1


def _float_mask(mask: Any, dtype: Any) -> Any:
    """The (T, B) boolean mask as (T, B, 1) 0/1 values and their complement, or (None, None)."""
    if mask is None:
        return None, None
    keep = mask[:, :, None].astype(dtype)
    return keep, 1 - keep


def _project(x: Any, weight: Any, bias: Any, dtype: Any, out: Any = None) -> Any:
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


def _recurrent_product(weight: Any, h: Any, out_t: Any) -> Any:
    """h Uᵀ for one step, returned as a (B, G·H) view of ``out_t`` (G·H, B) = U hᵀ."""
    array_module(h).matmul(weight, h.T, out=out_t)
    return out_t.T


def _blend(new: Any, prev: Any, keep: Any, drop: Any, tmp: Any) -> None:
    """new = keep · new + drop · prev in place (the mask's pass-through of a skipped step)."""
    new *= keep
    array_module(new).multiply(prev, drop, out=tmp)
    new += tmp


class _Loop:
    """What every loop keeps for backward: the input ``x``, the initial state ``h0``, the
    states of all steps, the input weight ``w_ih`` (in the loop's gate order), the steps, the
    mask and whether there are biases."""

    states: Any  # (T, B, H): the state after each step (set by forward)
    gate_order = None  # rows of the loop's gate order in PyTorch's order (None: the same)

    def _start(self, x: Any, h0: Any, w_ih: Any, mask: Any, reverse: bool, biases: bool,
               dtype: Any) -> None:
        self.x, self.w_ih, self.biases = x, w_ih, biases
        self.h0 = h0.astype(dtype, copy=False)
        self.steps = _Steps(x.shape[0], reverse)
        self.keep, self.drop = _float_mask(mask, dtype)

    def _gradients(self, d_in: Any, d_rec: Any, state_grads: tuple[Any, ...],
                   input_grad: bool) -> tuple[Any, ...]:
        """The gradient of every input, from the pre-activation gradients of the input side
        ``d_in`` and the recurrent side ``d_rec`` (T·B, G·H), one row per step and sample (one
        matrix unless the GRU's n gate tells them apart; transposed views are taken as they
        are), each a single GEMM or sum over all steps:

            ∂x_t = ∂a_t W_ih,  ∂W_ih = Σ_t ∂a_tᵀ x_t,  ∂W_hh = Σ_t ∂a'_tᵀ h_{t-1},
            ∂b_ih = Σ_t ∂a_t,  ∂b_hh = Σ_t ∂a'_t
        """
        steps, x = self.steps, self.x
        batch = x.shape[1]
        gx = (d_in @ self.w_ih).reshape(x.shape) if input_grad else None
        gw_ih = d_in.T @ x.reshape(-1, x.shape[-1])
        # Σ_t ∂a'_tᵀ h_{t-1}: one GEMM over every step but the first, whose h_{t-1} is h0.
        gw_hh = d_rec[steps.first * batch:(steps.first + 1) * batch].T @ self.h0
        if steps.length > 1:
            states, inner = self.states, steps.inner
            gw_hh += (d_rec[inner.start * batch:inner.stop * batch].T
                      @ states[steps.before].reshape(-1, states.shape[-1]))
        weights = [gw_ih, gw_hh]
        if self.biases:
            gb_ih = d_in.sum(axis=0)
            weights += [gb_ih, gb_ih if d_rec is d_in else d_rec.sum(axis=0)]
        if self.gate_order is not None:
            weights = [w[self.gate_order] for w in weights]
        return (gx, *state_grads, *weights)


class RNNLoop(_Loop):
    """``h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` over the sequence, φ = tanh or relu;
    ``forward`` returns the packed (T + 1, B, H) array."""

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                mask: Any = None, reverse: bool = False, nonlinearity: str = "tanh") -> Any:
        xp = array_module(x)
        dtype = xp.result_type(x, h0, *(w for w in (w_ih, w_hh, b_ih, b_hh) if w is not None))
        self._start(x, h0, w_ih, mask, reverse, b_ih is not None, dtype)
        length, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        bias = None if b_ih is None else b_ih + b_hh
        keep, drop = self.keep, self.drop
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
        h = self.h0
        for t in self.steps.order:
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
        self.w_hh, self.cand, self.states, self.relu = w_hh_c, pre, states, relu
        return packed

    def backward(self, grad: Any, input_grad: bool) -> tuple[Any, ...]:
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
        d_rows = d_pre.reshape(-1, d_pre.shape[-1])
        return self._gradients(d_rows, d_rows, (dh,), input_grad)


def _lstm_order(xp: Any, hidden: int) -> Any:
    """Row order that puts PyTorch's gates i, f, g, o as i, f, o, g: the three sigmoid gates
    become one contiguous block. It swaps two blocks, so it is its own inverse."""
    return xp.concatenate([xp.arange(2 * hidden), xp.arange(3 * hidden, 4 * hidden),
                           xp.arange(2 * hidden, 3 * hidden)])


class LSTMLoop(_Loop):
    """The LSTM over the sequence (gates in the order i, f, o, g inside the loop); ``forward``
    returns the packed (T + 2, B, H) array.

    Inside the loop every per-step array is feature-major, (G·H, B): the gates of step t are
    one contiguous block, the recurrent product ``U h_{t-1}`` is written there by BLAS in the
    orientation it runs fastest, and each gate is a contiguous run of rows. Measured on the
    benchmark's (32, 4·256) gates, the step's gate arithmetic took 145 µs batch-major (strided
    gate columns, the product added transposed) and 33 µs feature-major. Outputs and state
    gradients are turned to (B, H) once per step (a 32x256 transposed copy: ~5 µs)."""

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, mask: Any = None, reverse: bool = False) -> Any:
        xp = array_module(x)
        dtype = xp.result_type(x, h0, c0,
                               *(w for w in (w_ih, w_hh, b_ih, b_hh) if w is not None))
        length, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        order = self.gate_order = _lstm_order(xp, hidden)
        w_ih, w_hh = w_ih[order].astype(dtype, copy=False), w_hh[order].astype(dtype, copy=False)
        self._start(x, h0, w_ih, mask, reverse, b_ih is not None, dtype)
        half = xp.ones((4 * hidden, 1), dtype=dtype)
        half[:3 * hidden] = 0.5
        keep, drop = _feature_major(self.keep), _feature_major(self.drop)

        # W_ih x_tᵀ for all steps: one batched product straight into (T, 4H, B).
        gates = xp.empty((length, 4 * hidden, batch), dtype=dtype)  # becomes i, f, o, g
        xp.matmul(w_ih * half, x.transpose(0, 2, 1), out=gates)
        if b_ih is not None:
            gates += ((b_ih + b_hh)[order] * half[:, 0])[:, None]
        packed = xp.empty((length + 2, batch, hidden), dtype=dtype)
        # Backward's ∂W_hh needs the states one row per step and sample, as the outputs are.
        states = packed[:length] if keep is None else xp.empty((length, batch, hidden), dtype)
        cells = xp.empty((length, hidden, batch), dtype=dtype)
        tanh_cells = xp.empty_like(cells)  # tanh of each candidate cell
        w_hh_half = w_hh * half
        product = xp.empty((4 * hidden, batch), dtype=dtype)
        tmp = xp.empty((hidden, batch), dtype=dtype)
        h_buffers = (xp.empty((hidden, batch), dtype=dtype), xp.empty((hidden, batch), dtype))
        sig, i, f, o, g = _lstm_rows(hidden)
        self.c0 = c0.astype(dtype, copy=False)
        h, c = self.h0.T, self.c0.T
        for n, t in enumerate(self.steps.order):
            a, c_new, h_new = gates[t], cells[t], h_buffers[n % 2]
            xp.matmul(w_hh_half, h, out=product)
            a += product
            xp.tanh(a, out=a)
            s = a[sig]
            s *= 0.5
            s += 0.5
            xp.multiply(a[f], c, out=c_new)
            xp.multiply(a[i], a[g], out=tmp)
            c_new += tmp
            xp.tanh(c_new, out=tanh_cells[t])
            xp.multiply(a[o], tanh_cells[t], out=h_new)
            if keep is not None:
                xp.multiply(h_new, keep[t], out=packed[t].T)
                _blend(h_new, h, keep[t], drop[t], tmp)
                _blend(c_new, c, keep[t], drop[t], tmp)
            xp.copyto(states[t].T, h_new)
            h, c = h_new, c_new
        packed[length] = h.T
        packed[length + 1] = c.T
        self.w_hh = w_hh
        self.gates, self.cells, self.tanh_cells, self.states = gates, cells, tanh_cells, states
        return packed

    def backward(self, grad: Any, input_grad: bool) -> tuple[Any, ...]:
        xp = array_module(grad)
        steps, gates, cells = self.steps, self.gates, self.cells
        keep, drop = _feature_major(self.keep), _feature_major(self.drop)
        length, hidden, batch = steps.length, cells.shape[1], cells.shape[2]
        d_out = grad[:length]
        dh, dh_prev = xp.empty((hidden, batch), grad.dtype), xp.empty((hidden, batch), grad.dtype)
        dc = xp.empty_like(dh)
        xp.copyto(dh, grad[length].T)
        xp.copyto(dc, grad[length + 1].T)
        w_hh_t = self.w_hh.astype(grad.dtype, copy=False).T
        # Feature-major over all steps, (4H, T, B), so the weight gradients are single GEMMs.
        d_pre = xp.empty((4 * hidden, length, batch), dtype=grad.dtype)
        da = xp.empty((4 * hidden, batch), dtype=grad.dtype)
        dh_new, dc_total = xp.empty_like(dh), xp.empty_like(dh)
        slope = xp.empty((3 * hidden, batch), dtype=grad.dtype)
        sig, i, f, o, g = _lstm_rows(hidden)
        c0 = self.c0.T
        for t in steps.order[::-1]:
            a, tc = gates[t], self.tanh_cells[t]
            prev = steps.prev(t)
            c_prev = c0 if prev is None else cells[prev]
            xp.add(dh, d_out[t].T, out=dh_new)
            if keep is not None:
                dh_new *= keep[t]
                dc_carry = dc * drop[t]
                dc *= keep[t]
            # ∂c = ∂c_t + ∂h o (1 - tanh² c)
            xp.multiply(tc, tc, out=dc_total)
            xp.subtract(1, dc_total, out=dc_total)
            dc_total *= a[o]
            dc_total *= dh_new
            dc_total += dc
            xp.multiply(dc_total, a[g], out=da[i])
            xp.multiply(dc_total, c_prev, out=da[f])
            xp.multiply(dh_new, tc, out=da[o])
            s = a[sig]
            xp.subtract(1, s, out=slope)
            slope *= s
            da[sig] *= slope
            xp.multiply(a[g], a[g], out=da[g])
            xp.subtract(1, da[g], out=da[g])
            da[g] *= a[i]
            da[g] *= dc_total
            xp.multiply(dc_total, a[f], out=dc)
            xp.matmul(w_hh_t, da, out=dh_prev)
            if drop is not None:
                dh_prev += dh * drop[t]
                dc += dc_carry
            d_pre[:, t] = da
            dh, dh_prev = dh_prev, dh
        d_rows = d_pre.reshape(4 * hidden, -1).T
        state_grads = (xp.ascontiguousarray(dh.T), xp.ascontiguousarray(dc.T))
        return self._gradients(d_rows, d_rows, state_grads, input_grad)


def _lstm_rows(hidden: int) -> tuple[slice, ...]:
    """The slices of the sigmoid block and of the gates i, f, o, g in the loop's order."""
    return (slice(0, 3 * hidden), slice(0, hidden), slice(hidden, 2 * hidden),
            slice(2 * hidden, 3 * hidden), slice(3 * hidden, None))


def _feature_major(values: Any) -> Any:
    """A (T, B, 1) mask as (T, 1, B), to scale feature-major (H, B) steps (None stays None)."""
    return None if values is None else values.transpose(0, 2, 1)


class GRULoop(_Loop):
    """The GRU over the sequence; ``forward`` returns the packed (T + 1, B, H) array."""

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                mask: Any = None, reverse: bool = False) -> Any:
        xp = array_module(x)
        dtype = xp.result_type(x, h0, *(w for w in (w_ih, w_hh, b_ih, b_hh) if w is not None))
        self._start(x, h0, w_ih, mask, reverse, b_ih is not None, dtype)
        length, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        # σ(a) = ½ + ½ tanh(a/2): the r and z rows are scaled by ½ (see the module docstring).
        half = xp.ones((3 * hidden, 1), dtype=dtype)
        half[:2 * hidden] = 0.5
        keep, drop = self.keep, self.drop
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
        h = self.h0
        for t in self.steps.order:
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
        self.w_hh = w_hh
        self.gates, self.recurrent, self.states = gates, recurrent, states
        return packed

    def backward(self, grad: Any, input_grad: bool) -> tuple[Any, ...]:
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
        width = gates.shape[-1]
        return self._gradients(d_in.reshape(-1, width), d_rec.reshape(-1, width), (dh,),
                               input_grad)
