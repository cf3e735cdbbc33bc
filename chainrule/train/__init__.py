"""Training: ``fit``/``evaluate``/``predict``, callbacks, metrics, ``History``, progress display.

``fit`` (fit.py) is a loop over ``train_step`` and ``eval_step`` (steps.py) with a
``CallbackList`` around it (callbacks/); ``evaluate`` and ``predict`` (evaluate.py) run the
evaluation step alone. ``Tally`` (tally.py) sums an epoch's loss and metrics (metrics.py);
arguments.py turns what the functions accept into loaders, tensors, losses and optimizers.
"""

from . import callbacks, metrics
from .evaluate import evaluate, predict
from .fit import fit
from .history import History
from .steps import eval_mode

__all__ = ["fit", "evaluate", "predict", "eval_mode", "History", "callbacks", "metrics"]
