"""Functional forms of layers, activations and losses (``cr.nn.functional``, PyTorch's ``F``).

The math lives in ``chainrule.ops``; these functions check their arguments (this is the one
layer that does: errors name the function, or the layer that called it) and pick the op. One
file per family: ``linear``, ``activation``, ``loss``, ``dropout``; the shared checks are in
``_checks``.
"""

from __future__ import annotations

from ...ops.conv import conv2d
from ...ops.norm import batch_norm, layer_norm
from ...ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .dropout import dropout
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

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
    "log_softmax", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "huber_loss", "nll_loss", "binary_cross_entropy", "dropout",
    # re-exported from chainrule.ops, where they live, for PyTorch's ``F.conv2d`` habit
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm",
]
