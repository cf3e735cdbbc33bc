"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, with PyTorch's API.

Each layer and direction runs as one fused op (``chainrule.ops.recurrent``): the graph has one
node per layer and direction, whatever the sequence length, so backpropagation through
thousands of time steps costs memory for the saved activations but no graph overhead.

Parameters carry PyTorch's names, shapes and gate order, so a PyTorch ``state_dict`` loads
as it is (``load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})``):

==========  ===============================  ======================  ====================
layer       ``weight_ih_l{k}[_reverse]``     ``weight_hh_l{k}``      rows (gate order)
==========  ===============================  ======================  ====================
RNN         (H, I) layer 0, (H, D·H) above   (H, H)                  one block
LSTM        (4H, I) / (4H, D·H)              (4H, H)                 i, f, g, o
GRU         (3H, I) / (3H, D·H)              (3H, H)                 r, z, n
==========  ===============================  ======================  ====================

with ``bias_ih_l{k}`` and ``bias_hh_l{k}`` of the rows' length, and D = 2 when
bidirectional. (Keras stores LSTM kernels transposed with gates i, f, c, o — the same order
as i, f, g, o.)
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.recurrent import GRUSequence, LSTMSequence, RNNSequence
from ..random import resolve
from ..tensor import Tensor, concatenate, stack
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]


def _add_weights(module: Module, suffix: str, width: int, hidden: int, gates: int, bias: bool,
                 dtype, generator) -> None:
    """Register ``weight_ih{suffix}`` (G·H, width), ``weight_hh{suffix}`` (G·H, H) and the
    biases, all drawn from U(-1/√H, 1/√H), PyTorch's recurrent initialisation."""
    rows, bound = gates * hidden, 1 / math.sqrt(hidden)
    shapes = {"weight_ih": (rows, width), "weight_hh": (rows, hidden)}
    if bias:
        shapes.update(bias_ih=(rows,), bias_hh=(rows,))
    for kind, shape in shapes.items():
        parameter = Parameter(np.empty(shape, dtype=dtype))
        init.uniform_(parameter, -bound, bound, generator=generator)
        setattr(module, kind + suffix, parameter)


def _weights(module: Module, suffix: str) -> list[Tensor]:
    """The op's weight inputs in order: W_ih, W_hh[, b_ih, b_hh]."""
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[:4 if module.bias else 2]
    return [getattr(module, kind + suffix) for kind in kinds]


def _initial_state(module: Module, state, shape: tuple, dtype, what: str) -> Tensor:
    """``state`` checked against ``shape``, or zeros of ``shape`` in the input's dtype."""
    if state is None:
        return Tensor(np.zeros(shape, dtype=dtype))
    if not isinstance(state, Tensor):
        state = Tensor(np.asarray(state, dtype=dtype))
    if state.shape != shape:
        raise ValueError(
            f"{type(module).__name__}: expected {what} of shape {shape}, got {state.shape}"
        )
    return state


def _check_input(module: Module, x, size: int, ndims: tuple, layout: str) -> None:
    """``x`` must be a floating-point tensor with ``ndims`` axes, the last of ``size``."""
    name = type(module).__name__
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in ndims or x.shape[-1] != size:
        raise ValueError(
            f"{name}: expected input of shape {layout} with input_size={size}, got {x.shape}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected floating-point input, got dtype {x.dtype}")


def _check_nonlinearity(owner: str, nonlinearity: str) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


class _RecurrentBase(Module):
    """The shared machinery: parameters per layer and direction, input and state checks,
    masks from lengths, the layer loop, dropout between layers."""

    _op: type = RNNSequence
    _gates = 1
    _n_states = 1  # h (and c for the LSTM)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=np.float32, generator=None):
        super().__init__()
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                f"{name}: input_size, hidden_size and num_layers must be >= 1, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        # An int seed becomes one generator now, so successive dropout masks differ; None keeps
        # drawing from whatever the global generator is at each call (cr.manual_seed).
        self.generator = None if generator is None else resolve(generator)
        gen = resolve(self.generator)
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            width = input_size if layer == 0 else directions * hidden_size
            for suffix in ("", "_reverse")[:directions]:
                _add_weights(self, f"_l{layer}{suffix}", width, hidden_size, self._gates, bias,
                             dtype, gen)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _mask(self, lengths, mask, steps: int, batch: int) -> np.ndarray | None:
        """A time-major (T, B) boolean mask from ``lengths`` (B,) or ``mask`` (B, T)."""
        name = type(self).__name__
        if lengths is not None and mask is not None:
            raise ValueError(f"{name}: pass lengths or mask, not both")
        if lengths is not None:
            lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
            if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
                raise ValueError(
                    f"{name}: lengths must be {batch} integers (one per sequence), got "
                    f"{lengths.dtype} array of shape {lengths.shape}"
                )
            if lengths.min() < 1 or lengths.max() > steps:
                raise ValueError(
                    f"{name}: lengths must lie in [1, {steps}] (the padded length), got "
                    f"{lengths.min()}..{lengths.max()}"
                )
            return np.arange(steps)[:, None] < lengths[None, :]
        if mask is None:
            return None
        mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if mask.shape != (batch, steps) or mask.dtype != np.bool_:
            raise ValueError(
                f"{name}: mask must be a boolean array of shape (batch, seq) = "
                f"{(batch, steps)}, got {mask.dtype} array of shape {mask.shape}"
            )
        return np.ascontiguousarray(mask.T)

    # ------------------------------------------------------------------ the layer loop
    def _run(self, x, hx, lengths, mask):
        """The output and the list of final states (h_n[, c_n]) in the caller's layout."""
        layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        _check_input(self, x, self.input_size, (2, 3), f"{layout} or (seq, input_size)")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{type(self).__name__}: the input sequence is empty")
        layers = self.num_layers * self._directions
        shape = (layers, batch, self.hidden_size) if batched else (layers, self.hidden_size)
        states = hx if self._n_states > 1 else (hx,)
        initial = [_initial_state(self, s, shape, x.dtype, ("h_0", "c_0")[i])
                   for i, s in enumerate(states)]
        if not batched:
            initial = [s.unsqueeze(1) for s in initial]
        keep = self._mask(lengths, mask, steps, batch)
        options = self._options()
        finals: list[list[Tensor]] = [[] for _ in initial]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:self._directions]):
                index = layer * self._directions + direction
                weights = _weights(self, f"_l{layer}{suffix}")
                packed = self._op.apply(layer_input, *(s[index] for s in initial), *weights,
                                        mask=keep, reverse=direction == 1, **options)
                outputs.append(packed[:steps])
                for kind, final in enumerate(finals):
                    final.append(packed[steps + kind])
            layer_input = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True, self.generator)
        finals = [stack(final, axis=0) for final in finals]
        if not batched:
            return layer_input.squeeze(1), [f.squeeze(1) for f in finals]
        return (layer_input.transpose(1, 0, 2) if self.batch_first else layer_input), finals

    def _options(self) -> dict:
        return {}

    def forward(self, input: Tensor, hx=None, lengths=None, mask=None):
        """``(output, h_n)``; the LSTM returns ``(output, (h_n, c_n))``."""
        output, (h_n,) = self._run(input, hx, lengths, mask)
        return output, h_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


_LAYER_ARGS = """
    Args:
        input_size: features per time step of the input.
        hidden_size: features of the hidden state H.
        num_layers: stacked layers; layer k > 0 reads layer k-1's output sequence.
        bias: learn the biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are (batch, seq, feature) rather than (seq, batch,
            feature); the states stay (layers · directions, batch, H), as in PyTorch.
        dropout: probability of dropping each output of every layer but the last (training).
        bidirectional: add a layer reading the sequence backward; outputs concatenate the
            forward and backward features (D = 2).
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the initial weights and the
            dropout masks (the global generator when None). Not part of the saved
            configuration.
"""

_FORWARD = """
    Forward:
        ``forward(input, hx=None, lengths=None, mask=None)``. ``hx`` (zeros of the input's
        dtype when None) is the initial state. For a right-padded batch of sequences of
        different lengths pass ``lengths`` (B,) ints, or ``mask`` (batch, seq) bools (True
        for real steps; a general mask freezes the state at every False step): padded steps
        then leave the state unchanged and output zeros, so the final state is each
        sequence's state at its true end, in both directions (PyTorch's packed sequences).
"""


_SINGLE_STATE = """
    Shape:
        - input: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched.
        - hx: (L·D, B, H) or (L·D, H) unbatched.
        - output: (T, B, D·H) (batch-first: (B, T, D·H)); h_n: (L·D, B, H).

    Returns:
        ``(output, h_n)``.
"""


class RNN(_RecurrentBase):
    __doc__ = """Elman RNN: ``h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, φ = tanh or relu.
    """ + _LAYER_ARGS + """        nonlinearity: 'tanh' (default) or 'relu'.
    """ + _FORWARD + _SINGLE_STATE + """
    Example:
        >>> import chainrule as cr, numpy as np
        >>> rnn = cr.nn.RNN(4, 8, num_layers=2, batch_first=True)
        >>> output, h_n = rnn(cr.tensor(np.zeros((3, 5, 4), dtype=np.float32)))
        >>> output.shape, h_n.shape
        ((3, 5, 8), (2, 3, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=np.float32,
                 generator=None):
        _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator)
        self.nonlinearity = nonlinearity

    def _options(self) -> dict:
        return {"nonlinearity": self.nonlinearity}



class LSTM(_RecurrentBase):
    __doc__ = """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's formulation::

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
        c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')

    ``weight_ih_l0`` stacks (W_ii, W_if, W_ig, W_io) as rows: shape (4H, I), gates i, f, g, o.
    """ + _LAYER_ARGS + _FORWARD + """
    Shape:
        - input: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched.
        - hx: a pair (h_0, c_0), each (L·D, B, H) or (L·D, H) unbatched.
        - output: (T, B, D·H) (batch-first: (B, T, D·H)); h_n, c_n: (L·D, B, H).

    Returns:
        ``(output, (h_n, c_n))``.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> lstm = cr.nn.LSTM(4, 8, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(cr.tensor(np.zeros((5, 3, 4), dtype=np.float32)),
        ...                          lengths=[5, 2, 4])
        >>> output.shape, h_n.shape
        ((5, 3, 16), (2, 3, 8))
    """

    _op, _gates, _n_states = LSTMSequence, 4, 2

    def forward(self, input: Tensor, hx=None, lengths=None, mask=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a pair (h_0, c_0)")
        output, (h_n, c_n) = self._run(input, (None, None) if hx is None else hx, lengths, mask)
        return output, (h_n, c_n)


class GRU(_RecurrentBase):
    __doc__ = """Gated recurrent unit (Cho et al., 2014), PyTorch's formulation::

        r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 - z) ⊙ n + z ⊙ h

    ``weight_ih_l0`` stacks (W_ir, W_iz, W_in) as rows: shape (3H, I), gates r, z, n. (Keras's
    default ``reset_after=True`` GRU is this formulation with gates z, r, n.)
    """ + _LAYER_ARGS + _FORWARD + _SINGLE_STATE + """
    Example:
        >>> import chainrule as cr, numpy as np
        >>> gru = cr.nn.GRU(4, 8)
        >>> output, h_n = gru(cr.tensor(np.zeros((5, 3, 4), dtype=np.float32)))
        >>> output.shape, h_n.shape
        ((5, 3, 8), (1, 3, 8))
    """

    _op, _gates = GRUSequence, 3



# ---------------------------------------------------------------------------- cells
class _CellBase(Module):
    """One time step of a recurrent layer, for loops the caller writes (decoders, custom
    recurrences). Runs the same fused op as the layer with a sequence of length 1."""

    _op: type = RNNSequence
    _gates = 1
    _n_states = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=np.float32,
                 generator=None):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"{type(self).__name__}: input_size and hidden_size must be >= 1, got "
                f"{input_size}, {hidden_size}"
            )
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        _add_weights(self, "", input_size, hidden_size, self._gates, bias, dtype,
                     resolve(generator))

    def _step(self, x, states, options) -> list[Tensor]:
        _check_input(self, x, self.input_size, (1, 2), "(batch, input_size) or (input_size,)")
        batched = x.ndim == 2
        shape = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = [_initial_state(self, s, shape, x.dtype, ("h", "c")[i])
                  for i, s in enumerate(states)]
        if not batched:
            x, states = x.unsqueeze(0), [s.unsqueeze(0) for s in states]
        packed = self._op.apply(x.unsqueeze(0), *states, *_weights(self, ""), **options)
        new = [packed[1 + kind] for kind in range(self._n_states)]
        return new if batched else [s.squeeze(0) for s in new]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


_CELL_ARGS = """
    Args:
        input_size: features of the input x.
        hidden_size: features of the state H.
        bias: learn ``bias_ih`` and ``bias_hh``.
        dtype: dtype of the parameters.
        generator: ``numpy.random.Generator`` or int seed for the initial weights.
"""


class RNNCell(_CellBase):
    __doc__ = """One Elman step ``h' = φ(W_ih x + b_ih + W_hh h + b_hh)``; parameters
    ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih``, ``bias_hh`` (H,).
    """ + _CELL_ARGS + """        nonlinearity: 'tanh' or 'relu'.

    Shape:
        input (B, I) or (I,); hx (B, H) or (H,), zeros when None; output h' like hx.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=np.float32, generator=None):
        _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx=None) -> Tensor:
        return self._step(input, [hx], {"nonlinearity": self.nonlinearity})[0]


class LSTMCell(_CellBase):
    __doc__ = """One LSTM step (the formulas of ``LSTM``); parameters ``weight_ih`` (4H, I),
    ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H,), gates i, f, g, o.
    """ + _CELL_ARGS + """
    Shape:
        input (B, I) or (I,); hx a pair (h, c), each (B, H) or (H,), zeros when None;
        returns the pair (h', c').

    Example:
        >>> import chainrule as cr, numpy as np
        >>> cell = cr.nn.LSTMCell(4, 8)
        >>> h, c = cell(cr.tensor(np.zeros((3, 4), dtype=np.float32)))
        >>> h, c = cell(cr.tensor(np.ones((3, 4), dtype=np.float32)), (h, c))
        >>> h.shape, c.shape
        ((3, 8), (3, 8))
    """

    _op, _gates, _n_states = LSTMSequence, 4, 2

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a pair (h, c)")
        h, c = self._step(input, [None, None] if hx is None else list(hx), {})
        return h, c


class GRUCell(_CellBase):
    __doc__ = """One GRU step (the formulas of ``GRU``); parameters ``weight_ih`` (3H, I),
    ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,), gates r, z, n.
    """ + _CELL_ARGS + """
    Shape:
        input (B, I) or (I,); hx (B, H) or (H,), zeros when None; output h' like hx.
    """

    _op, _gates = GRUSequence, 3

    def forward(self, input: Tensor, hx=None) -> Tensor:
        return self._step(input, [hx], {})[0]
