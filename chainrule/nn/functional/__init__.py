"""Functional forms of layers, activations and losses (``cr.nn.functional``, PyTorch's ``F``).

The math lives in ``chainrule.ops``; these functions check their arguments (this is the one
layer that does: errors name the function, or the layer that called it) and pick the op. One
file per family: ``linear``, ``activation``, ``loss``, ``dropout``, ``conv``, ``pooling``,
``normalization``, ``recurrent``, ``attention``, ``sparse`` (embedding), ``channel_dropout``,
``transpose_conv``, ``group_norm`` (group and instance norm), ``padding`` (``pad``); the
shared checks are in ``_checks`` (errors) and ``windows`` (kernel, stride and padding).
"""

from __future__ import annotations

from ...tensor import one_hot  # PyTorch's F.one_hot is the same function as cr.one_hot
from .activation import (
    celu,
    elu,
    gelu,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .channel_dropout import dropout2d
from .conv import conv1d, conv2d, conv3d
from .dropout import dropout
from .group_norm import group_norm, instance_norm
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .normalization import batch_norm, layer_norm
from .padding import pad
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .recurrent import gru, gru_cell, lstm, lstm_cell, rnn, rnn_cell
from .sparse import embedding
from .transpose_conv import conv_transpose2d

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
    "log_softmax", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "huber_loss", "nll_loss", "binary_cross_entropy", "dropout",
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm",
    "dropout2d", "embedding", "rnn", "lstm", "gru", "rnn_cell", "lstm_cell", "gru_cell",
    "scaled_dot_product_attention", "multi_head_attention_forward",
    "group_norm", "instance_norm", "conv1d", "conv3d", "conv_transpose2d", "pad", "one_hot",
    "hardtanh", "relu6", "hardswish", "silu", "mish", "softsign", "celu", "selu",
]
