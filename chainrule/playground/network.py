"""The playground's network, targets and predictions for a ``Config``.

A ``Sequential`` of ``Linear`` layers with the chosen activation between them. With
``loss="mse"`` the outputs go through a sigmoid and the loss is the textbook
``J = 1/(2m) Σ (h − y)²`` (``MSELoss(half=True)``) against 0/1 targets: one output for two
classes, one-hot targets otherwise. With ``"cross_entropy"`` the outputs are logits, one per
class. ReLU layers start from He initialisation (``W ~ N(0, 2/fan_in)``), which keeps the
signal's size through a deep stack; sigmoid and tanh layers from PyTorch's default.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..tensor import Tensor
from .config import Config

__all__ = ["build_model", "build_loss", "outputs", "targets", "predictions"]


def outputs(config: Config, classes: int) -> int:
    """Units of the output layer: one for two classes under MSE, else one per class."""
    return 1 if config.loss == "mse" and classes == 2 else classes


def build_model(config: Config, features: int, classes: int) -> nn.Sequential:
    """The network ``features → *config.hidden → outputs``, weights drawn from ``config.seed``.

    **Shape**: input ``(N, features)``, output ``(N, outputs(config, classes))``.

    Example:
        >>> from chainrule.playground.config import Config
        >>> from chainrule.playground.network import build_model
        >>> build_model(Config(hidden=(3,)), 2, 2)
        Sequential(
          (0): Linear(in_features=2, out_features=3, bias=True)
          (1): Tanh()
          (2): Linear(in_features=3, out_features=1, bias=True)
          (3): Sigmoid()
        )
    """
    generator = np.random.default_rng(config.seed)
    sizes = [features, *config.hidden, outputs(config, classes)]
    layers: list[nn.Module] = []
    for depth, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        linear = nn.Linear(fan_in, fan_out, generator=generator)
        layers.append(linear)
        if depth < len(sizes) - 1:
            if config.activation == "relu":
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=generator)
            layers.append(nn.get_activation(config.activation))
    if config.loss == "mse":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def build_loss(config: Config) -> nn.Module:
    return nn.MSELoss(half=True) if config.loss == "mse" else nn.CrossEntropyLoss()


def targets(config: Config, labels: np.ndarray, classes: int) -> np.ndarray:
    """What the loss compares the output with: the labels for cross-entropy; for MSE, 0/1
    columns (float32): ``(N, 1)`` for two classes, one-hot ``(N, classes)`` otherwise."""
    if config.loss == "cross_entropy":
        return labels
    if classes == 2:
        return labels.astype(np.float32)[:, None]
    return np.eye(classes, dtype=np.float32)[labels]


def predictions(config: Config, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's class and a confidence in [0, 1] (0 on the decision boundary, 1 where the
    model is certain).

    **Shape**: output ``(N, units)`` → two ``(N,)`` arrays.
    """
    output = np.nan_to_num(np.asarray(output, dtype=np.float64))
    if output.shape[1] == 1:  # one sigmoid output: h is the probability of class 1
        h = output[:, 0]
        return (h > 0.5).astype(np.int64), np.clip(np.abs(2 * h - 1), 0, 1)
    if config.loss == "mse":
        best = output.argmax(axis=1)
        return best, np.clip(output[np.arange(len(output)), best], 0, 1)
    probability = Tensor(output).softmax(axis=1).data
    chance = 1 / output.shape[1]
    return probability.argmax(axis=1), (probability.max(axis=1) - chance) / (1 - chance)
