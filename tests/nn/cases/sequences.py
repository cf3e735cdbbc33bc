"""Layer cases: embedding, recurrent, attention and transformer layers (sequences are
``(length, batch, features)`` unless ``batch_first``)."""

import numpy as np

import chainrule as cr

from . import LayerCase, uniform

_SEQ = uniform((5, 2, 3))
_H = uniform((2, 4), seed=1)


def _recurrent(gates, input_size, hidden, layers=1, directions=1):
    """Weights and biases of a stacked recurrent layer: ``gates·hidden`` rows per matrix."""
    rows = gates * hidden
    first = rows * (input_size + hidden + 2)
    later = rows * (directions * hidden + hidden + 2)
    return directions * (first + (layers - 1) * later)


def _attention(embed, kdim=None, vdim=None):
    """Query, key and value projections with their biases, then the output projection."""
    return embed * (embed + (kdim or embed) + (vdim or embed)) + 3 * embed + embed * embed + embed


def _encoder_layer(d_model, feedforward):
    """Self-attention, the two feed-forward projections and two layer norms."""
    return (_attention(d_model) + (d_model * feedforward + feedforward)
            + (feedforward * d_model + d_model) + 2 * 2 * d_model)


def _encoder(nn, norm_first=False, activation="relu", batch_first=False):
    """A small encoder layer without dropout, built the same way in either library (`nn` is
    torch.nn or cr.nn)."""
    return nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation=activation,
                                      norm_first=norm_first, batch_first=batch_first)


CASES = [
    LayerCase("embedding", lambda: cr.nn.Embedding(5, 3), (), out_shapes=((2, 4, 3),),
              num_params=5 * 3, constants=(np.array([[0, 2, 4, 2], [1, 1, 3, 0]]),),
              torch_fn=lambda torch: torch.nn.Embedding(5, 3)),
    LayerCase("embedding_padding", lambda: cr.nn.Embedding(5, 3, padding_idx=2), (),
              out_shapes=((4, 3),), num_params=5 * 3,
              constants=(np.array([2, 4, 0, 2]),),
              torch_fn=lambda torch: torch.nn.Embedding(5, 3, padding_idx=2), gradcheck=False),
    LayerCase("rnn", lambda: cr.nn.RNN(3, 4), (_SEQ,), out_shapes=((5, 2, 4), (1, 2, 4)),
              num_params=_recurrent(1, 3, 4), torch_fn=lambda torch: torch.nn.RNN(3, 4)),
    LayerCase("rnn_relu_two_layers", lambda: cr.nn.RNN(3, 4, num_layers=2, nonlinearity="relu"),
              (_SEQ,), out_shapes=((5, 2, 4), (2, 2, 4)), num_params=_recurrent(1, 3, 4, 2),
              torch_fn=lambda torch: torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu")),
    LayerCase("lstm_bidirectional_two_layers",
              lambda: cr.nn.LSTM(3, 4, num_layers=2, bidirectional=True), (_SEQ,),
              out_shapes=((5, 2, 8), (4, 2, 4), (4, 2, 4)),
              num_params=_recurrent(4, 3, 4, layers=2, directions=2),
              torch_fn=lambda torch: torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
    LayerCase("gru_batch_first_no_bias", lambda: cr.nn.GRU(3, 4, batch_first=True, bias=False),
              (uniform((2, 5, 3)),), out_shapes=((2, 5, 4), (1, 2, 4)),
              num_params=_recurrent(3, 3, 4) - 2 * 3 * 4,
              torch_fn=lambda torch: torch.nn.GRU(3, 4, batch_first=True, bias=False)),
    LayerCase("rnn_cell", lambda: cr.nn.RNNCell(3, 4), (_SEQ[0], _H), out_shapes=((2, 4),),
              num_params=_recurrent(1, 3, 4), torch_fn=lambda torch: torch.nn.RNNCell(3, 4)),
    LayerCase("lstm_cell", lambda: cr.nn.LSTMCell(3, 4), (_SEQ[0], _H, uniform((2, 4), seed=2)),
              out_shapes=((2, 4), (2, 4)), num_params=_recurrent(4, 3, 4),
              call=lambda cell, x, h, c: cell(x, (h, c)),
              torch_fn=lambda torch: torch.nn.LSTMCell(3, 4)),
    LayerCase("gru_cell", lambda: cr.nn.GRUCell(3, 4), (_SEQ[0], _H), out_shapes=((2, 4),),
              num_params=_recurrent(3, 3, 4), torch_fn=lambda torch: torch.nn.GRUCell(3, 4)),
    LayerCase("multihead_attention", lambda: cr.nn.MultiheadAttention(4, 2),
              (uniform((3, 2, 4)), uniform((5, 2, 4), seed=1), uniform((5, 2, 4), seed=2)),
              out_shapes=((3, 2, 4), (2, 3, 5)), num_params=_attention(4),
              torch_fn=lambda torch: torch.nn.MultiheadAttention(4, 2)),
    LayerCase("multihead_attention_kdim_vdim_batch_first",
              lambda: cr.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True),
              (uniform((2, 3, 4)), uniform((2, 6, 3), seed=1), uniform((2, 6, 5), seed=2)),
              out_shapes=((2, 3, 4), (2, 2, 3, 6)), num_params=_attention(4, kdim=3, vdim=5),
              call=lambda mha, q, k, v: mha(q, k, v, average_attn_weights=False),
              torch_fn=lambda torch: torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5,
                                                                 batch_first=True)),
    LayerCase("positional_encoding", lambda: cr.nn.PositionalEncoding(4, max_len=10),
              (uniform((6, 2, 4)),), out_shapes=((6, 2, 4),), num_params=0),
    LayerCase("transformer_encoder_layer", lambda: _encoder(cr.nn), (uniform((3, 2, 4)),),
              out_shapes=((3, 2, 4),), num_params=_encoder_layer(4, 6),
              torch_fn=lambda torch: _encoder(torch.nn)),
    LayerCase("transformer_encoder_layer_norm_first_gelu",
              lambda: _encoder(cr.nn, norm_first=True, activation="gelu", batch_first=True),
              (uniform((2, 3, 4)),), out_shapes=((2, 3, 4),), num_params=_encoder_layer(4, 6),
              torch_fn=lambda torch: _encoder(torch.nn, norm_first=True, activation="gelu",
                                              batch_first=True),
              tolerance=(1e-6, 1e-6)),  # GELU's erf is an approximation (see the gelu case)
    LayerCase("transformer_encoder",
              lambda: cr.nn.TransformerEncoder(_encoder(cr.nn), 2, norm=cr.nn.LayerNorm(4)),
              (uniform((3, 2, 4)),), out_shapes=((3, 2, 4),),
              num_params=2 * _encoder_layer(4, 6) + 2 * 4,
              torch_fn=lambda torch: torch.nn.TransformerEncoder(
                  _encoder(torch.nn), 2, norm=torch.nn.LayerNorm(4), enable_nested_tensor=False)),
    LayerCase("transformer_encoder_norm_first_gelu_eval",
              lambda: cr.nn.TransformerEncoder(
                  _encoder(cr.nn, norm_first=True, activation="gelu", batch_first=True), 2),
              (uniform((2, 3, 4)),), out_shapes=((2, 3, 4),), num_params=2 * _encoder_layer(4, 6),
              train=False, tolerance=(1e-6, 1e-6),
              torch_fn=lambda torch: torch.nn.TransformerEncoder(
                  _encoder(torch.nn, norm_first=True, activation="gelu", batch_first=True), 2,
                  enable_nested_tensor=False)),
]
