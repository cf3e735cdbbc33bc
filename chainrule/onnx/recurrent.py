"""Converters of ``RNN``, ``LSTM`` and ``GRU`` to ONNX's own recurrent operators.

ONNX stacks each weight's gate blocks in another order than PyTorch (and chainrule):

=====  ==================  ===============
layer  chainrule's rows    ONNX's rows
=====  ==================  ===============
LSTM   i, f, g, o          i, o, f, c (= g)
GRU    r, z, n             z, r, h (= n)
=====  ==================  ===============

ONNX's GRU with ``linear_before_reset=1`` is PyTorch's formulation (the reset gate multiplies
``W_hn h + b_hn``). One operator runs one layer in both directions; a stack feeds each layer's
output sequence to the next. ``lengths`` becomes ``sequence_lens``: padded steps output zeros
and leave the state alone, as chainrule's masked steps do.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .graph import ExportError, Graph, Value, converter

__all__: list[str] = []

# Chainrule's gate blocks in ONNX's order, and the operator of each layer.
_GATES = {nn.RNN: (0,), nn.LSTM: (0, 3, 1, 2), nn.GRU: (1, 0, 2)}
_OPERATOR = {nn.RNN: "RNN", nn.LSTM: "LSTM", nn.GRU: "GRU"}


def _reorder(array: np.ndarray, order: tuple) -> np.ndarray:
    """The gate blocks (rows) of a weight or bias in ONNX's order."""
    blocks = np.split(array, len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _layer_weights(g: Graph, layer, index: int) -> tuple[str, str, str]:
    """W (D, G·H, I), R (D, G·H, H) and B (D, 2·G·H) of layer ``index``, ONNX's layout."""
    order = _GATES[type(layer)]
    suffixes = ("", "_reverse")[:2 if layer.bidirectional else 1]

    def stacked(kind: str) -> np.ndarray:
        return np.stack([_reorder(getattr(layer, f"{kind}_l{index}{s}").data, order)
                         for s in suffixes])

    bias = ""
    if layer.bias:
        bias = g.constant(np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1), "B")
    return g.constant(stacked("weight_ih"), "W"), g.constant(stacked("weight_hh"), "R"), bias


def _attributes(layer) -> dict:
    attributes = {"hidden_size": layer.hidden_size,
                  "direction": "bidirectional" if layer.bidirectional else "forward"}
    if isinstance(layer, nn.GRU):
        attributes["linear_before_reset"] = 1
    if type(layer) is nn.RNN:
        name = {"tanh": "Tanh", "relu": "Relu"}[layer.nonlinearity]
        attributes["activations"] = [name] * (2 if layer.bidirectional else 1)
    return attributes


@converter(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(g: Graph, layer, x: Value, hx=None, lengths: Value | None = None, mask=None):
    if mask is not None:
        raise ExportError(f"cr.onnx.export: {layer!r} with a general mask has no ONNX form; "
                          "pass lengths (right-padded sequences) instead")
    directions = 2 if layer.bidirectional else 1
    is_lstm = isinstance(layer, nn.LSTM)
    batched = x.example.ndim == 3
    sequence = x.name
    if not batched:
        sequence = g.op("Unsqueeze", sequence, g.ints([1]))
    elif layer.batch_first:
        sequence = g.op("Transpose", sequence, perm=[1, 0, 2])
    states = [] if hx is None else list(hx) if is_lstm else [hx]
    states = [s.name if batched else g.op("Unsqueeze", s.name, g.ints([1])) for s in states]
    sequence_lens = ("" if lengths is None
                     else g.op("Cast", lengths.name, to=g.tensor_type(np.int32)))
    finals: list[list[str]] = [[], []] if is_lstm else [[]]
    for index in range(layer.num_layers):
        rows = (index * directions, (index + 1) * directions)
        initial = [g.op("Slice", s, g.ints(rows[:1]), g.ints(rows[1:]), g.ints([0]))
                   for s in states] or ["", ""]
        outputs = g.op(_OPERATOR[type(layer)], sequence, *_layer_weights(g, layer, index),
                       sequence_lens, *initial[:len(finals)], outputs=1 + len(finals),
                       **_attributes(layer))
        # Y (T, D, B, H) → (T, B, D·H): the directions side by side, as chainrule concatenates.
        joined = g.op("Transpose", outputs[0], perm=[0, 2, 1, 3])
        sequence = g.op("Reshape", joined, g.ints([0, 0, directions * layer.hidden_size]))
        for final, name in zip(finals, outputs[1:]):
            final.append(name)
    finals_joined = [f[0] if len(f) == 1 else g.op("Concat", *f, axis=0) for f in finals]
    if not batched:
        sequence = g.op("Squeeze", sequence, g.ints([1]))
        finals_joined = [g.op("Squeeze", f, g.ints([1])) for f in finals_joined]
    elif layer.batch_first:
        sequence = g.op("Transpose", sequence, perm=[1, 0, 2])
    return sequence, tuple(finals_joined) if is_lstm else finals_joined[0]
