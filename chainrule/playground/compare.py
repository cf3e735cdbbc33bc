"""Vanishing gradients, side by side: a deep sigmoid network against the same depth of ReLU.

Both networks (``DEPTH`` hidden layers of the widest allowed size) train on the session's data
with the session's loss, plain SGD with momentum and the same seed, each watched by
``cr.explain.GradientMonitor``. Backpropagation multiplies the gradient by ``σ'(z) ≤ 1/4`` at
every sigmoid layer, so the layers near the input receive orders of magnitude less of it; ReLU
(with He initialisation) passes it through where a unit is active.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..explain.monitor import GradientMonitor
from ..optim import SGD
from ..train import fit
from .config import LIMITS, Config
from .datasets import PlaneData
from .network import build_loss, build_model, targets

__all__ = ["gradient_flow", "DEPTH", "STEPS"]

DEPTH = LIMITS["hidden_layers"]
STEPS = 300  # optimizer steps per network (about a second for both on one core)


def gradient_flow(config: Config, data: PlaneData, steps: int = STEPS) -> dict:
    """Train a deep sigmoid and a deep ReLU network for about ``steps`` steps each and return,
    per network, the monitor's per-layer mean gradient norm per epoch and the final loss.

    Returns:
        ``{"depth", "epochs", "runs": {"sigmoid": {...}, "relu": {...}}}``; each run has
        ``layers`` (input side first), ``grad_norm`` (per layer, a list over epochs) and
        ``loss`` (the last epoch's training loss).

    Example:
        >>> from chainrule.playground.config import Config
        >>> from chainrule.playground.datasets import load
        >>> from chainrule.playground.compare import gradient_flow
        >>> flow = gradient_flow(Config(dataset="xor"), load("xor"), steps=20)
        >>> flow["depth"], sorted(flow["runs"]), len(flow["runs"]["relu"]["layers"])
        (6, ['relu', 'sigmoid'], 7)
    """
    batches = math.ceil(len(data.x_train) / config.batch_size)
    epochs = max(2, math.ceil(steps / batches))
    y = targets(config, data.y_train, data.classes)
    runs = {}
    for activation in ("sigmoid", "relu"):
        deep = replace(config, hidden=(LIMITS["width"],) * DEPTH, activation=activation)
        model = build_model(deep, data.features, data.classes)
        monitor = GradientMonitor(verbose=False)
        history = fit(model, (data.x_train, y), loss=build_loss(deep),
                      optimizer=SGD(model.parameters(), lr=0.05, momentum=0.9), epochs=epochs,
                      batch_size=config.batch_size, seed=config.seed, metrics=(),
                      progress=False, callbacks=[monitor])
        flow = monitor.to_dict()
        runs[activation] = {"layers": flow["layers"],
                            "grad_norm": [flow["grad_norm"][name] for name in flow["layers"]],
                            "loss": history.history["loss"][-1]}
    return {"depth": DEPTH, "epochs": epochs, "runs": runs}
