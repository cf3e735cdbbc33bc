"""What a page may ask for: the network, loss, optimizer and data of a session, within limits.

The limits keep one page from exhausting the machine: a playground network is small by design
(TensorFlow Playground's own limits: 6 hidden layers of at most 8 neurons), and so are its data
sets and batches. ``Config.from_json`` accepts only known keys, checks every value and names
the one that is wrong.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .datasets import NAMES

__all__ = ["Config", "LIMITS", "ConfigError"]

LIMITS = {
    "hidden_layers": 6,  # hidden layers at most
    "width": 8,  # neurons per hidden layer at most
    "batch_size": 256,
    "points": 1000,  # samples of a generated 2-D set at most
    "min_points": 20,
}

ACTIVATIONS = ("tanh", "sigmoid", "relu")
LOSSES = ("mse", "cross_entropy")
OPTIMIZERS = ("sgd", "adam")
# Settings that a running session takes over without new weights (the rest start afresh).
LIVE = ("lr", "batch_size", "weight_decay")


class ConfigError(ValueError):
    """A setting the page sent is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Config:
    """One session's settings. ``loss="mse"`` is the textbook ``J = 1/(2m) Σ (h − y)²`` on
    sigmoid outputs (one per class, or one for two classes); ``"cross_entropy"`` is softmax
    cross-entropy on logits. ``weight_decay`` is L2 regularisation: the optimizer adds ``λ w``
    to every gradient."""

    dataset: str = "circles"
    points: int = 400
    noise: float = 0.05
    hidden: tuple[int, ...] = (4, 4)
    activation: str = "tanh"
    loss: str = "mse"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 16
    weight_decay: float = 0.0
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict) -> Config:
        """A checked ``Config`` from the page's JSON; missing keys keep their defaults."""
        if not isinstance(data, dict):
            raise ConfigError("the configuration must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values = asdict(cls()) | data
        return cls(
            dataset=_choice("dataset", values["dataset"], NAMES),
            points=_integer("points", values["points"], LIMITS["min_points"], LIMITS["points"]),
            noise=_number("noise", values["noise"], 0.0, 0.5),
            hidden=_hidden(values["hidden"]),
            activation=_choice("activation", values["activation"], ACTIVATIONS),
            loss=_choice("loss", values["loss"], LOSSES),
            optimizer=_choice("optimizer", values["optimizer"], OPTIMIZERS),
            lr=_number("lr", values["lr"], 0.0, 10.0, low_inclusive=False),
            batch_size=_integer("batch_size", values["batch_size"], 1, LIMITS["batch_size"]),
            weight_decay=_number("weight_decay", values["weight_decay"], 0.0, 1.0),
            seed=_integer("seed", values["seed"], 0, 2**31 - 1),
        )

    def to_json(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden)}

    def same_network(self, other: Config) -> bool:
        """Whether ``other`` differs only in settings a running session takes over live."""
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self)
                   if f.name not in LIVE)


def _choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _number(name: str, value, low: float, high: float, low_inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not (low <= value if low_inclusive else low < value) or value > high:
        bracket = "[" if low_inclusive else "("
        raise ConfigError(f"{name} must be a number in {bracket}{low:g}, {high:g}], got {value!r}")
    return float(value)


def _hidden(value) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > LIMITS["hidden_layers"]:
        raise ConfigError(f"hidden must be a list of at most {LIMITS['hidden_layers']} layer "
                          f"widths, got {value!r}")
    return tuple(_integer("hidden layer width", width, 1, LIMITS["width"]) for width in value)
