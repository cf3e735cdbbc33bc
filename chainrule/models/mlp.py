"""The multilayer perceptron: the textbook network of fully connected layers."""

from __future__ import annotations

import math

from .. import nn

__all__ = ["mlp"]


def mlp(input_shape: tuple, num_classes: int, layers: tuple[int, ...] = (128, 64),
        activation: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """``Flatten → [Linear → activation (→ Dropout)] × len(layers) → Linear`` (logits).

    Each hidden layer computes ``a[l] = g(W[l] a[l-1] + b[l])``; the last layer returns the
    logits ``z[L]``, to be used with a softmax cross-entropy loss.

    Shape:
        input: (N, *input_shape); output: (N, num_classes).

    Example:
        >>> from chainrule.models import mlp
        >>> mlp((1, 8, 8), 10, layers=(32,))[1]
        Linear(in_features=64, out_features=32, bias=True)
    """
    width = math.prod(input_shape)
    modules: list[nn.Module] = [nn.Flatten()]
    for size in layers:
        modules += [nn.Linear(width, size), nn.get_activation(activation)]
        if dropout:
            modules.append(nn.Dropout(dropout))
        width = size
    modules.append(nn.Linear(width, num_classes))
    return nn.Sequential(*modules)
