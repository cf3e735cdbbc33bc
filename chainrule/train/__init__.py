"""Training: ``fit``/``evaluate``/``predict``, callbacks, metrics, ``History``, progress display."""

from . import callbacks, metrics
from .fit import evaluate, fit, predict
from .history import History

__all__ = ["fit", "evaluate", "predict", "History", "callbacks", "metrics"]
