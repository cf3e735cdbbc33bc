"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, with PyTorch's API.

Each layer calls its function (``nn.functional.rnn``, ``lstm``, ``gru`` and the cells), which
runs one fused op per layer and direction (``chainrule.ops.recurrent``): the graph has one
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
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..random import resolve
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.recurrent import check_nonlinearity
from .module import Module, Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]


def _add_weights(module: Module, suffix: str, width: int, hidden: int, gates: int, bias: bool,
                 dtype: npt.DTypeLike, generator: np.random.Generator) -> None:
    """Register ``weight_ih{suffix}`` (G·H, width), ``weight_hh{suffix}`` (G·H, H) and the
    biases, all drawn from U(-1/√H, 1/√H), PyTorch's recurrent initialisation."""
    rows, bound = gates * hidden, 1 / math.sqrt(hidden)
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (rows, width), "weight_hh": (rows, hidden)}
    if bias:
        shapes.update(bias_ih=(rows,), bias_hh=(rows,))
    for kind, shape in shapes.items():
        parameter = Parameter(np.empty(shape, dtype=dtype))
        init.uniform_(parameter, -bound, bound, generator=generator)
        setattr(module, kind + suffix, parameter)


def _weights(module: _RecurrentBase | _CellBase, suffix: str) -> list[Tensor]:
    """One layer and direction's weights in the functions' order: W_ih, W_hh[, b_ih, b_hh]."""
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[:4 if module.bias else 2]
    return [getattr(module, kind + suffix) for kind in kinds]


class _RecurrentBase(Module):
    """The shared machinery: parameters per layer and direction, and the call of the layer's
    function with them."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
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

    def _sequence(self, function: Callable[..., tuple[Tensor, Any]], input: Tensor, hx: Any,
                  lengths: npt.ArrayLike | None, mask: npt.ArrayLike | None, **options: Any
                  ) -> tuple[Tensor, Any]:
        """``function`` (``F.rnn``, ``F.lstm`` or ``F.gru``) over this layer's weights, one
        group per layer and direction, and its settings."""
        suffixes = ("", "_reverse") if self.bidirectional else ("",)
        weights = [_weights(self, f"_l{layer}{suffix}") for layer in range(self.num_layers)
                   for suffix in suffixes]
        return function(input, hx, weights, bidirectional=self.bidirectional,
                        batch_first=self.batch_first, dropout=self.dropout,
                        training=self.training, lengths=lengths, mask=mask,
                        generator=self.generator, **options)

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
                 dropout: float = 0.0, bidirectional: bool = False,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None,
                lengths: npt.ArrayLike | None = None, mask: npt.ArrayLike | None = None
                ) -> tuple[Tensor, Tensor]:
        return self._sequence(F.rnn, input, hx, lengths, mask, nonlinearity=self.nonlinearity)


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

    _gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None,
                lengths: npt.ArrayLike | None = None, mask: npt.ArrayLike | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self._sequence(F.lstm, input, hx, lengths, mask)


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

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None,
                lengths: npt.ArrayLike | None = None, mask: npt.ArrayLike | None = None
                ) -> tuple[Tensor, Tensor]:
        return self._sequence(F.gru, input, hx, lengths, mask)


# ---------------------------------------------------------------------------- cells
class _CellBase(Module):
    """One time step of a recurrent layer, for loops the caller writes (decoders, custom
    recurrences). Runs the same fused op as the layer with a sequence of length 1."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"{type(self).__name__}: input_size and hidden_size must be >= 1, got "
                f"{input_size}, {hidden_size}"
            )
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        _add_weights(self, "", input_size, hidden_size, self._gates, bias, dtype,
                     resolve(generator))

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
                 nonlinearity: str = "tanh", dtype: npt.DTypeLike = np.float32,
                 generator: np.random.Generator | int | None = None):
        check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        # mypy: a starred list could reach nonlinearity; it holds 2 or 4 weights.
        return F.rnn_cell(input, hx, *_weights(self, ""),  # type: ignore[misc, arg-type]
                          nonlinearity=self.nonlinearity)


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

    _gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        return F.lstm_cell(input, hx, *_weights(self, ""))


class GRUCell(_CellBase):
    __doc__ = """One GRU step (the formulas of ``GRU``); parameters ``weight_ih`` (3H, I),
    ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,), gates r, z, n.
    """ + _CELL_ARGS + """
    Shape:
        input (B, I) or (I,); hx (B, H) or (H,), zeros when None; output h' like hx.
    """

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return F.gru_cell(input, hx, *_weights(self, ""))
