"""Recurrent networks as functions: ``rnn``, ``lstm``, ``gru`` over whole sequences (stacked
layers, both directions, padded batches) and one step of each (``rnn_cell``, ``lstm_cell``,
``gru_cell``). They check every argument, then run one fused op per layer and direction
(``chainrule.ops.recurrent``); the layers of ``chainrule.nn`` call them with their parameters.

Weights are given as PyTorch stores them: one group per layer and direction, in the order
layer 0, layer 0 reversed (when bidirectional), layer 1, …; each group ``(w_ih, w_hh)`` or
``(w_ih, w_hh, b_ih, b_hh)`` with ``w_ih`` (G·H, I) for layer 0 and (G·H, D·H) above, ``w_hh``
(G·H, H) and the biases (G·H,), G the gates (RNN 1, LSTM 4: i, f, g, o; GRU 3: r, z, n).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...autograd import Function
from ...backend import array_module
from ...ops.recurrent import GRUSequence, LSTMSequence, RNNSequence
from ...tensor import Tensor, concatenate, stack
from ._checks import ArgumentTypeError, ArgumentValueError, require_float, require_tensor
from .dropout import dropout as apply_dropout  # `dropout` is the rate argument here

__all__ = ["check_nonlinearity", "gru", "gru_cell", "lstm", "lstm_cell", "rnn", "rnn_cell"]


def check_nonlinearity(where: str, nonlinearity: str) -> None:
    """An Elman RNN's ``nonlinearity`` must be 'tanh' or 'relu'."""
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentValueError(where, f"nonlinearity must be 'tanh' or 'relu', got "
                                        f"{nonlinearity!r}")


def _check_weights(where: str, weights: Sequence[Sequence[Tensor]], gates: int, directions: int
                   ) -> list[tuple[Tensor, ...]]:
    """The weight groups as tuples, checked against one another (see the module docstring)."""
    groups = [tuple(group) for group in weights]
    if not groups or len(groups) % directions or len({len(g) for g in groups}) != 1 \
            or len(groups[0]) not in (2, 4):
        raise ArgumentValueError(
            where, f"weights must hold one group (w_ih, w_hh[, b_ih, b_hh]) per layer and "
                   f"direction ({directions} per layer), got groups of sizes "
                   f"{[len(g) for g in groups]}")
    hidden = groups[0][1].shape[-1]
    for index, group in enumerate(groups):
        width = groups[0][0].shape[-1] if index < directions else directions * hidden
        expected = [(gates * hidden, width), (gates * hidden, hidden)] + \
            [(gates * hidden,)] * (len(group) - 2)
        if [w.shape for w in group] != expected:
            raise ArgumentValueError(
                where, f"weights of layer {index // directions} (direction {index % directions})"
                       f" must have shapes {expected} for {gates} gate(s) of hidden size "
                       f"{hidden}, got {[w.shape for w in group]}")
    return groups


def _check_input(where: str, x: Tensor, size: int, ndims: tuple[int, ...], layout: str) -> None:
    """``x`` must be a floating-point tensor with ``ndims`` axes, the last of ``size``."""
    require_tensor(where, x)
    if x.ndim not in ndims or x.shape[-1] != size:
        raise ArgumentValueError(
            where, f"expected input of shape {layout} with input_size={size}, got {x.shape}")
    require_float(where, x)


def _initial_state(where: str, state: Tensor | npt.ArrayLike | None, shape: tuple[int, ...],
                   x: Tensor, what: str) -> Tensor:
    """``state`` checked against ``shape``, or zeros of ``shape`` in the input's dtype."""
    if state is None:
        return Tensor(array_module(x.data).zeros(shape, dtype=x.dtype))
    if not isinstance(state, Tensor):
        state = Tensor(np.asarray(state, dtype=x.dtype))
    if state.shape != shape:
        raise ArgumentValueError(where, f"expected {what} of shape {shape}, got {state.shape}")
    return state


def _time_mask(where: str, lengths: Any, mask: Any, steps: int, batch: int) -> np.ndarray | None:
    """A time-major (T, B) boolean mask from ``lengths`` (B,) or ``mask`` (B, T)."""
    if lengths is not None and mask is not None:
        raise ArgumentValueError(where, "pass lengths or mask, not both")
    if lengths is not None:
        lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
            raise ArgumentValueError(
                where, f"lengths must be {batch} integers (one per sequence), got "
                       f"{lengths.dtype} array of shape {lengths.shape}")
        if lengths.min() < 1 or lengths.max() > steps:
            raise ArgumentValueError(
                where, f"lengths must lie in [1, {steps}] (the padded length), got "
                       f"{lengths.min()}..{lengths.max()}")
        keep: np.ndarray = np.arange(steps)[:, None] < lengths[None, :]
        return keep
    if mask is None:
        return None
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.shape != (batch, steps) or mask.dtype != np.bool_:
        raise ArgumentValueError(
            where, f"mask must be a boolean array of shape (batch, seq) = {(batch, steps)}, "
                   f"got {mask.dtype} array of shape {mask.shape}")
    return np.ascontiguousarray(mask.T)


def _sequence(where: str, op: type[Function], gates: int, states: Sequence[Any], input: Tensor,
              weights: Sequence[Sequence[Tensor]], bidirectional: bool, batch_first: bool,
              dropout: float, training: bool, lengths: Any, mask: Any,
              generator: np.random.Generator | int | None, **options: Any
              ) -> tuple[Tensor, list[Tensor]]:
    """The output and the list of final states of a stacked, maybe bidirectional, recurrence,
    in the caller's layout."""
    directions = 2 if bidirectional else 1
    groups = _check_weights(where, weights, gates, directions)
    layout = "(batch, seq, input_size)" if batch_first else "(seq, batch, input_size)"
    _check_input(where, input, groups[0][0].shape[1], (2, 3), f"{layout} or (seq, input_size)")
    if not 0 <= dropout < 1:
        raise ArgumentValueError(where, f"dropout must be in [0, 1), got {dropout}")
    x, batched = input, input.ndim == 3
    if not batched:
        x = x.unsqueeze(1)
    elif batch_first:
        x = x.transpose(1, 0, 2)
    steps, batch = x.shape[0], x.shape[1]
    if steps == 0:
        raise ArgumentValueError(where, "the input sequence is empty")
    hidden, layers = groups[0][1].shape[1], len(groups) // directions
    shape = (len(groups), batch, hidden) if batched else (len(groups), hidden)
    initial = [_initial_state(where, s, shape, x, ("h_0", "c_0")[i]) for i, s in enumerate(states)]
    if not batched:
        initial = [s.unsqueeze(1) for s in initial]
    keep = _time_mask(where, lengths, mask, steps, batch)
    finals: list[list[Tensor]] = [[] for _ in initial]
    layer_input = x
    for layer in range(layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            packed = op.apply(layer_input, *(s[index] for s in initial), *groups[index],
                              mask=keep, reverse=direction == 1, **options)
            outputs.append(packed[:steps])
            for kind, final in enumerate(finals):
                final.append(packed[steps + kind])
        layer_input = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=2)
        if dropout and training and layer < layers - 1:
            layer_input = apply_dropout(layer_input, dropout, True, generator)
    stacked = [stack(final, axis=0) for final in finals]
    if not batched:
        return layer_input.squeeze(1), [f.squeeze(1) for f in stacked]
    return (layer_input.transpose(1, 0, 2) if batch_first else layer_input), stacked


def rnn(input: Tensor, hx: Tensor | None, weights: Sequence[Sequence[Tensor]],
        nonlinearity: str = "tanh", bidirectional: bool = False, batch_first: bool = False,
        dropout: float = 0.0, training: bool = True, lengths: Any = None, mask: Any = None,
        generator: np.random.Generator | int | None = None) -> tuple[Tensor, Tensor]:
    """Elman RNN over a sequence, ``h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with
    φ = tanh or relu (the math of ``nn.RNN``).

    Args:
        input: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched.
        hx: the initial state (L·D, B, H), or (L·D, H) unbatched; zeros when None.
        weights: one group per layer and direction (see the module docstring).
        nonlinearity: 'tanh' or 'relu'.
        bidirectional: the weights hold a reversed direction per layer; the output
            concatenates both directions' features (D = 2).
        batch_first: input and output are (batch, seq, feature); states stay (L·D, B, H).
        dropout: probability of dropping each output of every layer but the last, when
            ``training``.
        lengths: (B,) true lengths of a right-padded batch; or
        mask: (B, T) bools, True for real steps. A False step leaves the state unchanged and
            outputs zeros, so the final state is each sequence's state at its true end.
        generator: ``numpy.random.Generator`` or seed for the dropout masks.

    Shape:
        output (T, B, D·H) (batch-first (B, T, D·H)); h_n (L·D, B, H).

    Returns:
        ``(output, h_n)``.
    """
    check_nonlinearity("rnn", nonlinearity)
    output, (h_n,) = _sequence("rnn", RNNSequence, 1, (hx,), input, weights, bidirectional,
                               batch_first, dropout, training, lengths, mask, generator,
                               nonlinearity=nonlinearity)
    return output, h_n


def lstm(input: Tensor, hx: tuple[Tensor, Tensor] | None, weights: Sequence[Sequence[Tensor]],
         bidirectional: bool = False, batch_first: bool = False, dropout: float = 0.0,
         training: bool = True, lengths: Any = None, mask: Any = None,
         generator: np.random.Generator | int | None = None
         ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM over a sequence (the math of ``nn.LSTM``); ``hx`` is a pair (h_0, c_0) or None,
    the other arguments are those of ``rnn``.

    Shape:
        output (T, B, D·H) (batch-first (B, T, D·H)); h_n, c_n (L·D, B, H).

    Returns:
        ``(output, (h_n, c_n))``.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> weights = [cr.tensor(np.zeros(shape, np.float32)) for shape in [(8, 3), (8, 2)]]
        >>> output, (h_n, c_n) = cr.nn.functional.lstm(cr.tensor(np.ones((5, 4, 3))), None,
        ...                                            [weights])
        >>> output.shape, c_n.shape
        ((5, 4, 2), (1, 4, 2))
    """
    where = "lstm"
    if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        raise ArgumentTypeError(where, "hx must be a pair (h_0, c_0)")
    output, (h_n, c_n) = _sequence(where, LSTMSequence, 4, (None, None) if hx is None else hx,
                                   input, weights, bidirectional, batch_first, dropout,
                                   training, lengths, mask, generator)
    return output, (h_n, c_n)


def gru(input: Tensor, hx: Tensor | None, weights: Sequence[Sequence[Tensor]],
        bidirectional: bool = False, batch_first: bool = False, dropout: float = 0.0,
        training: bool = True, lengths: Any = None, mask: Any = None,
        generator: np.random.Generator | int | None = None) -> tuple[Tensor, Tensor]:
    """GRU over a sequence (the math of ``nn.GRU``); the arguments are those of ``rnn``.

    Returns:
        ``(output, h_n)``, shaped as ``rnn``'s.
    """
    output, (h_n,) = _sequence("gru", GRUSequence, 3, (hx,), input, weights, bidirectional,
                               batch_first, dropout, training, lengths, mask, generator)
    return output, h_n


def _step(where: str, op: type[Function], gates: int, states: Sequence[Any], input: Tensor,
          weights: Sequence[Any], **options: Any) -> list[Tensor]:
    """One step of a cell: the sequence op over a sequence of length 1."""
    (weights,) = _check_weights(where, [weights], gates, 1)
    _check_input(where, input, weights[0].shape[1], (1, 2),
                 "(batch, input_size) or (input_size,)")
    batched = input.ndim == 2
    hidden = weights[1].shape[1]
    shape = (input.shape[0], hidden) if batched else (hidden,)
    states = [_initial_state(where, s, shape, input, ("h", "c")[i]) for i, s in enumerate(states)]
    x = input
    if not batched:
        x, states = x.unsqueeze(0), [s.unsqueeze(0) for s in states]
    packed = op.apply(x.unsqueeze(0), *states, *weights, **options)
    new = [packed[1 + kind] for kind in range(len(states))]
    return new if batched else [s.squeeze(0) for s in new]


def rnn_cell(input: Tensor, hx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None, nonlinearity: str = "tanh"
             ) -> Tensor:
    """One Elman step ``h' = φ(W_ih x + b_ih + W_hh h + b_hh)`` (the math of ``nn.RNNCell``).

    Shape:
        input (B, I) or (I,); hx (B, H) or (H,), zeros when None; w_ih (H, I), w_hh (H, H),
        b_ih, b_hh (H,); output h' like hx.
    """
    check_nonlinearity("rnn_cell", nonlinearity)
    weights = (w_ih, w_hh) if b_ih is None else (w_ih, w_hh, b_ih, b_hh)
    return _step("rnn_cell", RNNSequence, 1, [hx], input, weights, nonlinearity=nonlinearity)[0]


def lstm_cell(input: Tensor, hx: tuple[Tensor, Tensor] | None, w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step (the math of ``nn.LSTMCell``); ``hx`` is a pair (h, c) or None.

    Shape:
        input (B, I) or (I,); h, c (B, H) or (H,); w_ih (4H, I), w_hh (4H, H), biases (4H,);
        returns the pair (h', c').
    """
    where = "lstm_cell"
    if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        raise ArgumentTypeError(where, "hx must be a pair (h, c)")
    weights = (w_ih, w_hh) if b_ih is None else (w_ih, w_hh, b_ih, b_hh)
    h, c = _step(where, LSTMSequence, 4, [None, None] if hx is None else list(hx), input,
                 weights)
    return h, c


def gru_cell(input: Tensor, hx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step (the math of ``nn.GRUCell``).

    Shape:
        input (B, I) or (I,); hx (B, H) or (H,), zeros when None; w_ih (3H, I), w_hh (3H, H),
        biases (3H,); output h' like hx.
    """
    weights = (w_ih, w_hh) if b_ih is None else (w_ih, w_hh, b_ih, b_hh)
    return _step("gru_cell", GRUSequence, 3, [hx], input, weights)[0]
