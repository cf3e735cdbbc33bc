"""The textbook formulas explain shows: each activation's g and g', each fused loss's J and dJ/dh.

Activations are found by the name of the module or op that computed them, so a ``Tanh`` module
and a ``.tanh()`` call inside a custom ``forward`` are explained alike. Each entry computes
``g'(z)`` from the values that flowed forward (``z`` and ``a = g(z)``), independently of the
backward rule, so the two can check each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..nn.functional.activation import SELU_ALPHA, SELU_SCALE

__all__ = ["Activation", "ACTIVATIONS", "LossFormula", "loss_formula"]


@dataclass(frozen=True)
class Activation:
    symbol: str  # how g is written: σ, tanh, ReLU, ...
    derivative_text: str  # g'(z) in terms of z and a
    derivative: Callable[[np.ndarray, np.ndarray, dict], np.ndarray]  # (z, a, settings) -> g'(z)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


def _mish_derivative(z):
    t = np.tanh(np.logaddexp(0, z))
    return t + z * _sigmoid(z) * (1 - t * t)


ACTIVATIONS: dict[str, Activation] = {
    "Sigmoid": Activation("σ", "σ'(z) = a ⊙ (1 − a)", lambda z, a, s: a * (1 - a)),
    "Tanh": Activation("tanh", "tanh'(z) = 1 − a²", lambda z, a, s: 1 - a * a),
    "ReLU": Activation("ReLU", "ReLU'(z) = [z > 0]", lambda z, a, s: (z > 0).astype(z.dtype)),
    "LeakyReLU": Activation(
        "LeakyReLU", "g'(z) = 1 if z > 0 else α",
        lambda z, a, s: np.where(z > 0, 1, s.get("negative_slope", 0.01)).astype(z.dtype),
    ),
    "ELU": Activation(
        "ELU", "g'(z) = 1 if z > 0 else a + α",
        lambda z, a, s: np.where(z > 0, 1, a + s.get("alpha", 1.0)).astype(z.dtype),
    ),
    "Softplus": Activation(
        "softplus", "g'(z) = σ(βz)", lambda z, a, s: _sigmoid(s.get("beta", 1.0) * z)
    ),
    "Identity": Activation("id", "g'(z) = 1", lambda z, a, s: np.ones_like(z)),
    # Bounds included, as clip's gradient (hardtanh and relu6 are clips).
    "Hardtanh": Activation(
        "hardtanh", "g'(z) = [min_val ≤ z ≤ max_val]",
        lambda z, a, s: ((z >= s.get("min_val", -1.0))
                         & (z <= s.get("max_val", 1.0))).astype(z.dtype),
    ),
    "ReLU6": Activation("ReLU6", "g'(z) = [0 ≤ z ≤ 6]",
                        lambda z, a, s: ((z >= 0) & (z <= 6)).astype(z.dtype)),
    "Hardswish": Activation(
        "hardswish", "g'(z) = 0 if z ≤ −3, (2z + 3)/6 if −3 < z < 3, 1 if z ≥ 3",
        lambda z, a, s: np.where((z > -3) & (z < 3), (2 * z + 3) / 6, z >= 3).astype(z.dtype),
    ),
    "SiLU": Activation("SiLU", "g'(z) = σ(z) (1 + z (1 − σ(z)))",
                       lambda z, a, s: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
    "Mish": Activation("mish", "g'(z) = t + z σ(z) (1 − t²), t = tanh(softplus(z))",
                       lambda z, a, s: _mish_derivative(z)),
    "Softsign": Activation("softsign", "g'(z) = 1/(1 + |z|)²",
                           lambda z, a, s: 1 / (1 + np.abs(z)) ** 2),
    "CELU": Activation(
        "CELU", "g'(z) = 1 if z > 0 else a/α + 1  (= e^(z/α))",
        lambda z, a, s: np.where(z > 0, 1, a / s.get("alpha", 1.0) + 1).astype(z.dtype),
    ),
    "SELU": Activation(
        "SELU", f"g'(z) = λ if z > 0 else a + λα  (λ = {SELU_SCALE:.4f}, α = {SELU_ALPHA:.4f})",
        lambda z, a, s: np.where(z > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA).astype(z.dtype),
    ),
}

# Where an op keeps an activation's setting, by op attribute -> the module's argument name.
OP_SETTINGS = {"slope": "negative_slope", "alpha": "alpha"}


@dataclass(frozen=True)
class LossFormula:
    name: str
    text: str  # J written out
    gradient_text: str  # dJ/dh written out
    gradient: Callable[[np.ndarray], np.ndarray] | None  # h -> dJ/dh, None where not derived here


def _softmax(h: np.ndarray) -> np.ndarray:
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_formula(op, target: np.ndarray, output_shape: tuple) -> LossFormula:
    """Describe the loss from the fused op that computed it (read before backward frees it).

    ``op`` is the ``Function`` at the root of the loss graph; the formulas assume its default
    weighting (no class weights, no smoothing); other settings are shown but not re-derived.
    """
    name = type(op).__name__ if op is not None else "loss"
    settings = vars(op) if op is not None else {}
    reduction = settings.get("reduction", "mean")
    rows = output_shape[0] if output_shape else 1
    size = int(np.prod(output_shape)) if output_shape else 1
    divide = f"1/{'m' if size == rows else 'n'}"
    if name == "MSE":
        scale = settings.get("scale", 1.0)
        if reduction != "mean":
            return LossFormula("MSE", f"J = {scale:g} Σ (h − y)²  ({reduction})", "", None)
        if scale == 0.5:
            text = f"J = 1/(2{divide[2:]}) Σ (h − y)²"
            gradient_text = f"∂J/∂h = (h − y)/{divide[2:]}"
        else:
            text = f"J = {'' if scale == 1 else f'{scale:g}·'}{divide} Σ (h − y)²"
            gradient_text = f"∂J/∂h = {2 * scale:g}(h − y)/{divide[2:]}"
        y = target.astype(np.float64)
        return LossFormula("mean squared error", text, gradient_text,
                           lambda h: 2 * scale * (h - y) / size)
    if (name == "CrossEntropy" and settings.get("weighted_target", 0) is None
            and reduction == "mean" and settings.get("valid") is None and len(output_shape) == 2):
        labels = target.astype(np.int64)

        def gradient(h):
            grad = _softmax(h)
            grad[np.arange(len(labels)), labels] -= 1
            return grad / len(labels)

        return LossFormula("softmax cross-entropy", "J = −1/m Σᵢ log softmax(hᵢ)[yᵢ]",
                           "∂J/∂h = (softmax(h) − onehot(y))/m", gradient)
    if name == "BCEWithLogits" and settings.get("weight") is None \
            and settings.get("log_weight") is None and reduction == "mean":
        y = target.astype(np.float64)
        return LossFormula("binary cross-entropy on logits",
                           f"J = −{divide} Σ [y log σ(h) + (1 − y) log(1 − σ(h))]",
                           f"∂J/∂h = (σ(h) − y)/{divide[2:]}", lambda h: (_sigmoid(h) - y) / size)
    return LossFormula(name, f"J = {name}(h, y)", "computed by the loss's backward rule", None)
